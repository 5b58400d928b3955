"""Implementations of routeguide.RouteGuide: yours (scaffold adds only new RPCs' stubs)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc


class RouteGuideServicer(route_guide_pb2_grpc.RouteGuideServicer):
    """Answers questions about places on a map and collects routes."""

    def GetFeature(
        self,
        request: route_guide_pb2.Point,
        context: grpc.ServicerContext,
    ) -> route_guide_pb2.Feature:
        """Looks up the feature at a point. A point with nothing there still gets a
        feature back, with an empty name.
        """
        # TODO: return a route_guide_pb2.Feature.
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "GetFeature is not implemented yet"
        )

    def ListFeatures(
        self,
        request: route_guide_pb2.Rectangle,
        context: grpc.ServicerContext,
    ) -> Iterator[route_guide_pb2.Feature]:
        """Streams every feature inside a rectangle, one message per feature, so a
        large area never has to fit into a single response.
        """
        # TODO: yield each route_guide_pb2.Feature of the response stream.
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "ListFeatures is not implemented yet"
        )

    def RecordRoute(
        self,
        request_iterator: Iterator[route_guide_pb2.Point],
        context: grpc.ServicerContext,
    ) -> route_guide_pb2.RouteSummary:
        """Takes the points of a route as the client travels it and, once the
        client closes the stream, answers with a summary of the trip.
        """
        # TODO: return a route_guide_pb2.RouteSummary.
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "RecordRoute is not implemented yet"
        )

    def RouteChat(
        self,
        request_iterator: Iterator[route_guide_pb2.RouteNote],
        context: grpc.ServicerContext,
    ) -> Iterator[route_guide_pb2.RouteNote]:
        """Exchanges notes while a route is travelled: every note sent is answered
        with the notes sent earlier at the same location.
        """
        # TODO: yield each route_guide_pb2.RouteNote of the response stream.
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "RouteChat is not implemented yet")

    # scaffold adds the stubs of new RouteGuide RPCs above this line.
