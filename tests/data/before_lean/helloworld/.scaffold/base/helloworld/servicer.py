"""Implementations of helloworld.Greeter.

This module is yours: scaffold wrote it once and from now on only adds a stub
for each RPC added to the protos, never changing what you wrote. A stub ends
its call with UNIMPLEMENTED until you give it a body.
"""

from __future__ import annotations

import grpc

from helloworld.generated import helloworld_pb2, helloworld_pb2_grpc


class GreeterServicer(helloworld_pb2_grpc.GreeterServicer):
    """Greets people by name."""

    def SayHello(
        self,
        request: helloworld_pb2.HelloRequest,
        context: grpc.ServicerContext,
    ) -> helloworld_pb2.HelloReply:
        """Answers with a greeting for the name in the request."""
        # TODO: return a helloworld_pb2.HelloReply.
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "SayHello is not implemented yet")

    def SayHelloAgain(
        self,
        request: helloworld_pb2.HelloRequest,
        context: grpc.ServicerContext,
    ) -> helloworld_pb2.HelloReply:
        """Answers with a second, warmer greeting for the same name."""
        # TODO: return a helloworld_pb2.HelloReply.
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "SayHelloAgain is not implemented yet"
        )

    # scaffold adds the stubs of new Greeter RPCs above this line.
