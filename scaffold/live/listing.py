"""`scaffold inspect`: what the protos define, as a table for people or JSON for tools.

Runs protoc and builds the same model a generation uses, so what it lists is
exactly what `scaffold new` would scaffold; it writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scaffold.generation import protoc
from scaffold.generation.describe import describe

COLUMNS = ("service", "rpc", "shape", "request", "response", "deprecated", "summary")


def rows(protos: Sequence[Path], include_dirs: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """One row per RPC, in proto order."""
    proto_files, include_dirs = protoc.expand_directories(protos, include_dirs)
    inputs = protoc.resolve_inputs(proto_files, include_dirs)
    project = describe(protoc.run(inputs, include_dirs), "inspected", "generated")
    return [
        {
            "service": service.full_name,
            "rpc": rpc.name,
            "shape": rpc.kind.replace("_", "-"),
            "request": rpc.request.full_name,
            "response": rpc.response.full_name,
            "deprecated": rpc.deprecated or service.deprecated,
            "summary": rpc.summary,
            "route": rpc.route,
        }
        for service in project.services
        for rpc in service.rpcs
    ]


def as_json(table: list[dict[str, Any]]) -> str:
    return json.dumps(table, indent=2)


def as_text(table: list[dict[str, Any]]) -> str:
    """Aligned columns; the summary last, so a long one never pushes the others."""
    cells = [[str(row[c]) if c != "deprecated" else ("yes" if row[c] else "") for c in COLUMNS] for row in table]
    widths = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(COLUMNS)]
    lines = [[c.upper() for c in COLUMNS], *cells]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )
