"""Implementations of helloworld.Greeter: yours (scaffold adds only new RPCs' stubs)."""

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
        return helloworld_pb2.HelloReply(message=f"Hello, {request.name}!")

    def SayHelloAgain(
        self,
        request: helloworld_pb2.HelloRequest,
        context: grpc.ServicerContext,
    ) -> helloworld_pb2.HelloReply:
        """Answers with a second, warmer greeting for the same name."""
        return helloworld_pb2.HelloReply(message=f"Hello again, {request.name}!")

    # scaffold adds the stubs of new Greeter RPCs above this line.
