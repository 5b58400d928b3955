"""The standard features of protobuf editions as the breaking rules read them: defaults and places.

proto2 and proto3 files behave as editions files with fixed feature values
(`DEFAULTS`); a feature set on an element is found in its options at
`FEATURES_PATH`, field `FEATURE_NUMBER`, so that a break caused by a feature
is placed at the feature, as buf places it.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from scaffold.breaking import wire

_FEATURES = descriptor_pb2.FeatureSet

# The defaults of the standard features, by syntax: proto2 and proto3 behave as editions with these values.
DEFAULTS: dict[str, dict[str, int]] = {
    "proto2": {
        "field_presence": _FEATURES.EXPLICIT,
        "enum_type": _FEATURES.CLOSED,
        "utf8_validation": _FEATURES.NONE,
        "message_encoding": _FEATURES.LENGTH_PREFIXED,
        "json_format": _FEATURES.LEGACY_BEST_EFFORT,
    },
    "proto3": {
        "field_presence": _FEATURES.IMPLICIT,
        "enum_type": _FEATURES.OPEN,
        "utf8_validation": _FEATURES.VERIFY,
        "message_encoding": _FEATURES.LENGTH_PREFIXED,
        "json_format": _FEATURES.ALLOW,
    },
    "editions": {
        "field_presence": _FEATURES.EXPLICIT,
        "enum_type": _FEATURES.OPEN,
        "utf8_validation": _FEATURES.VERIFY,
        "message_encoding": _FEATURES.LENGTH_PREFIXED,
        "json_format": _FEATURES.ALLOW,
    },
}
# Where each element kind keeps `features` in its options (the options field, then `features`).
FEATURES_PATH = {"file": (8, 50), "message": (7, 12), "field": (8, 21), "oneof": (2, 1), "enum": (3, 7)}
FEATURE_NUMBER = {"field_presence": 1, "enum_type": 2, "utf8_validation": 4, "message_encoding": 5, "json_format": 6}

CPP = 1000
"""`(pb.cpp)`: the C++ features' extension of FeatureSet; its `string_type` is field 2."""
JAVA = 1001
"""`(pb.java)`: the Java features' extension of FeatureSet; its `utf8_validation` is field 2."""
CPP_STRING_TYPES = {1: "VIEW", 2: "CORD", 3: "STRING"}
JAVA_VERIFY = 2


def language_feature(features: _FEATURES, extension: int, number: int) -> int | None:
    """The value of field `number` of the language features `extension` set in `features`, or None.

    protobuf's Python runtime ships no `cpp_features_pb2`/`java_features_pb2`, so the extension stays an
    unknown field of the parsed FeatureSet; it is read from the wire form, as protoc wrote it."""
    found = None
    for field, value in wire.fields(features.SerializeToString()):
        if field == extension and isinstance(value, bytes):
            for inner, setting in wire.fields(value):
                if inner == number and isinstance(setting, int):
                    found = setting
    return found
