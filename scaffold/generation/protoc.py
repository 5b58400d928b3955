"""Stage: run protoc (from grpcio-tools) and collect what it wrote.

protoc runs in this process: measured at 7 ms per call against 93 ms for a
`python -m grpc_tools.protoc` subprocess, which matters for `watch`. Its
diagnostics go to file descriptor 2 from C++, out of reach of
`contextlib.redirect_stderr`, so they are captured by pointing fd 2 at a
temporary file for the length of the call. A large batch runs as one child
protoc per core, a medium one beside a child that takes two of its three
generators (`scaffold.generation.sharding`).
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import importlib.util
import keyword
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

import grpc_tools  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2
from msgspec import Struct

from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.core.naming import module_path
from scaffold.core.text import lines as text_lines
from scaffold.generation import providers, sharding
from scaffold.generation.protocresult import ProtocResult, ProtoInput
from scaffold.generation.protocwrote import ARCHIVES, written

_LOCATED = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.*)$")
_FILE_LEVEL = re.compile(r"^(?:.*: )?(?P<path>[^:]+\.proto): (?P<message>.*)$")
_WARNING = "warning: "
_FD_LOCK = threading.Lock()

WELL_KNOWN_INCLUDE = Path(grpc_tools.__file__).parent / "_proto"


def expand_directories(paths: Sequence[Path], include_dirs: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Every .proto below each directory argument (sorted), each directory becoming an include root."""
    files: list[Path] = []
    roots = list(include_dirs)
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        below = sorted(path.rglob("*.proto"))
        if not below:
            raise fail(str(path), "no .proto file in this directory")
        files += below
        if not any(path.resolve().is_relative_to(root.resolve()) for root in roots):
            roots.append(path)
    return files, roots


def _unimportable(item: ProtoInput) -> Diagnostic | None:
    """A proto whose generated module Python cannot import, refused at the file rather than at the modules:
    protoc names it after the file (`3d.proto`: `3d_pb2`; `import/x.proto`: `import.x_pb2`)."""
    module = item.name.removesuffix(".proto").replace("-", "_") + "_pb2"
    directory, _, leaf = module.rpartition("/")
    not_names, keywords = _bad_packages(directory)
    bad = [*not_names, *([] if all(p.isidentifier() for p in leaf.split(".")) else [leaf]), *keywords]
    if not bad:
        return None
    message = f"protoc names this file's module {module.replace('/', '.')}, which Python cannot import"
    message += f" ({bad[0].removesuffix('_pb2')!r} is not a Python name); rename the file or its directory"
    return Diagnostic(str(item.path), message, 1, 1)


@functools.cache
def _bad_packages(directory: str) -> tuple[list[str], list[str]]:
    """The parts of a module's directory (`/`-separated) that are not Python names, and those that are
    keywords; asked once per directory (googleapis' 7,234 protos lie in 700)."""
    parts = directory.split("/") if directory else []
    return [part for part in parts if not all(p.isidentifier() for p in part.split("."))], [
        part for part in parts if keyword.iskeyword(part)
    ]


def resolve_inputs(
    proto_files: Sequence[Path],
    include_dirs: Sequence[Path],
    compiled_before: Callable[[Path], bool] = lambda path: False,
) -> tuple[ProtoInput, ...]:
    """Name every proto file relative to the first include root that holds it.

    A file under no include root gets its own directory as a root, which is
    what a user who passes a bare path means. A file `compiled_before` vouches
    for (the very bytes protoc compiled in an earlier run) is proto text: it is
    not read to check that again.
    """
    problems: list[Diagnostic] = []
    inputs: dict[str, ProtoInput] = {}  # by name: googleapis has 7,000 protos, a list scan was quadratic
    roots = [os.path.realpath(root) for root in include_dirs]
    directories: dict[str, str] = {}
    for path in proto_files:
        kind, linked = _kind(path)
        if kind is None or not stat.S_ISREG(kind):
            why = "no such proto file" if kind is None else "not a file (expected a .proto file)"
            problems.append(Diagnostic(str(path), why, 1, 1))
            continue
        unreadable = None if compiled_before(path) else _not_proto_text(path)
        if unreadable:
            problems.append(unreadable)
            continue
        item = ProtoInput(path, _name_under(path, roots, directories, linked))
        unimportable = _unimportable(item)
        if unimportable:
            problems.append(unimportable)
            continue
        same_name = inputs.get(item.name)
        if same_name is None:
            inputs[item.name] = item
        elif same_name.path.resolve() != path.resolve():
            message = (
                f"has the import name {item.name!r}, like {same_name.path}; protoc needs distinct names:"
                " pass an include root above both (-I DIR)"
            )
            problems.append(Diagnostic(str(path), message, 1, 1))
    if problems:
        raise ScaffoldError(problems)
    return tuple(inputs.values())


def _kind(path: Path) -> tuple[int | None, bool]:
    """`path`'s mode (None where `Path.exists` finds nothing), and whether it is a link, in one `lstat` for a
    file that is not a link (a `stat`, then `islink`'s `lstat`, took two)."""
    try:
        mode = os.lstat(path).st_mode
        return (os.stat(path).st_mode, True) if stat.S_ISLNK(mode) else (mode, False)
    except (OSError, ValueError) as error:  # ValueError: a NUL in the name
        if isinstance(error, ValueError) or error.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return None, False
        raise


def _not_proto_text(path: Path) -> Diagnostic | None:
    """Why `path` cannot be proto source, located at its first bad byte; None if it can.

    protoc reads binary garbage as a stream of a hundred errors; one line that
    says what is wrong serves better.
    """
    try:
        content = path.read_bytes()
    except OSError as error:
        return Diagnostic(str(path), f"cannot be read: {error.strerror}", 1, 1)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line, col = _line_col(content[: error.start].decode("utf-8"))
        byte = content[error.start]
        return Diagnostic(str(path), f"not UTF-8 text (byte 0x{byte:02x}); a .proto file is UTF-8 source", line, col)
    if "\0" in text:
        line, col = _line_col(text[: text.index("\0")])
        return Diagnostic(str(path), "holds a NUL character; a .proto file is text", line, col)
    return None


def _line_col(before: str) -> tuple[int, int]:
    """The 1-based line and column of the character that follows `before`."""
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def include_roots(inputs: Sequence[ProtoInput], include_dirs: Sequence[Path]) -> tuple[Path, ...]:
    """The -I list: the given roots, then any root implied by a bare input path, without repeats."""
    implied: dict[str, Path] = {}  # by the text before the name: googleapis' 7,234 protos share one root
    for item in inputs:
        path = str(item.path)
        above = path[: -len(item.name) - 1] if path.endswith("/" + item.name) else path
        if above not in implied:
            implied[above] = _root_of(item)
    return tuple(dict.fromkeys([*include_dirs, *implied.values()]))


def run(inputs: Sequence[ProtoInput], include_dirs: Sequence[Path]) -> ProtocResult:
    """Compile `inputs` and every non-runtime proto they import, in memory."""
    roots = include_roots(inputs, include_dirs)
    names = [item.name for item in inputs]
    first = compile_files(names, roots, inputs, with_descriptors=True)
    assert first.descriptors is not None
    imported = [f.name for f in first.descriptors.file if f.name not in names and not provided_by_runtime(f.name)]
    second = compile_files(imported, roots, inputs, with_descriptors=False) if imported else Compiled({}, None, ())
    return ProtocResult(
        inputs=tuple(inputs),
        generated_names=(*names, *imported),
        outputs=dict(sorted((first.outputs | second.outputs).items())),
        descriptor_set=first.descriptors,
        warnings=in_order((*first.warnings, *second.warnings)),
        compiled=(*names, *imported),
    )


def in_order(warnings: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Each warning once, by place: protoc reports unused imports in no stable order."""
    return tuple(sorted(set(warnings), key=lambda d: (d.path, d.line or 0, d.col or 0, d.message)))


class Compiled(Struct, frozen=True):
    """One protoc call: its outputs, the descriptors of every file it read (when asked), its warnings."""

    outputs: dict[str, bytes]
    descriptors: descriptor_pb2.FileDescriptorSet | None
    warnings: tuple[Diagnostic, ...]


def compile_files(
    names: Sequence[str], roots: Sequence[Path], inputs: Sequence[ProtoInput], with_descriptors: bool
) -> Compiled:
    """Generate the three outputs of `names` (protos named under `roots`); raise on any error. A large
    batch runs as one protoc per core, a medium one as two runs that split the generators
    (`scaffold.generation.sharding`), to the same result.

    A batch of more than a few protos is written to zip archives, not files: on an ext4 without a journal a
    new inode skips (and reads) each inode deleted in the last 30 s, so 43,000 outputs written to a temporary
    directory and deleted made the 43,000 files `new` writes next cost 3.3 to 3.8 s, not 0.9 to 1.1 s (`perf`);
    100 protos' 300 outputs took protoc alone 130 ms as files, 80 ms as archives (`zipfile`: 2.5 ms of imports)."""
    find = providers.holder([*roots, WELL_KNOWN_INCLUDE])
    groups = sharding.groups(names, find)
    zipped = len(groups) > 1 or len(names) > ZIPPED_ABOVE
    with tempfile.TemporaryDirectory(prefix="scaffold-protoc-") as tmp:
        places = [(Path(tmp) / f"out{i}", Path(tmp) / f"descriptors{i}.pb") for i in range(len(groups))]
        runs = [(group, places[i][0], places[i][1] if with_descriptors else None) for i, group in enumerate(groups)]
        for _, out, _ in runs:
            out.mkdir()
        said: list[tuple[int, str]] | None = None
        if len(groups) > 1:
            said = sharding.run_children([_arguments(*run, roots, zipped) for run in runs])
        elif zipped and sharding.generators_apart(names, find):  # the messages' modules and descriptors here
            own = _arguments(*runs[0], roots, zipped, ("python",))
            child = _arguments(names, places[0][0], None, roots, zipped, ("pyi", "grpc_python"))
            ran = functools.partial(_child_ran, out=places[0][0], inputs=inputs)
            said = sharding.beside_a_child(child, lambda: _run_protoc(["grpc_tools.protoc", *own]), ran)
        if said is None:  # one run here: a batch not worth a child, or one whose child could not run
            said = [_run_protoc(["grpc_tools.protoc", *_arguments(*runs[0], roots, zipped)])]
        if len(groups) > 1 and any(code != 0 for code, _ in said):  # each group stops at its own first error: the
            # one run's errors instead, whatever the machine's cores (protoc stops before generating anything)
            linked(names, roots, inputs)
        warnings = _diagnosed(said, roots, inputs)
        sets = [descriptor_pb2.FileDescriptorSet.FromString(d.read_bytes()) for _, d in places if with_descriptors]
        descriptors = (sets[0] if len(sets) == 1 else sharding.merged(sets, names)) if sets else None
        outputs = {name: content for out, _ in places for name, content in written(out, zipped)}
    return Compiled(dict(sorted(outputs.items())), descriptors, tuple(warnings))


def _child_ran(said: tuple[int, str], out: Path, inputs: Sequence[ProtoInput]) -> bool:
    """Whether a child beside this run did its part or failed saying why: not killed (out of memory, only
    warnings said), not a `sys.executable` that ran something else (a batch always has stubs)."""
    code, stderr = said
    if code == 0:
        return (out / ARCHIVES["pyi"]).is_file()
    return code > 0 and any(d.severity == "error" for d in parse_diagnostics(stderr, inputs))


def descriptors_only(inputs: Sequence[ProtoInput], include_dirs: Sequence[Path]) -> descriptor_pb2.FileDescriptorSet:
    """The descriptors of `inputs` and their imports, with source info, and nothing generated.

    For reading protos that are not being generated (`scaffold breaking`'s two sides); any error raises,
    located like a generation's.
    """
    return linked([item.name for item in inputs], include_roots(inputs, include_dirs), inputs)


def linked(
    names: Sequence[str], roots: Sequence[Path], inputs: Sequence[ProtoInput]
) -> descriptor_pb2.FileDescriptorSet:
    """The descriptors of one protoc run over `names` (parsed and linked, nothing generated); raise its errors.
    Runs that compiled them apart stop at other errors, or miss a name two of them declare
    (`scaffold.generation.clashes`)."""
    with tempfile.TemporaryDirectory(prefix="scaffold-protoc-") as tmp:
        described = Path(tmp) / "descriptors.pb"
        said = _run_protoc(["grpc_tools.protoc", *_arguments(names, Path(tmp), described, roots, generators=())])
        _diagnosed([said], roots, inputs)
        return descriptor_pb2.FileDescriptorSet.FromString(described.read_bytes())


@functools.cache
def provided_by_runtime(proto_name: str) -> bool:
    """True for protos whose generated module ships with the protobuf package (well-known types)."""
    if not proto_name.startswith("google/protobuf/"):
        return False
    module = module_path(proto_name).replace("/", ".") + "_pb2"
    return importlib.util.find_spec(module) is not None


ZIPPED_ABOVE = 4  # protos: a batch of more goes to archives (`compile_files`); one edited proto spares `zipfile`


def _arguments(
    names: Sequence[str],
    out: Path,
    descriptor_path: Path | None,
    roots: Sequence[Path],
    zipped: bool = False,
    generators: Sequence[str] = tuple(ARCHIVES),
) -> list[str]:
    """protoc's command line, without the program's name: `generators`' outputs to the directory `out`, or
    with `zipped` to archives in it (protoc writes an archive for an output path that ends in `.zip`)."""
    args = [*(f"-I{root}" for root in roots), f"-I{WELL_KNOWN_INCLUDE}"]
    args += [f"--{kind}_out={out / ARCHIVES[kind] if zipped else out}" for kind in generators]
    if descriptor_path is not None:
        args += [f"--descriptor_set_out={descriptor_path}", "--include_imports", "--include_source_info"]
    return [*args, *names]


def _diagnosed(
    said: Sequence[tuple[int, str]], roots: Sequence[Path], inputs: Sequence[ProtoInput]
) -> list[Diagnostic]:
    """The warnings of protoc runs (each one's exit code and stderr), once each; raise with their errors."""
    stderr = "".join(text if text.endswith("\n") or not text else text + "\n" for _, text in said)
    diagnostics = _said_once([_with_include_hint(d, inputs, roots) for d in parse_diagnostics(stderr, inputs)])
    diagnostics = list(dict.fromkeys(diagnostics))  # what a file several groups import says, said once
    errors = [d for d in diagnostics if d.severity == "error"]
    if any(code != 0 for code, _ in said):
        stopped = next((f" (stopped by signal {-code})" for code, _ in said if code < 0), "")
        message = f"protoc failed without a message{stopped}"
        raise ScaffoldError(errors or [Diagnostic(inputs[0].path.as_posix(), message, 1, 1)])
    return [d for d in diagnostics if d.severity != "error"]


_IMPORT_NOT_FOUND = re.compile(r'^Import "(?P<name>[^"]+)" was not found')
_LOGGED_AGAIN = re.compile(r"^(?P<name>\S+\.proto) \S+: ")  # absl's `x.proto x.xf: ...`, said located too


def _said_once(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Without protoc's `NAME:1:1: File not found.` for an import another line reports where it is imported
    (and where the file can come from); nor a message protoc logs again as `NAME SYMBOL: message`."""
    imported = {m["name"] for d in diagnostics if (m := _IMPORT_NOT_FOUND.match(d.message))}
    said = {d.message for d in diagnostics}
    again = {d for d in diagnostics if (m := _LOGGED_AGAIN.match(d.message)) and d.message[m.end() :] in said}
    return [d for d in diagnostics if not (d.message == "File not found." and d.path in imported) and d not in again]


def _with_include_hint(diagnostic: Diagnostic, inputs: Sequence[ProtoInput], roots: Sequence[Path]) -> Diagnostic:
    """An import protoc did not find, with the include root that would find it, when one lies below."""
    missing = _IMPORT_NOT_FOUND.match(diagnostic.message)
    if missing is None:
        return diagnostic
    name = missing["name"]
    searched = dict.fromkeys([*roots, *(item.path.parent for item in inputs)])
    for directory in searched:
        for candidate in sorted(directory.rglob(PurePosixPath(name).name)):
            if candidate.as_posix().endswith("/" + name):
                root = Path(candidate.as_posix()[: -len(name) - 1])
                hint = f"; it is at {candidate}: add `-I {root}` (or, in a project, {root} to proto_paths)"
                return dataclasses.replace(diagnostic, message=diagnostic.message.rstrip(".") + hint)
    provided = providers.hint(name)
    if provided is not None:
        return dataclasses.replace(diagnostic, message=f"{diagnostic.message.rstrip('.')}; {provided}")
    return diagnostic


def _protoc_main(args: list[str]) -> int:
    """grpcio-tools' protoc compiler, loaded when a run compiles. Not `grpc_tools.protoc`, which also loads
    `importlib.resources` and installs import hooks for `.proto` files (4 ms of a 130 ms `gen`)."""
    from grpc_tools import _protoc_compiler

    code: int = _protoc_compiler.run_main([os.fsencode(argument) for argument in args])  # a path not in UTF-8 too
    return code


def _run_protoc(args: list[str]) -> tuple[int, str]:
    with _FD_LOCK, tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            code = _protoc_main(args)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        return code, captured.read().decode("utf-8", "replace")


# protoc's parser logs through absl: a preamble line, then `W0000 00:00:17.9 123 parser.cc:659] message`.
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog()"
_ABSL_LOG = re.compile(r"^(?P<level>[IWEF])\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] (?P<message>.*)$")


def parse_diagnostics(stderr: str, inputs: Sequence[ProtoInput]) -> list[Diagnostic]:
    """Protoc's stderr as diagnostics, paths shown as the user gave them.

    Protoc names a file either as given on the command line or by its name
    under an include root; the latter is mapped back to the input's path.
    Lines without a position point at 1:1 of the file they name, or of the
    first input when they name none.
    """
    by_name = {item.name: item.path.as_posix() for item in inputs}
    result = []
    for raw in text_lines(stderr):
        line = raw.strip()
        if not line or line.startswith(_ABSL_PREAMBLE):
            continue
        logged = _ABSL_LOG.match(line)
        if logged:
            if logged["level"] == "I":
                continue
            subject = _LOGGED_AGAIN.match(logged["message"])  # the proto it is about, else the first it names
            named = [subject["name"]] if subject else [name for name in by_name if name in logged["message"]]
            path = named[0] if named else (inputs[0].name if inputs else "protoc")
            severity = "warning" if logged["level"] == "W" else "error"
            result.append(Diagnostic(by_name.get(path, path), logged["message"], 1, 1, severity))
            continue
        located = _LOCATED.match(line)
        if located:
            path, message = located["path"], located["message"]
            row, col = int(located["line"]), int(located["col"])
        else:
            file_level = _FILE_LEVEL.match(line)
            path = file_level["path"] if file_level else (inputs[0].path.as_posix() if inputs else "protoc")
            message = file_level["message"] if file_level else line
            row, col = 1, 1
        severity = "error"
        if message.startswith(_WARNING):
            severity, message = "warning", message[len(_WARNING) :]
        result.append(Diagnostic(by_name.get(path, path), message, row, col, severity))
    return result


def _name_under(path: Path, roots: Sequence[str], directories: dict[str, str], linked: bool) -> str:
    """`path`'s name under the first of the (resolved) `roots` that holds it, resolved as `Path.resolve` does,
    with each directory resolved once in `directories` (googleapis: 7,000 protos in 700 directories; resolving
    each file's whole path took a second)."""
    if linked or ".." in path.parts:  # `..` after a link is the link target's parent
        resolved = os.path.realpath(path)
    else:
        text = str(path)  # a `Path`'s text is normal (no `.`, no `//`) and, here, without `..`
        parent, leaf = os.path.split(text if text.startswith("/") else os.path.abspath(text))
        if parent not in directories:
            directories[parent] = os.path.realpath(parent)
        resolved = os.path.join(directories[parent], leaf)
    for root in roots:
        prefix = root if root.endswith("/") else root + "/"
        if resolved.startswith(prefix):
            return resolved[len(prefix) :]
    return path.name


def _root_of(item: ProtoInput) -> Path:
    depth = item.name.count("/") + 1
    root = item.path
    for _ in range(depth):
        root = root.parent
    return root
