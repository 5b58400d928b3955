"""A message's wire form read by hand: for the extensions protobuf's Python runtime has no classes for.

buf marks an image's imported files with an extension of FileDescriptorProto,
and editions' C++ and Java features are extensions of FeatureSet; parsed by a
runtime that does not know them, they stay unknown fields, read from here.
"""

from __future__ import annotations


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """The (field number, varint or bytes) pairs of a message's wire form; fixed-width values skipped."""
    fields: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            fields.append((number, value))
        elif wire == 2:
            size, at = _varint(data, at)
            fields.append((number, data[at : at + size]))
            at += size
        elif wire in (1, 5):
            at += 8 if wire == 1 else 4
        else:
            break  # a group: none of the messages read here holds one
    return fields


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data):
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value, at
