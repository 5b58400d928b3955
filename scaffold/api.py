"""The library API: what the CLI commands do, callable from tests and other tools.

Each function runs the pipeline (config -> protoc -> model -> reconcile ->
render -> plan -> write) and either returns a report or raises
`ScaffoldError` with located diagnostics before anything is written.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scaffold import config as config_module
from scaffold import incremental, lock, protoc, seams, state, write
from scaffold import inputs as input_digest
from scaffold import plan as plan_module
from scaffold.config import Config, check_package_name
from scaffold.errors import EXIT_NEEDS_USER, Diagnostic, ScaffoldError
from scaffold.generate import Generation, build_project, generate
from scaffold.inputs import builtin_templates
from scaffold.merge import conflict_lines
from scaffold.model import Rpc, Service, restrict
from scaffold.plan import FilePlan, Plan, read_file
from scaffold.progress import ProgressCallback
from scaffold.reconcile import Changes, methods_of, reconcile, without_methods
from scaffold.render import Renderer

PROTO_DIR = "protos"
CONFIG_FILE = config_module.CONFIG_FILE


@dataclass(frozen=True)
class NewReport:
    root: Path
    config: Config
    paths: tuple[str, ...]
    warnings: tuple[Diagnostic, ...]
    left: tuple[FilePlan, ...] = ()
    """Files of the user's that `new --force` found at its paths and did not replace."""

    @property
    def files(self) -> int:
        return len(self.paths)


@dataclass(frozen=True)
class GenReport:
    root: Path
    plan: Plan
    changes: Changes
    warnings: tuple[Diagnostic, ...]
    up_to_date: bool
    """Nothing to write: decided before writing, so it also holds for a run that wrote."""
    written: bool
    recovered: tuple[Diagnostic, ...]
    """What rolling back an interrupted run did (empty: there was none)."""
    seconds: float
    compiled: tuple[str, ...]
    """The protos protoc generated; the others' outputs came from the previous run's record."""
    protos: int
    """How many protos the project's modules are generated from."""


def new_project(
    protos: Sequence[Path],
    output: Path | None = None,
    include_dirs: Sequence[Path] = (),
    name: str | None = None,
    force: bool = False,
    aio: bool = False,
    health: bool = False,
    reflection: bool = False,
    templates: Path | None = None,
    format: str | None = None,
    progress: ProgressCallback | None = None,
) -> NewReport:
    """Create a runnable project for `protos` in `output` (default: a directory named after it).

    The protos, and every proto they import that the protobuf runtime does not
    ship, are copied under the project's `protos/`, so the project regenerates
    from its own files alone.
    """
    if not protos:
        raise ScaffoldError([Diagnostic("scaffold new", "no proto file given")])
    proto_files, include_dirs = protoc.expand_directories(protos, include_dirs)
    inputs = protoc.resolve_inputs(proto_files, include_dirs)
    package = check_package_name(name or _package_from(protos[0]), "--name" if name else str(protos[0]))
    root = output if output is not None else Path(package)
    if root.exists() and not root.is_dir():
        raise ScaffoldError([Diagnostic(str(root), "exists and is not a directory")])
    if templates is not None and not templates.is_dir():
        raise ScaffoldError([Diagnostic(f"--templates {templates}", "no such directory")])
    if root.is_dir() and _holds_project(root):
        message = f"holds a scaffold project already; `scaffold gen -C {root}` regenerates it (nothing was written)"
        raise ScaffoldError([Diagnostic(str(root), message)])
    if root.is_dir() and any(root.iterdir()) and not force:
        raise ScaffoldError([Diagnostic(str(root), "output directory is not empty; pass --force to write into it")])

    result = protoc.run(inputs, include_dirs)
    protos_in_project = _recorded_protos(protos, inputs, include_dirs, result.generated_names)
    config = Config(
        root=root,
        package=package,
        protos=protos_in_project,
        aio=aio,
        health=health,
        reflection=reflection,
        templates=os.path.relpath(templates.resolve(), root.resolve()) if templates else None,
        format=format,
    )
    generation = generate(config, result, Renderer.with_overrides(config.template_dir()))
    roots = protoc.include_roots(inputs, include_dirs)
    copies = {f"{PROTO_DIR}/{name}": _find_source(name, roots).read_bytes() for name in result.generated_names}
    files = {path: f.content for path, f in generation.files.items()} | copies
    table = input_digest.table_of(files[CONFIG_FILE].decode())
    digest = input_digest.digest_of(table, copies.items(), config.template_dir()) if table is not None else None
    left: tuple[FilePlan, ...] = ()
    if root.exists():  # no lock: nothing can run here before it is a project, and a failed `new` leaves nothing
        left = _write_into(root, generation, copies, digest, progress)
    else:
        files |= generation.state_files(digest)
        write.create_tree(root, files, progress)
    # Recorded as the project's copies, which its next `gen` compiles; the runtime's protos where protoc has them.
    sources = {
        f.name: incremental.source(root / PROTO_DIR / f.name, copies[f"{PROTO_DIR}/{f.name}"])
        if f"{PROTO_DIR}/{f.name}" in copies
        else incremental.find_source(f.name, (protoc.WELL_KNOWN_INCLUDE,))
        for f in result.descriptors.file
    }
    incremental.save(root, incremental.record_of(result, sources))
    return NewReport(root, config, tuple(sorted(files)), result.warnings, left)


def _recorded_protos(
    arguments: Sequence[Path], inputs: Sequence[protoc.ProtoInput], roots: Sequence[Path], copied: Iterable[str]
) -> tuple[str, ...]:
    """`protos` of the new config: a directory argument is recorded as the directory (a proto added there
    later is an input of the next `gen`), unless a copied import would land in it and become an input too."""
    recorded: list[str] = []
    inputs_below: set[str] = set()
    for argument in arguments:
        if not argument.is_dir():
            continue
        below = [item.name for item in inputs if item.path.resolve().is_relative_to(argument.resolve())]
        root = next(r.resolve() for r in roots if argument.resolve().is_relative_to(r.resolve()))
        relative = argument.resolve().relative_to(root).as_posix()
        directory = PROTO_DIR if relative == "." else f"{PROTO_DIR}/{relative}"
        imported = [name for name in copied if name not in below and f"{PROTO_DIR}/{name}".startswith(directory + "/")]
        if below and not imported:
            recorded.append(directory)
            inputs_below.update(below)
    recorded += [f"{PROTO_DIR}/{item.name}" for item in inputs if item.name not in inputs_below]
    return tuple(dict.fromkeys(recorded))


def _holds_project(root: Path) -> bool:
    config = root / CONFIG_FILE
    if (root / state.STATE_DIR).exists():
        return True
    return config.is_file() and input_digest.config_table(root) is not None


def _write_into(
    root: Path,
    generation: Generation,
    copies: dict[str, bytes],
    digest: str | None,
    progress: ProgressCallback | None,
) -> tuple[FilePlan, ...]:
    """`new --force` into a directory with files of its own: none of them is replaced.

    A file of the user's at a path scaffold would write is kept as it is
    (and, being unknown to scaffold, is merged into only once the user takes
    scaffold's version); a file at a generated path is kept beside it as
    `.mine`. The config and the protos' copies cannot be kept aside: a
    different file at either path stops `new` with nothing written.
    """
    clashes = [
        Diagnostic(str(root / path), "exists with other content; scaffold new needs this path (nothing was written)")
        for path, content in sorted({CONFIG_FILE: generation.files[CONFIG_FILE].content, **copies}.items())
        if read_file(root / path) not in (None, content)
    ]
    if clashes:
        raise ScaffoldError(clashes)
    plan = plan_module.build(
        root,
        generation.files,
        None,
        lambda recorded, settled: generation.state_files(digest if settled else None, recorded),
    )
    changes, expected = plan.transaction(root)
    for path, content in copies.items():
        if read_file(root / path) is None:
            changes[path], expected[path] = content, None
    write.apply(root, changes, expected, progress=progress)
    return tuple(f for f in plan.files if f.note)


def export_templates(target: Path, force: bool = False) -> list[str]:
    """Copy the built-in templates to `target` to start a set of your own; the files copied."""
    source = builtin_templates()
    if target.exists() and any(target.iterdir()) and not force:
        raise ScaffoldError([Diagnostic(str(target), "directory is not empty; pass --force to write into it")])
    copied = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)
        copied.append(relative.as_posix())
    return copied


def find_project(start: Path) -> Path:
    """The nearest directory from `start` upward whose pyproject.toml has a [tool.scaffold] table."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / config_module.CONFIG_FILE
        if candidate.is_file() and "[tool.scaffold]" in candidate.read_text(encoding="utf-8", errors="replace"):
            return directory
    raise ScaffoldError(
        [Diagnostic(str(start), "no pyproject.toml with [tool.scaffold] here or above; run `scaffold new`")]
    )


_ATTEMPTS = 3  # plans in a row that a save may overtake before a run gives up


def regenerate(
    root: Path,
    dry_run: bool = False,
    recreate: Iterable[str] = (),
    progress: ProgressCallback | None = None,
    full: bool = False,
) -> GenReport:
    """Regenerate the project at `root` from its config; with `dry_run`, only plan.

    Generated files are rewritten (a hand-edited one is kept beside it as
    `.mine`); user files get a 3-way merge; a conflict is written with
    markers and reported with exit code 1. protoc runs only for the protos
    that changed and those that can see them (`scaffold.incremental`);
    `full` runs it for every proto. The run holds the project's lock
    (`scaffold.lock`); a file saved while it writes makes it plan again from
    the saved file, so the save is merged, never overwritten.
    """
    started = time.perf_counter()
    with lock.held(root, required=not dry_run):
        recovered = () if dry_run else write.recover(root)
        for _ in range(_ATTEMPTS):
            try:
                report = _regenerate_once(root, dry_run, frozenset(recreate), progress, full)
            except write.Changed as changed:
                overtaken = changed.path
                continue
            return dataclasses.replace(report, recovered=recovered, seconds=time.perf_counter() - started)
    message = f"changed while scaffold was writing, {_ATTEMPTS} times in a row; nothing was written: run it again"
    raise ScaffoldError([Diagnostic(str(root / overtaken), message)])


def _regenerate_once(
    root: Path, dry_run: bool, recreate: frozenset[str], progress: ProgressCallback | None, full: bool
) -> GenReport:
    config = config_module.load(root)
    table = input_digest.config_table(root)
    digest = input_digest.digest(root, table) if table is not None else None
    previous = state.read(root)
    _refuse_unresolved_conflicts(root, previous)
    proto_inputs = protoc.resolve_inputs(config.proto_files(), config.include_dirs())
    previous_record = None if full else incremental.load(root)
    result, record = incremental.run(proto_inputs, config.include_dirs(), previous_record)
    project = build_project(config, result)
    servicer_path = f"{config.package}/servicer.py"
    ours = read_file(root / servicer_path)
    renderer = Renderer.with_overrides(config.template_dir())
    view, changes = reconcile(
        previous.rpcs if previous else state.rpc_summary(project.services),
        previous.servicer if previous else project.services,
        project.services,
        ours,
        previous.base.get(servicer_path) if previous else None,
        config.aio,
    )
    reshaped = {item.route for item in changes.reshaped if item.kept}
    pending = [
        dataclasses.replace(s, rpcs=tuple(r for r in s.rpcs if f"{s.full_name}/{r.name}" in reshaped))
        for s in project.services
        if any(f"{s.full_name}/{r.name}" in reshaped for r in s.rpcs)
    ]
    generation = generate(config, result, renderer, project, view, pending)
    bases = merge_bases(root, previous, generation, ours, lambda keep: _restricted(config, result, renderer, keep))
    plan = plan_module.build(
        root,
        generation.files,
        previous,
        lambda recorded, settled: generation.state_files(digest if settled else None, recorded),
        recreate,
        _with_readded_stubs(bases, servicer_path, project.services, changes, ours),
    )
    changes_to_write, expected = plan.transaction(root)
    if changes_to_write and not dry_run:
        seams.at(seams.PLANNED)
        merged = [f.path for f in plan.files if f.action in ("merge", "conflict")]
        write.apply(root, changes_to_write, expected, users_text=merged, progress=progress)
    if not dry_run and record != previous_record:
        incremental.save(root, record)
    return GenReport(
        root=root,
        plan=plan,
        changes=changes,
        warnings=result.warnings,
        up_to_date=not changes_to_write,
        written=bool(changes_to_write) and not dry_run,
        recovered=(),
        seconds=0.0,
        compiled=result.compiled,
        protos=len(result.generated_names),
    )


def merge_bases(
    root: Path,
    previous: state.State | None,
    generation: Generation,
    servicer: bytes | None,
    render_with: Callable[[Callable[[Service, Rpc], bool]], Generation],
) -> dict[str, bytes]:
    """The merge base of every user file, recorded or, where it was lost, rebuilt.

    A user file on disk without a recorded base (`.scaffold/` deleted, not
    committed, or made by an older run) cannot be merged into, and keeping it
    as it is would never give it the stubs of new RPCs. Its base is rebuilt
    as the render of the RPCs it already knows: those of the last run's protos
    where the manifest has them, else those the user's servicer implements.
    The merge then adds exactly what is new; where the guess is wrong it
    conflicts, and the user sees both sides: nothing is lost either way.
    """
    bases = dict(previous.base) if previous else {}
    lost = [
        path
        for path, output in generation.files.items()
        if output.owner == "user" and path not in bases and (root / path).is_file()
    ]
    if not lost:
        return bases
    if previous is not None and previous.rpcs:
        known = {(service, rpc) for service, rpcs in previous.rpcs.items() for rpc in rpcs}
    else:
        methods = methods_of(servicer)
        known = {
            (service.full_name, rpc.name)
            for service in generation.project.services
            for rpc in service.rpcs
            if (service.class_name, rpc.name) in methods
        }
    rebuilt = render_with(lambda service, rpc: (service.full_name, rpc.name) in known).files
    return bases | {path: rebuilt[path].content for path in lost if path in rebuilt}


def _restricted(
    config: Config, result: protoc.ProtocResult, renderer: Renderer, keep: Callable[[Service, Rpc], bool]
) -> Generation:
    project = restrict(build_project(config, result), keep)
    return generate(config, result, renderer, project, project.services)


def _with_readded_stubs(
    bases: dict[str, bytes], servicer_path: str, services: Sequence[Service], changes: Changes, ours: bytes | None
) -> dict[str, bytes]:
    """The servicer's base without the stubs of RPCs added back after the user deleted their orphan.

    The recorded base still shows such a stub (it was the orphan's), so the
    merge would read its absence from the user's file as a wish to keep it
    out; the RPC is new again and gets its stub like any other.
    """
    base = bases.get(servicer_path)
    if base is None or not changes.added:
        return bases
    added = set(changes.added)
    present = methods_of(ours)
    doomed = {
        (service.class_name, rpc.name)
        for service in services
        for rpc in service.rpcs
        if f"{service.full_name}/{rpc.name}" in added and (service.class_name, rpc.name) not in present
    }
    return bases | {servicer_path: without_methods(base, doomed)} if doomed else bases


def _refuse_unresolved_conflicts(root: Path, previous: state.State | None) -> None:
    problems = []
    for path, record in sorted(previous.files.items() if previous else ()):
        content = read_file(root / path) if record.owner == "user" else None
        for line in conflict_lines(content) if content else ():
            message = "unresolved conflict marker; resolve it, then run scaffold gen"
            problems.append(Diagnostic(str(root / path), message, line, 1))
    if problems:
        raise ScaffoldError(problems, exit_code=EXIT_NEEDS_USER)


def _package_from(argument: Path) -> str:
    """The default package: a proto file's name, or a directory's name; `logging.proto` gives
    `logging_service`, since a package `logging` would hide the standard library's."""
    name = argument.resolve().name if argument.is_dir() else argument.stem
    name = name.replace("-", "_").replace(".", "_")
    return f"{name}_service" if config_module.shadows(name) else name


def _find_source(name: str, roots: Sequence[Path]) -> Path:
    """The file protoc read for `name`: the first include root that has it, as protoc searches."""
    for root in roots:
        if (root / name).is_file():
            return root / name
    raise AssertionError(f"protoc compiled {name} but it is under no include root")
