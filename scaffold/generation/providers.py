"""Which distribution provides a proto the user's protos import but no include root holds.

Real protos import `google/api/annotations.proto`, `google/rpc/status.proto` or
`buf/validate/validate.proto`; protoc's own answer, `File not found.`, says nothing
of where such a file comes from. A distribution installed beside scaffold that
ships the file (googleapis-common-protos ships `google/api`, `google/rpc`,
`google/type`, ... beside its `_pb2` modules) is named with the root to pass;
a file of a known family that nothing installed ships is named with the package
that does, or, for protovalidate's rules (its PyPI package ships no `.proto`),
with buf's module. The distributions a project compiles against where they are
installed (config `installed`) are found, checked and listed here too.
"""

from __future__ import annotations

import csv
import functools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from scaffold.generation import sitecache

if TYPE_CHECKING:
    import importlib.metadata

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
    where = installed_root(name)
    if where is not None:
        distribution, root = where
        shipped = installed(distribution)
        requirement = shipped.requirement if shipped is not None else distribution
        return (
            f'it is installed with {distribution}: in a project, add "{requirement}" to `installed` in'
            f" [tool.scaffold] to import it from there (or vendor it: copy it under a proto path); elsewhere,"
            f" pass -I {root}"
        )
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
    """Every `.proto` an installed distribution records in its file list, by import name, with the
    distribution's name and root (once per process; between processes, `scaffold.generation.sitecache`)."""
    found = sitecache.remembered("shipped", _scan_shipped, _is_shipped)
    return {name: (distribution, Path(root)) for name, (distribution, root) in found.items()}


def _scan_shipped() -> dict[str, tuple[str, str]]:
    """The scan behind `_shipped`. It reads each distribution's RECORD as text and parses the metadata only
    of the few that ship protos: the list of `PackagePath`s and a metadata parse per file had cost 0.4 s on
    a 62-proto tree (issue 30)."""
    import importlib.metadata  # here: its import costs every `scaffold call` about 6 ms (issue 30)

    found: dict[str, tuple[str, str]] = {}
    for distribution in importlib.metadata.distributions():
        protos = [
            name for name in _listed(distribution) if name.endswith(".proto") and not name.startswith(("..", "/"))
        ]
        if not protos:
            continue
        owner = (distribution.metadata["Name"], str(Path(str(distribution.locate_file(""))).resolve()))
        for name in protos:
            found.setdefault(name, owner)
    return found


def _is_shipped(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(name, str) and _strings(owner, 2) for name, owner in value.items()
    )


def _strings(value: object, count: int) -> bool:
    return isinstance(value, tuple) and len(value) == count and all(isinstance(item, str) for item in value)


def _listed(distribution: importlib.metadata.Distribution) -> list[str]:
    """The paths a distribution records, from its RECORD's first column where it has one."""
    record = distribution.read_text("RECORD")
    if record is None:
        return [file.as_posix() for file in distribution.files or ()]
    return [row[0] for row in csv.reader(line for line in record.splitlines() if ".proto" in line) if row]


_IMPORT = re.compile(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;', re.MULTILINE)


def holder(include_dirs: Sequence[Path]) -> Callable[[str], Path | None]:
    """The lookup of an import name in `include_dirs` (the first that holds it), each name looked up once.

    `new`'s roots are its `-I`s and every proto's directory: googleapis has 700 of those and 45,000 import
    statements, a third of them of well-known types no root holds, and looking each statement up anew was
    2.4 million stats (issue 30)."""
    roots = [os.fspath(d) for d in include_dirs]

    @functools.cache
    def find(name: str) -> Path | None:
        held = next((root for root in roots if os.path.isfile(os.path.join(root, name))), None)
        return None if held is None else Path(held) / name

    return find


def _installed_imports(protos: Sequence[Path], include_dirs: Sequence[Path]) -> list[str]:
    """What `protos` import (directly, or through the protos they import from `include_dirs`) that no
    include root holds and an installed distribution ships, in the order first met."""
    found: list[str] = []
    pending, seen = list(protos), set(protos)
    held = holder(include_dirs)
    while pending:
        try:
            text = pending.pop().read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # protoc says what is wrong with it
        for name in _IMPORT.findall(text):
            local = held(name)
            if local is not None:
                if local not in seen:
                    seen.add(local)
                    pending.append(local)
                continue
            if not name.startswith("google/protobuf/") and installed_root(name) is not None and name not in found:
                found.append(name)
    return found


class Installed(Struct, frozen=True):
    """A distribution that ships `.proto` files the project compiles against where they are installed."""

    name: str
    version: str
    root: Path
    """What to pass as `-I`: the directory its files are listed from (site-packages)."""
    protos: frozenset[str]

    @property
    def requirement(self) -> str:
        """The dependency the project gets: this version as the floor (what its protos were compiled against)."""
        return f"{self.name}>={self.version}"


def installed(name: str) -> Installed | None:
    """The installed distribution `name` and the `.proto` files it ships; None when it is not installed."""
    found = sitecache.remembered(f"installed {name}", lambda: _read_installed(name), _is_installed)
    if found is None:
        return None
    distribution, version, root, protos = found
    return Installed(distribution, version, Path(root), frozenset(protos))


def _read_installed(name: str) -> tuple[str, str, str, tuple[str, ...]] | None:
    import importlib.metadata

    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    files = [f.as_posix() if hasattr(f, "as_posix") else str(f) for f in distribution.files or ()]
    protos = sorted({f for f in files if f.endswith(".proto") and not f.startswith(("..", "/"))})
    root = str(Path(str(distribution.locate_file(""))).resolve())
    return distribution.metadata["Name"], distribution.version, root, tuple(protos)


def _is_installed(value: object) -> bool:
    if value is None:
        return True
    if not (isinstance(value, tuple) and len(value) == 4 and isinstance(value[3], tuple)):
        return False
    return _strings(value[:3], 3) and _strings(value[3], len(value[3]))


def installed_for(protos: Sequence[Path], include_dirs: Sequence[Path]) -> list[Installed]:
    """The installed distributions that ship what `protos` import and no include root holds (`new`'s
    `installed`, in the order first needed)."""
    found: dict[str, Installed] = {}
    for name in _installed_imports(protos, include_dirs):
        distribution = _shipped()[name][0]
        shipped = found.get(distribution) or installed(distribution)
        if shipped is not None:
            found[distribution] = shipped
    return list(found.values())


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    """An order of versions good enough for a floor: numbers as numbers, other parts as text."""
    return tuple((int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.+!-]", version))


def resolve_installed(
    names: Sequence[str], include_dirs: Sequence[Path]
) -> tuple[list[Installed], frozenset[str], list[str]]:
    """For the config's `installed` entries: each distribution, the protos they provide (what they ship
    that no include root holds: a copy of one in the project is the project's own), and what is wrong
    (not installed, or older than the floor)."""
    found: list[Installed] = []
    problems: list[str] = []
    for entry in names:
        name, _, floor = entry.partition(">=")
        shipped = installed(name)
        if shipped is None:
            problems.append(f"{name} is not installed: pip install '{entry}'")
        elif floor and _version_key(shipped.version) < _version_key(floor):
            problems.append(f"{name} {shipped.version} is installed, older than {floor}: pip install '{entry}'")
        else:
            found.append(shipped)
    names_held = frozenset(
        proto for shipped in found for proto in shipped.protos if not any((d / proto).is_file() for d in include_dirs)
    )
    return found, names_held, problems
