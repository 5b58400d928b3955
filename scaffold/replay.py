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

from scaffold.errors import Diagnostic, fail
from scaffold.protoc import ProtocResult, ProtoInput

DUMP = "SCAFFOLD_DUMP"
REPLAY = "SCAFFOLD_REPLAY"
FILE_NAME = "protoc-result.marshal"
_FORMAT = 2


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
        result.outputs,
        result.descriptors.SerializeToString(),
        [(d.path, d.message, d.line, d.col, d.severity) for d in result.warnings],
        list(result.compiled),
        result.placed_in,
    )
    (Path(directory) / FILE_NAME).write_bytes(marshal.dumps(data))


def replayed(placed_in: str) -> ProtocResult | None:
    """The result saved in the file SCAFFOLD_REPLAY names; None when it names none. Its outputs are placed in
    a package directory (see `scaffold.relocate.place`), which must be `placed_in`, this project's."""
    path = os.environ.get(REPLAY)
    if not path:
        return None
    try:
        data = marshal.loads(Path(path).read_bytes())
        if not isinstance(data, tuple) or not data or data[0] != _FORMAT:
            raise ValueError(f"not a dump of format {_FORMAT}")
        _, inputs, names, outputs, descriptors, warnings, compiled, dumped_in = data
    except (OSError, ValueError, EOFError, TypeError) as error:
        raise fail(f"{REPLAY}={path}", f"cannot be replayed: {error}") from None
    if dumped_in != placed_in:
        raise fail(
            f"{REPLAY}={path}", f"was saved for the package directory {dumped_in}, not this project's {placed_in}"
        )
    return ProtocResult(
        inputs=tuple(ProtoInput(Path(p), name) for p, name in inputs),
        generated_names=tuple(names),
        outputs=dict(outputs),
        descriptor_set=descriptors,
        warnings=tuple(Diagnostic(*w) for w in warnings),
        compiled=tuple(compiled),
        placed_in=placed_in,
    )
