"""Implementations of routeguide.RouteGuide: yours (scaffold adds only new RPCs' stubs)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc


class RouteGuideServicer(route_guide_pb2_grpc.RouteGuideServicer):
    """Answers questions about places on a map and collects routes."""

    async def GetFeature(
        self,
        request: route_guide_pb2.Point,
        context: grpc.aio.ServicerContext[
            route_guide_pb2.Point, route_guide_pb2.Feature
        ],
    ) -> route_guide_pb2.Feature:
        """Looks up the feature at a point. A point with nothing there still gets a
        feature back, with an empty name.
        """
        # TODO: return a route_guide_pb2.Feature.
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "GetFeature is not implemented yet"
        )

    async def ListFeatures(
        self,
        request: route_guide_pb2.Rectangle,
        context: grpc.aio.ServicerContext[
            route_guide_pb2.Rectangle, route_guide_pb2.Feature
        ],
    ) -> AsyncIterator[route_guide_pb2.Feature]:
        """Streams every feature inside a rectangle, one message per feature, so a
        large area never has to fit into a single response.
        """
        # TODO: yield each route_guide_pb2.Feature of the response stream.
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "ListFeatures is not implemented yet"
        )
        yield route_guide_pb2.Feature()  # never reached; the yield makes this an async generator

    async def RecordRoute(
        self,
        request_iterator: AsyncIterator[route_guide_pb2.Point],
        context: grpc.aio.ServicerContext[
            route_guide_pb2.Point, route_guide_pb2.RouteSummary
        ],
    ) -> route_guide_pb2.RouteSummary:
        """Takes the points of a route as the client travels it and, once the
        client closes the stream, answers with a summary of the trip.
        """
        # TODO: return a route_guide_pb2.RouteSummary.
        # Take the first request before answering: a status sent while the client is
        # still writing can reach it as INTERNAL instead (a race in grpc.aio).
        await anext(aiter(request_iterator), None)
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "RecordRoute is not implemented yet"
        )

    async def RouteChat(
        self,
        request_iterator: AsyncIterator[route_guide_pb2.RouteNote],
        context: grpc.aio.ServicerContext[
            route_guide_pb2.RouteNote, route_guide_pb2.RouteNote
        ],
    ) -> AsyncIterator[route_guide_pb2.RouteNote]:
        """Exchanges notes while a route is travelled: every note sent is answered
        with the notes sent earlier at the same location.
        """
        # TODO: yield each route_guide_pb2.RouteNote of the response stream.
        # Take the first request before answering: a status sent while the client is
        # still writing can reach it as INTERNAL instead (a race in grpc.aio).
        await anext(aiter(request_iterator), None)
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "RouteChat is not implemented yet"
        )
        yield route_guide_pb2.RouteNote()  # never reached; the yield makes this an async generator

    # scaffold adds the stubs of new RouteGuide RPCs above this line.
