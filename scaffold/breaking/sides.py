"""The two sides `scaffold breaking` compares: the project's protos now, and as they were.

"As they were" is a git revision (read with `git ls-tree` and `git cat-file`,
nothing checked out, the project's config applied to the tree of that
revision), a directory of protos, or a FileDescriptorSet file as protoc
(`--descriptor_set_out --include_imports`) or `buf build` writes it. A path
that exists is taken as a path; anything else as a revision.
"""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from google.protobuf import descriptor_pb2, unknown_fields
from google.protobuf.message import DecodeError
from grpc_tools import grpc_version  # type: ignore[import-untyped]

from scaffold import __version__
from scaffold.breaking import wire
from scaffold.breaking.protosource import Side
from scaffold.core import paths
from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.generation import project as project_inputs
from scaffold.generation import protoc
from scaffold.generation.config import Config
from scaffold.generation.protocresult import ProtoInput
from scaffold.record import cache

_IMAGE_EXTENSION = 8042
"""buf's images mark the files that are imports, not inputs, in this field of each file."""


def of_project(config: Config) -> Side:
    """The project's protos as they are on disk: from the last generation's record when every file the
    protos read is still the one recorded (a project that ran `gen` compiles nothing here), else compiled."""
    return _compiled(config, config.proto_files(), shown=lambda path: _shown(path, config.root), recorded=True)


def against(config: Config, ref: str, base: Path, current: Side) -> Side:
    """The other side named by `ref`: a path (relative to `base`) if one exists there, else a git revision."""
    path = base / ref
    if path.is_file():
        return _image(path, current)
    if path.is_dir():
        return _directory(config, path)
    return _revision(config, ref)


def _shown(path: Path, root: Path) -> str:
    """A proto's path as diagnostics show the project's files: under the project directory as given."""
    try:
        return (root / path.resolve().relative_to(root.resolve())).as_posix()
    except ValueError:
        return path.as_posix()


def _compiled(config: Config, files: tuple[Path, ...], shown: Callable[[Path], str], recorded: bool = False) -> Side:
    """The protos `files` and what they import; checked are the files, and every import that lies in the
    project's own proto directories (the copies `new` made of imported protos are the project's too; buf
    checks its whole module the same way). Imports from elsewhere, and the well-known types, are context."""
    include_dirs = project_inputs.with_installed(config)[0]  # the installed distributions' roots too
    inputs = protoc.resolve_inputs(files, include_dirs)
    descriptors = (recorded and _from_record(config, inputs, include_dirs)) or protoc.descriptors_only(
        inputs, include_dirs
    )
    paths = {item.name: item.path for item in inputs}
    project = config.root.resolve()
    owned = [root for root in include_dirs if root.resolve().is_relative_to(project)]
    for file in descriptors.file:
        if file.name not in paths and not protoc.provided_by_runtime(file.name):
            found = next((root / file.name for root in owned if (root / file.name).is_file()), None)
            if found is not None:
                paths[file.name] = found
    origin = {name: shown(path) for name, path in paths.items()}
    texts = {name: path.read_text(encoding="utf-8", errors="replace") for name, path in paths.items()}
    return Side(descriptors.file, list(paths), origin, texts)


def _from_record(
    config: Config, inputs: tuple[ProtoInput, ...], include_dirs: tuple[Path, ...]
) -> descriptor_pb2.FileDescriptorSet | None:
    """The descriptors `scaffold.generation.incremental` recorded, if every proto the inputs reach is unchanged on disk."""
    from scaffold.generation import incremental

    record = incremental.load(config.root, config.generated_dir)
    if not record:
        return None
    roots = (*protoc.include_roots(inputs, include_dirs), protoc.WELL_KNOWN_INCLUDE)
    pending, seen = [item.name for item in inputs], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        compiled = record.get(name)
        if compiled is None or incremental.find_source(name, roots) != (compiled.origin, compiled.sha256):
            return None
        pending += compiled.dependencies
    return descriptor_pb2.FileDescriptorSet(
        file=[descriptor_pb2.FileDescriptorProto.FromString(record[name].descriptor) for name in sorted(seen)]
    )


def _directory(config: Config, directory: Path) -> Side:
    files = tuple(sorted(directory.rglob("*.proto")))
    if not files:
        raise fail(str(directory), "no .proto file in this directory (expected the protos to compare against)")
    in_directory = dataclasses.replace(
        config, proto_paths=(os.path.relpath(directory, config.root), *config.proto_paths)
    )
    return _compiled(in_directory, files, shown=lambda path: path.as_posix())


def _image(path: Path, current: Side) -> Side:
    try:
        image = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
    except DecodeError:
        raise fail(
            str(path), "not a FileDescriptorSet (write one with protoc --descriptor_set_out or buf build -o)", 1, 1
        ) from None
    if not image.file:
        raise fail(str(path), "holds no files", 1, 1)
    imports = {name for name in current.all if name not in current.files}
    checked = [
        f.name
        for f in image.file
        if f.name not in imports and not protoc.provided_by_runtime(f.name) and not _marked_import(f)
    ]
    return Side(image.file, checked)


def _marked_import(file: descriptor_pb2.FileDescriptorProto) -> bool:
    """buf's `is_import` mark: an unknown field to protoc's FileDescriptorProto, read by hand."""
    found = unknown_fields.UnknownFieldSet(file)
    for field in (found[index] for index in range(len(found))):
        if field.field_number == _IMAGE_EXTENSION and field.wire_type == 2:
            return _first_varint_field(field.data) != 0
    return False


def _first_varint_field(data: bytes, wanted: int = 1) -> int:
    """The value of varint field `wanted` of a serialized message (ImageFileExtension.is_import is field 1)."""
    return next((value for number, value in wire.fields(data) if number == wanted and isinstance(value, int)), 0)


def _git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run(["git", *args], cwd=root, input=data, capture_output=True, check=False)
    if done.returncode != 0:
        raise OSError(done.stderr.decode(errors="replace").strip() or f"git {args[0]} failed")
    return done.stdout


def _revision(config: Config, ref: str) -> Side:
    root = config.root
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
        prefix = _git(root, "rev-parse", "--show-prefix").decode().strip()
    except (OSError, FileNotFoundError):
        raise fail(ref, f"neither a path nor a git revision: {root} is not in a git repository") from None
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except OSError:
        raise fail(ref, "neither a path nor a git revision of this repository") from None
    tree = _git(top, "rev-parse", f"{ref}^{{tree}}").decode().strip()
    key = repr(
        (_REVISION_FORMAT, tree, prefix, config.protos, config.proto_paths, os.path.abspath(root))
        + (__version__, grpc_version.VERSION)
    )
    cached = _cached_revision(root, key)
    if cached is not None:
        return cached
    side = _read_revision(config, ref, top, prefix)
    _cache_revision(root, key, side)
    return side


def _read_revision(config: Config, ref: str, top: Path, prefix: str) -> Side:
    root = config.root
    blobs = _proto_blobs(_git(top, "ls-tree", "-r", "-z", "--full-tree", ref), ref)
    contents = _blobs(top, [sha for _, sha in blobs])
    with tempfile.TemporaryDirectory(prefix="scaffold-against-") as tmp:
        for (name, _), content in zip(blobs, contents, strict=True):
            _write_new(Path(tmp), name, content)
        then = dataclasses.replace(config, root=Path(tmp, prefix))
        files = tuple(path for path in then.proto_files() if path.is_file())
        if not files:
            raise fail(ref, f"has none of the project's protos ({', '.join(config.protos)})")
        try:
            return _compiled(then, files, shown=lambda path: _shown_then(path, then.root, root))
        except ScaffoldError as error:
            raise ScaffoldError(_at_revision(d, tmp, ref) for d in error.diagnostics) from None


def _proto_blobs(listing: bytes, ref: str) -> list[tuple[str, str]]:
    """The (path, blob id) of every .proto of a `git ls-tree -r -z` listing, each path checked before any is
    written under the temporary directory: git accepts trees that name `..`, links and duplicates, and
    written by name such a path would land outside it (on the project's own protos, say)."""
    blobs: dict[str, str] = {}
    problems = []
    for entry in listing.split(b"\0"):
        meta, _, raw_name = entry.partition(b"\t")
        fields = meta.split()
        if len(fields) != 3 or fields[1] != b"blob" or not raw_name.endswith(b".proto"):
            continue
        name = os.fsdecode(raw_name)
        problem = paths.problem(name)
        if problem is None and fields[0] == b"120000":
            problem = "is a symbolic link in the revision; scaffold reads no link from a revision"
        if problem is None and name in blobs:
            problem = "appears twice in the revision's tree"
        if problem is None:
            blobs[name] = fields[2].decode()
        else:
            problems.append(Diagnostic(f"{ref}:{name}", problem))
    directories = {"/".join(name.split("/")[:end]) for name in blobs for end in range(1, name.count("/") + 1)}
    problems += [
        Diagnostic(f"{ref}:{name}", "is both a file and a directory in the revision")
        for name in blobs
        if name in directories
    ]
    if problems:
        raise ScaffoldError(problems)
    return list(blobs.items())


def _write_new(directory: Path, name: str, content: bytes) -> None:
    """Write `content` at `name` (checked by `_proto_blobs`) below `directory`, as a new file: never over one,
    never through a link."""
    target = directory / name
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)


_REVISION_FORMAT = 1
_REVISION_CACHE = "breaking-against.marshal"
"""The last revision compared against, compiled: one entry (googleapis' is tens of MB), replaced when the
revision, the config's protos or the tools change. A git tree never changes, so the entry cannot be stale."""


def _cached_revision(root: Path, key: str) -> Side | None:
    try:
        data = marshal.loads(cache.read(root, _REVISION_CACHE) or b"")
        if data["key"] != key:
            return None
        files = [descriptor_pb2.FileDescriptorProto.FromString(raw) for raw in data["files"]]
        return Side(files, data["checked"], data["origin"], data["texts"])
    except Exception:  # noqa: BLE001 - missing, truncated or from another version: read the revision again
        return None


def _cache_revision(root: Path, key: str, side: Side) -> None:
    data = {
        "key": key,
        "files": [file.proto.SerializeToString() for file in side.all.values()],
        "checked": list(side.files),
        "origin": side.origin,
        "texts": {name: file.text for name, file in side.files.items() if file.text is not None},
    }
    cache.write(root, _REVISION_CACHE, marshal.dumps(data))


def _shown_then(path: Path, then: Path, root: Path) -> str:
    return (root / path.relative_to(then)).as_posix()


def _at_revision(diagnostic: Diagnostic, tmp: str, ref: str) -> Diagnostic:
    """A problem in a proto of the revision, named as git names it: `REF:path/in/repo.proto`."""
    path = diagnostic.path
    if path.startswith(tmp + "/"):
        path = f"{ref}:{path[len(tmp) + 1 :]}"
    return dataclasses.replace(diagnostic, path=path)


def _blobs(top: Path, shas: list[str]) -> list[bytes]:
    """Every blob's content in one `git cat-file --batch` (googleapis: 7,000 protos, one process)."""
    if not shas:
        return []
    out = _git(top, "cat-file", "--batch", data="".join(f"{sha}\n" for sha in shas).encode())
    contents, at = [], 0
    for _ in shas:
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        start = header_end + 1
        contents.append(out[start : start + size])
        at = start + size + 1
    return contents
