"""A replay seam: protoc's result saved to a file, and a generation run from it without protoc.

A template or model bug reported by a user depends on their protos; with
`SCAFFOLD_DUMP=DIR` set, every run saves protoc's result there
(`DIR/protoc-result.marshal`: the descriptor set with source info, protoc's
outputs as placed in the project's generated package, the inputs' names and
warnings), and with `SCAFFOLD_REPLAY=FILE`
a run takes its result from that file instead of running protoc, so the bug
can be reproduced (and tested) from the one file, as betterproto2's
`BETTERPROTO_DUMP` does for its plugin.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError

from scaffold.core import paths
from scaffold.core.errors import Diagnostic, fail
from scaffold.generation.protocresult import ProtocResult, ProtoInput

DUMP = "SCAFFOLD_DUMP"
REPLAY = "SCAFFOLD_REPLAY"
FILE_NAME = "protoc-result.marshal"
_FORMAT = 3


def dump(result: ProtocResult) -> None:
    """Save `result` where SCAFFOLD_DUMP says, if it says anywhere."""
    directory = os.environ.get(DUMP)
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    data = (
        _FORMAT,
        [(item.path.as_posix(), item.name) for item in result.inputs],
        list(result.generated_names),
        dict(result.outputs),
        result.descriptors.SerializeToString(),
        [(d.path, d.message, d.line, d.col, d.severity) for d in result.warnings],
        list(result.compiled),
        result.placed_in,
        sorted(result.provided),
    )
    (Path(directory) / FILE_NAME).write_bytes(marshal.dumps(data))


def replayed(placed_in: str) -> ProtocResult | None:
    """The result saved in the file SCAFFOLD_REPLAY names; None when it names none. Its outputs are placed in
    a package directory (see `scaffold.generation.relocate.place`), which must be `placed_in`, this project's."""
    path = os.environ.get(REPLAY)
    if not path:
        return None
    source = f"{REPLAY}={path}"
    try:
        data = marshal.loads(Path(path).read_bytes())
        if not isinstance(data, tuple) or not data or data[0] != _FORMAT:
            raise ValueError(f"not a dump of format {_FORMAT}")
        _, inputs, names, outputs, descriptors, warnings, compiled, dumped_in, provided = data
        result = ProtocResult(
            inputs=tuple(ProtoInput(Path(p), name) for p, name in inputs),
            generated_names=tuple(names),
            outputs=dict(outputs),
            descriptor_set=descriptor_pb2.FileDescriptorSet.FromString(descriptors),
            warnings=tuple(Diagnostic(*w) for w in warnings),
            compiled=tuple(compiled),
            placed_in=placed_in,
            provided=frozenset(provided),
        )
    except (OSError, ValueError, EOFError, TypeError, DecodeError) as error:
        raise fail(source, f"cannot be replayed: {error}") from None
    if dumped_in != placed_in:
        raise fail(source, f"was saved for the package directory {dumped_in}, not this project's {placed_in}")
    _check_paths(source, result)
    return result


def _check_paths(source: str, result: ProtocResult) -> None:
    """Every path the file names, checked as every path from outside (`scaffold.core.paths`) before anything is
    written by it: an output is written by its name (one of protoc's, so in the package directory), a
    proto's name becomes the path of its copy and of its modules. The first bad one is the error: one line,
    exit 2."""
    named = [
        *(("an output", name) for name in result.outputs),
        *(("a proto's name", item.name) for item in result.inputs),
        *(("a proto's name", name) for name in (*result.generated_names, *result.compiled, *result.provided)),
        *(("a descriptor's file", file.name) for file in result.descriptors.file),
    ]
    for what, name in named:
        why = paths.problem(name)
        if why is None and what == "an output" and not name.startswith(f"{result.placed_in}/"):
            why = f"is not in the package directory {result.placed_in}"
        if why is not None:
            raise fail(source, f"names {name!r} ({what}), which {why}; nothing was written")
