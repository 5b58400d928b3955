"""Implementations of routeguide.RouteGuide: yours (scaffold adds only new RPCs' stubs)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence

import grpc

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.resources import read_route_guide_database

EARTH_RADIUS_METRES = 6_371_000
E7 = 1e7  # coordinates are degrees multiplied by 10**7


def feature_at(
    features: Sequence[route_guide_pb2.Feature], point: route_guide_pb2.Point
) -> route_guide_pb2.Feature | None:
    return next((f for f in features if f.location == point), None)


def distance_metres(start: route_guide_pb2.Point, end: route_guide_pb2.Point) -> float:
    """Great-circle distance by the haversine formula."""
    lat1, lat2 = math.radians(start.latitude / E7), math.radians(end.latitude / E7)
    d_lat = lat2 - lat1
    d_lon = math.radians((end.longitude - start.longitude) / E7)
    a = (
        math.sin(d_lat / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin(d_lon / 2) ** 2
    )
    return EARTH_RADIUS_METRES * 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def inside(rectangle: route_guide_pb2.Rectangle, point: route_guide_pb2.Point) -> bool:
    lo, hi = rectangle.lo, rectangle.hi
    return min(lo.longitude, hi.longitude) <= point.longitude <= max(
        lo.longitude, hi.longitude
    ) and min(lo.latitude, hi.latitude) <= point.latitude <= max(
        lo.latitude, hi.latitude
    )


class RouteGuideServicer(route_guide_pb2_grpc.RouteGuideServicer):
    """Answers questions about places on a map and collects routes."""

    def __init__(
        self, features: Sequence[route_guide_pb2.Feature] | None = None
    ) -> None:
        self.features = (
            list(features) if features is not None else read_route_guide_database()
        )

    def GetFeature(
        self,
        request: route_guide_pb2.Point,
        context: grpc.ServicerContext,
    ) -> route_guide_pb2.Feature:
        """Looks up the feature at a point. A point with nothing there still gets a
        feature back, with an empty name.
        """
        found = feature_at(self.features, request)
        if found is None:
            return route_guide_pb2.Feature(name="", location=request)
        return found

    def ListFeatures(
        self,
        request: route_guide_pb2.Rectangle,
        context: grpc.ServicerContext,
    ) -> Iterator[route_guide_pb2.Feature]:
        """Streams every feature inside a rectangle, one message per feature, so a
        large area never has to fit into a single response.
        """
        for feature in self.features:
            if inside(request, feature.location):
                yield feature

    def RecordRoute(
        self,
        request_iterator: Iterator[route_guide_pb2.Point],
        context: grpc.ServicerContext,
    ) -> route_guide_pb2.RouteSummary:
        """Takes the points of a route as the client travels it and, once the
        client closes the stream, answers with a summary of the trip.
        """
        point_count = feature_count = 0
        distance = 0.0
        previous = None
        started = time.monotonic()
        for point in request_iterator:
            point_count += 1
            if feature_at(self.features, point) is not None:
                feature_count += 1
            if previous is not None:
                distance += distance_metres(previous, point)
            previous = point
        return route_guide_pb2.RouteSummary(
            point_count=point_count,
            feature_count=feature_count,
            distance=int(distance),
            elapsed_time=int(time.monotonic() - started),
        )

    def RouteChat(
        self,
        request_iterator: Iterator[route_guide_pb2.RouteNote],
        context: grpc.ServicerContext,
    ) -> Iterator[route_guide_pb2.RouteNote]:
        """Exchanges notes while a route is travelled: every note sent is answered
        with the notes sent earlier at the same location.
        """
        earlier: list[route_guide_pb2.RouteNote] = []
        for note in request_iterator:
            for previous in earlier:
                if previous.location == note.location:
                    yield previous
            earlier.append(note)

    # scaffold adds the stubs of new RouteGuide RPCs above this line.
