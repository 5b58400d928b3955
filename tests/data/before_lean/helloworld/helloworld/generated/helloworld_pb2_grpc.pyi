"""Types for the stubs and servicers grpc's plugin writes, untyped, from helloworld.proto.

scaffold writes this file on every `scaffold gen`: do not edit it.
"""

from typing import Any

import grpc

from helloworld.generated import helloworld_pb2

GRPC_GENERATED_VERSION: str
GRPC_VERSION: str

class GreeterStub:
    """Greets people by name."""

    def __init__(self, channel: grpc.Channel) -> None: ...
    SayHello: grpc.UnaryUnaryMultiCallable[helloworld_pb2.HelloRequest, helloworld_pb2.HelloReply]
    SayHelloAgain: grpc.UnaryUnaryMultiCallable[helloworld_pb2.HelloRequest, helloworld_pb2.HelloReply]

class GreeterServicer:
    """Greets people by name."""
    def SayHello(self, request: helloworld_pb2.HelloRequest, context: grpc.ServicerContext) -> helloworld_pb2.HelloReply: ...
    def SayHelloAgain(self, request: helloworld_pb2.HelloRequest, context: grpc.ServicerContext) -> helloworld_pb2.HelloReply: ...

def add_GreeterServicer_to_server(servicer: GreeterServicer, server: grpc.Server) -> None: ...

class Greeter:
    """grpc's experimental one-call API; its options are passed through untyped."""
    @staticmethod
    def SayHello(request: helloworld_pb2.HelloRequest, target: str, **options: Any) -> helloworld_pb2.HelloReply: ...
    @staticmethod
    def SayHelloAgain(request: helloworld_pb2.HelloRequest, target: str, **options: Any) -> helloworld_pb2.HelloReply: ...
