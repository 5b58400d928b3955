"""What one protoc run wrote: files in a directory, or the members of a zip archive per generator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import zipfile

ARCHIVES = {"python": "python.zip", "pyi": "pyi.zip", "grpc_python": "grpc.zip"}
"""Each generator's archive, when a run writes archives (`scaffold.generation.protoc.compile_files`)."""


def written(out: Path, zipped: bool) -> Iterator[tuple[str, bytes]]:
    """What one protoc run wrote to `out`: its files, or its archives' members (`ARCHIVES`)."""
    if not zipped:
        for path in out.rglob("*"):
            if path.is_file():
                yield path.relative_to(out).as_posix(), path.read_bytes()
        return
    import zipfile  # here: 2.5 ms of imports, for large batches only

    for archive in ARCHIVES.values():
        if not (out / archive).is_file():
            continue  # nothing generated, as a directory without files says
        with zipfile.ZipFile(out / archive) as members:
            for member in members.infolist():
                if not member.is_dir():
                    yield _utf8_name(member), members.read(member)


def _utf8_name(member: zipfile.ZipInfo) -> str:
    """A member's name as protoc wrote it: in UTF-8, without the flag that says so, so `zipfile` read it as
    cp437 (`café.proto`'s module would be `caf├⌐_pb2.py`); cp437 gives every byte back as it was."""
    if member.flag_bits & 0x800:  # the flag
        return member.filename
    return member.filename.encode("cp437").decode("utf-8")
