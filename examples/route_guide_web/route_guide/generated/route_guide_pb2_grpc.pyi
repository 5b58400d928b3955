"""Types for the stubs and servicers grpc's plugin writes, untyped, from route_guide.proto.

scaffold writes this file on every `scaffold gen`: do not edit it.
"""

from collections.abc import Iterator
from typing import Any

import grpc

from route_guide.generated import route_guide_pb2

GRPC_GENERATED_VERSION: str
GRPC_VERSION: str

class RouteGuideStub:
    """Answers questions about places on a map and collects routes."""

    def __init__(self, channel: grpc.Channel) -> None: ...
    GetFeature: grpc.UnaryUnaryMultiCallable[route_guide_pb2.Point, route_guide_pb2.Feature]
    ListFeatures: grpc.UnaryStreamMultiCallable[route_guide_pb2.Rectangle, route_guide_pb2.Feature]
    RecordRoute: grpc.StreamUnaryMultiCallable[route_guide_pb2.Point, route_guide_pb2.RouteSummary]
    RouteChat: grpc.StreamStreamMultiCallable[route_guide_pb2.RouteNote, route_guide_pb2.RouteNote]

class RouteGuideServicer:
    """Answers questions about places on a map and collects routes."""
    def GetFeature(self, request: route_guide_pb2.Point, context: grpc.ServicerContext) -> route_guide_pb2.Feature: ...
    def ListFeatures(self, request: route_guide_pb2.Rectangle, context: grpc.ServicerContext) -> Iterator[route_guide_pb2.Feature]: ...
    def RecordRoute(self, request_iterator: Iterator[route_guide_pb2.Point], context: grpc.ServicerContext) -> route_guide_pb2.RouteSummary: ...
    def RouteChat(self, request_iterator: Iterator[route_guide_pb2.RouteNote], context: grpc.ServicerContext) -> Iterator[route_guide_pb2.RouteNote]: ...

def add_RouteGuideServicer_to_server(servicer: RouteGuideServicer, server: grpc.Server) -> None: ...

class RouteGuide:
    """grpc's experimental one-call API; its options are passed through untyped."""
    @staticmethod
    def GetFeature(request: route_guide_pb2.Point, target: str, **options: Any) -> route_guide_pb2.Feature: ...
    @staticmethod
    def ListFeatures(request: route_guide_pb2.Rectangle, target: str, **options: Any) -> Iterator[route_guide_pb2.Feature]: ...
    @staticmethod
    def RecordRoute(request_iterator: Iterator[route_guide_pb2.Point], target: str, **options: Any) -> route_guide_pb2.RouteSummary: ...
    @staticmethod
    def RouteChat(request_iterator: Iterator[route_guide_pb2.RouteNote], target: str, **options: Any) -> Iterator[route_guide_pb2.RouteNote]: ...
