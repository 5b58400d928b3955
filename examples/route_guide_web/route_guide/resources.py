"""The feature database: the JSON file format gRPC's route_guide examples use."""

from __future__ import annotations

import json
from pathlib import Path

from google.protobuf import json_format

from route_guide.generated import route_guide_pb2

DEFAULT_DATABASE = Path(__file__).with_name("route_guide_db.json")


def read_route_guide_database(
    path: Path = DEFAULT_DATABASE,
) -> list[route_guide_pb2.Feature]:
    """Every feature in the file, in file order.

    Each entry is a Feature in protobuf's JSON mapping:
    `{"location": {"latitude": ..., "longitude": ...}, "name": ...}`.
    """
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [
        json_format.ParseDict(entry, route_guide_pb2.Feature()) for entry in entries
    ]
