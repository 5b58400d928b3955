"""Which distribution provides a proto the user's protos import but no include root holds.

Real protos import `google/api/annotations.proto`, `google/rpc/status.proto` or
`buf/validate/validate.proto`; protoc's own answer, `File not found.`, says nothing
of where such a file comes from. A distribution installed beside scaffold that
ships the file (googleapis-common-protos ships `google/api`, `google/rpc`,
`google/type`, ... beside its `_pb2` modules) is named with the root to pass;
a file of a known family that nothing installed ships is named with the package
that does, or, for protovalidate's rules (its PyPI package ships no `.proto`),
with buf's module.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from collections.abc import Sequence
from pathlib import Path

_FAMILIES = (
    ("google/api/", "googleapis-common-protos"),
    ("google/cloud/extended_operations.proto", "googleapis-common-protos"),
    ("google/cloud/location/", "googleapis-common-protos"),
    ("google/gapic/", "googleapis-common-protos"),
    ("google/logging/type/", "googleapis-common-protos"),
    ("google/longrunning/", "googleapis-common-protos"),
    ("google/rpc/", "googleapis-common-protos"),
    ("google/type/", "googleapis-common-protos"),
)
"""Import prefixes (or whole names) and the PyPI distribution that ships them as `.proto` files."""

_BUF_MODULES = (("buf/validate/", "buf.build/bufbuild/protovalidate"),)
"""Import prefixes no PyPI distribution ships as `.proto`, and the buf module that holds them."""


def hint(name: str) -> str | None:
    """Where the proto imported as `name` can come from, as the end of a sentence; None when unknown."""
    installed = installed_root(name)
    if installed is not None:
        distribution, root = installed
        return f"it is installed with {distribution}: add `-I {root}` (or, in a project, {root} to proto_paths)"
    for prefix, distribution in _FAMILIES:
        if name == prefix or (prefix.endswith("/") and name.startswith(prefix)):
            return f"it is in {distribution}: pip install {distribution}, or pass -I"
    for prefix, module in _BUF_MODULES:
        if name.startswith(prefix):
            return f"it is in buf's module {module}: `buf export {module} -o DIR`, then pass `-I DIR`"
    return None


def installed_root(name: str) -> tuple[str, Path] | None:
    """The installed distribution that ships `name` as a `.proto` file, and the directory to pass as `-I`."""
    return _shipped().get(name)


@functools.cache
def _shipped() -> dict[str, tuple[str, Path]]:
    """Every `.proto` an installed distribution records in its file list, by import name (read once, on
    the path of an error only)."""
    found: dict[str, tuple[str, Path]] = {}
    for distribution in importlib.metadata.distributions():
        for file in distribution.files or ():
            path = file.as_posix() if hasattr(file, "as_posix") else str(file)
            if not path.endswith(".proto") or path.startswith(("..", "/")):
                continue
            root = Path(str(distribution.locate_file(""))).resolve()
            found.setdefault(path, (distribution.metadata["Name"], root))
    return found


_IMPORT = re.compile(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;', re.MULTILINE)


def installed_roots(protos: Sequence[Path], include_dirs: Sequence[Path]) -> list[Path]:
    """The roots of installed distributions that ship what `protos` import (directly, or through the
    protos they import from `include_dirs`) and no include root holds: what `new` adds to its -I list,
    so that `import "google/api/annotations.proto";` needs no flag when googleapis-common-protos is
    installed. The project then carries its own copy under `protos/`, as of any import."""
    roots: list[Path] = []
    pending, seen = list(protos), set(protos)
    while pending:
        try:
            text = pending.pop().read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # protoc says what is wrong with it
        for name in _IMPORT.findall(text):
            local = next((d / name for d in include_dirs if (d / name).is_file()), None)
            if local is not None:
                if local not in seen:
                    seen.add(local)
                    pending.append(local)
                continue
            installed = installed_root(name) if not name.startswith("google/protobuf/") else None
            if installed is not None and installed[1] not in roots:
                roots.append(installed[1])
    return roots
