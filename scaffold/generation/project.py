"""The inputs of a generation, read once: `Inputs`, from a project on disk or from `new`'s arguments.

Everything a run reads comes through here: the config and its raw table, the
digest of the inputs, the previous state, the protoc record, the protos, and
the project directory as a `Disk` snapshot; nothing downstream reads them
again. `scaffold.generation.pipeline` plans from an `Inputs`; `call` and `describe` take
only its descriptors (`descriptors`), so this module loads no template,
merge or rendering code.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2
from msgspec import Struct, field

from scaffold.core.errors import ScaffoldError, fail
from scaffold.core.naming import module_name, snake_case
from scaffold.generation import configfile, configkeys, incremental, packagename, protoc, providers, replay
from scaffold.generation import inputs as input_digest
from scaffold.generation.config import Config
from scaffold.generation.protocresult import Lazy, ProtocResult, ProtoInput
from scaffold.layout import CONFIG_FILE, MANIFEST, PROTO_DIR, STATE_DIR
from scaffold.record import journal, lock, memo, state, validate
from scaffold.record.disk import Disk
from scaffold.record.hashes import Hashes
from scaffold.record.memo import Memo


class Inputs(Struct, frozen=True):
    """What one generation reads; nothing downstream reads the project's config or state again."""

    config: Config
    disk: Disk
    protos: tuple[ProtoInput, ...]
    include_dirs: tuple[Path, ...]
    previous: state.State | None = None
    record: incremental.Record | None = None
    """The previous run's protoc record; None runs protoc for every proto."""
    table: Mapping[str, Any] | None = None
    """The raw `[tool.scaffold]` table on disk; None for `new`, whose config is still to be rendered."""
    digest: str | None = None
    recreate: frozenset[str] = frozenset()
    new_from: tuple[Path, ...] = ()
    """For `new`: the include roots the protos are copied from into the project's `protos/`."""
    memo: Memo | None = None
    """What earlier runs computed and kept (`scaffold.record.memo`); None computes everything."""
    choose_layout: bool = False
    """For `new` without `--layout`: per-service when the protos define more than one service."""
    hashes: Hashes = field(default_factory=Hashes)
    """The files' hashes as their status vouches for them (`scaffold.record.hashes`); saved once the run is done."""
    provided: frozenset[str] = frozenset()
    """Protos an installed distribution of the config's `installed` provides: compiled against, not generated."""


def load(root: Path, *, full: bool = False, recreate: Iterable[str] = (), for_generation: bool = True) -> Inputs:
    """The inputs of the project at `root`; `full` ignores the protoc record. Without `for_generation`
    (`call`, `describe`: descriptors only) the state and the inputs' digest are not read."""
    config, table = configfile.load_with_table(root)
    hashes = Hashes(root)
    # Read as stages ask for it by the runs that regenerate (under the project's lock, but for a dry run that
    # cannot take it; a body found changed all the same is `shards.Broken`, and the run plans without it).
    record = None if full else incremental.load(root, config.generated_dir, lazy=for_generation)
    include_dirs, provided = with_installed(config)
    return Inputs(
        config=config,
        disk=Disk(root, hashes),
        protos=protoc.resolve_inputs(config.proto_files(), include_dirs, _compiled_before(record, hashes)),
        include_dirs=include_dirs,
        provided=provided,
        previous=state.read(root, hashes) if for_generation else None,
        record=record,
        table=table,
        digest=input_digest.digest(root, table, hashes) if for_generation else None,
        recreate=frozenset(recreate),
        memo=(Memo() if full else memo.load(root)) if for_generation else None,
        hashes=hashes,
    )


def with_installed(config: Config) -> tuple[tuple[Path, ...], frozenset[str]]:
    """The include roots with those of the config's `installed` distributions after them, and the protos
    those provide; a distribution not installed, or older than its floor, stops the run at its line."""
    own = config.include_dirs()
    if not config.installed:
        return own, frozenset()
    found, provided, problems = providers.resolve_installed(config.installed, own)
    if problems:
        path = config.root / CONFIG_FILE
        text = path.read_text(encoding="utf-8")
        raise ScaffoldError([configkeys.locate(path, text, "installed", problem) for problem in problems])
    roots = [shipped.root for shipped in found]
    return (*own, *dict.fromkeys(root for root in roots if root not in own)), provided


def _compiled_before(record: incremental.Record | None, hashes: Hashes) -> Callable[[Path], bool]:
    """Whether a proto file holds the bytes the protoc record says protoc compiled from it."""
    compiled = {entry.origin: entry.sha256 for entry in (record or {}).values()}

    def vouched(path: Path) -> bool:
        origin = os.path.abspath(path)
        try:
            return origin in compiled and hashes.sha256(origin) == compiled[origin]
        except OSError:
            return False

    return vouched


class NewOptions(Struct, frozen=True):
    """What `scaffold new` is asked for besides the protos (see `scaffold.api.new_project`)."""

    output: Path | None = None
    include_dirs: Sequence[Path] = ()
    name: str | None = None
    force: bool = False
    aio: bool = False
    health: bool = False
    reflection: bool = False
    tls: bool = False
    metrics: bool = False
    otel: bool = False
    web: bool = False
    validate: bool = False
    templates: Path | None = None
    format: str | None = None
    layout: str | None = None
    """None: chosen from the protos (see `Inputs.choose_layout`)."""


def for_new(protos: Sequence[Path], options: NewOptions) -> Inputs:
    """The inputs of a project `new` is about to create, checked before protoc runs."""
    if not protos:
        raise fail("scaffold new", "no proto file given")
    proto_files, include_dirs = protoc.expand_directories(protos, options.include_dirs)
    searched = [*include_dirs, *dict.fromkeys(path.parent for path in proto_files)]
    shipped = providers.installed_for(proto_files, searched)
    include_dirs = [*include_dirs, *dict.fromkeys(s.root for s in shipped if s.root not in include_dirs)]
    held = providers.holder(searched)
    provided = frozenset(p for s in shipped for p in s.protos if held(p) is None)
    proto_inputs = protoc.resolve_inputs(proto_files, include_dirs)
    name = options.name if options.name is not None else _package_from(protos[0], proto_files)  # `--name ''` is refused
    package = packagename.check_package_name(name, "--name" if options.name is not None else str(protos[0]))
    root = options.output if options.output is not None else Path(package)
    if ".." in root.parts:  # as the kernel names it: `missing/../project` is `project`, and makes no `missing/`
        root = _resolved(root) if root.is_absolute() else Path(os.path.relpath(_resolved(root)))
    _refuse_unusable_output(root)
    _refuse_output_over_inputs(root, protos, proto_files, defaulted=options.output is None)
    if options.templates is not None and not options.templates.is_dir():
        raise fail(f"--templates {options.templates}", "no such directory")
    if root.is_dir():
        lock.refuse_links(root)
    templates = options.templates
    config = Config(
        root=root,
        package=package,
        protos=tuple(str(p) for p in protos),  # replaced by what the project records, once protoc has run
        aio=options.aio,
        health=options.health,
        reflection=options.reflection,
        tls=options.tls,
        metrics=options.metrics,
        otel=options.otel,
        web=options.web,
        validate=options.validate,
        templates=os.path.relpath(templates.resolve(), root.resolve()) if templates else None,
        format=options.format,
        layout=options.layout or "single",
        installed=tuple(s.requirement for s in shipped),
    )
    roots = tuple(protoc.include_roots(proto_inputs, include_dirs))
    return Inputs(
        config=config,
        disk=Disk(root),
        protos=proto_inputs,
        include_dirs=tuple(include_dirs),
        new_from=roots,
        memo=Memo(),
        choose_layout=options.layout is None,
        provided=provided,
    )


def refuse_taken(root: Path, force: bool) -> None:
    """Refuse a directory `new` may not write into: one that holds a project, or anything at all without
    `force`. Asked with the directory's lock held, after a `new` killed half-way is rolled back (what it
    swapped in is not a project to refuse, nor kept), so a second `new` at once sees the first one's
    project whole, never a transaction of it half done."""
    journal.recover(root)
    if holds_project(root):
        raise fail(
            str(root),
            f"holds a scaffold project already; `scaffold gen -C {root}` regenerates it (nothing was written)",
        )
    if any(p.name != STATE_DIR for p in root.iterdir()) and not force:
        raise fail(str(root), "output directory is not empty; pass --force to write into it")


def descriptors(inputs: Inputs) -> descriptor_pb2.FileDescriptorSet:
    """The descriptors of the project's protos (and what they import), with comments: what `call` and
    `describe` read. Compiled incrementally, like a generation: usually without running protoc at all."""
    return run_protoc(inputs)[0].descriptors


def run_protoc(inputs: Inputs) -> tuple[ProtocResult, incremental.Record]:
    """protoc's result, incremental; or, under SCAFFOLD_REPLAY, a saved one (see `scaffold.generation.replay`)."""
    saved = replay.replayed(inputs.config.generated_dir)
    if saved is not None:
        return saved, inputs.record or incremental.Record()
    config = inputs.config
    result, record = incremental.run(
        inputs.protos, inputs.include_dirs, inputs.record, config.generated_dir, inputs.hashes, inputs.provided
    )
    if validate.ahead_open():  # in a worker while the run renders
        validate.check_ahead(_not_written_yet(result, inputs.previous))
    replay.dump(result)
    return result, record


def _not_written_yet(result: ProtocResult, previous: state.State | None) -> dict[str, bytes]:
    """The outputs protoc compiled in this run that the manifest does not have as written (all, for `new`): the
    modules the write stage will check. A `gen --full` compiles every proto, and most come out as they were."""
    written = previous.files if previous is not None else {}
    compiled = result.outputs.at_hand() if isinstance(result.outputs, Lazy) else result.outputs
    return {
        path: content
        for path, content in compiled.items()
        if (entry := written.get(path)) is None or entry.sha256 is None or entry.sha256 != result.digests.get(path)
    }


def holds_project(root: Path) -> bool:
    """A manifest, or a config with [tool.scaffold]: what a `new` killed half-way leaves (`.scaffold/txn`) is not."""
    if (root / MANIFEST).exists():
        return True
    return (root / CONFIG_FILE).is_file() and input_digest.config_table(root) is not None


def _package_from(argument: Path, proto_files: Sequence[Path]) -> str:
    """The default package: a proto file's name; for a directory, the proto package its protos share
    (`shop.a.v1` and `shop.b.v1` give `shop`), else its only proto's name, else the first one's (never the
    directory's own name: `protos/` would name the package after where protos are kept).
    `logging.proto` gives `logging_service`, since a package `logging` would hide the standard library's;
    the name is a lowercase identifier whatever the file's (`Capital.proto`: `capital`, which every ruff
    accepts as a module name; `import.proto`: `import_`)."""
    if argument.is_dir():
        below = [p for p in proto_files if p.resolve().is_relative_to(argument.resolve())]
        shared = _shared_package(below)
        name = "_".join(shared) if shared else below[0].stem
    else:
        name = argument.stem
    name = module_name(snake_case(re.sub(r"\W|[^\x00-\x7f]", "_", name)))
    if name[:1].isdigit():
        name = f"service_{name}"
    return f"{name}_service" if packagename.shadows(name) or name == PROTO_DIR else name


_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_VERSION = re.compile(r"v\d+([a-z]+\d*)?")


def _shared_package(files: Sequence[Path]) -> list[str]:
    """The leading parts of the proto package every file declares, versions (`v1`, `v1beta2`) left off."""
    packages = []
    for path in files:
        found = _PACKAGE.search(path.read_text(encoding="utf-8", errors="replace"))
        if found is None:
            return []
        packages.append(found.group(1).split("."))
    shared = list(os.path.commonprefix(packages)) if packages else []
    while shared and _VERSION.fullmatch(shared[-1]):
        shared.pop()
    return shared


def _resolved(root: Path) -> Path:
    try:
        return root.resolve()
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError for a loop of links
        raise fail(str(root), "goes through a loop of symbolic links") from None


def _refuse_unusable_output(root: Path) -> None:
    """The output directory, or the nearest of the directories it goes in that is there, said in one line
    where it cannot hold a project: a file, a link to nothing (the staged tree is not renamed over it),
    a loop of links."""
    _resolved(root)
    for path in (root, *root.parents):
        if path.is_symlink() and not path.exists():
            raise fail(str(path), f"is a symbolic link to {os.readlink(path)}, which does not exist")
        if path.exists():
            if not path.is_dir():
                raise fail(str(path), "exists and is not a directory")
            return


def _refuse_output_over_inputs(
    root: Path, arguments: Sequence[Path], proto_files: Sequence[Path], defaulted: bool
) -> None:
    """A project written where its protos are read would mix the two (and copy the protos into themselves):
    the output may be neither an input directory nor hold an input proto, with --force or without."""
    where = root.resolve()
    inside = [p for p in proto_files if p.resolve().is_relative_to(where)]  # once: not per argument (100 x 100)
    for argument in arguments:
        resolved = argument.resolve()
        if (argument.is_dir() and where == resolved) or resolved.is_relative_to(where) or inside:
            held = argument if argument.is_dir() else (inside[0] if inside else argument)
            why = "the default output" if defaulted else "the output directory"
            raise fail(
                str(root), f"{why} holds the protos being read ({held}); write the project elsewhere with -o DIR"
            )
