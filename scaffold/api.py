"""The library API: what the CLI commands do, callable from tests and other tools.

Each function runs the pipeline (config -> protoc -> model -> reconcile ->
render -> plan -> write) and either returns a report or raises
`ScaffoldError` with located diagnostics before anything is written.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scaffold import config as config_module
from scaffold import incremental, protoc, state, write
from scaffold import inputs as input_digest
from scaffold import plan as plan_module
from scaffold.config import Config, check_package_name
from scaffold.errors import EXIT_NEEDS_USER, Diagnostic, ScaffoldError
from scaffold.generate import build_project, generate
from scaffold.inputs import builtin_templates
from scaffold.merge import conflict_lines
from scaffold.plan import Plan, read_file
from scaffold.progress import ProgressCallback
from scaffold.reconcile import Changes, reconcile
from scaffold.render import Renderer

PROTO_DIR = "protos"
CONFIG_FILE = config_module.CONFIG_FILE


@dataclass(frozen=True)
class NewReport:
    root: Path
    config: Config
    paths: tuple[str, ...]
    warnings: tuple[Diagnostic, ...]

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
    recovered: bool
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
    if root.is_dir() and any(root.iterdir()) and not force:
        raise ScaffoldError([Diagnostic(str(root), "output directory is not empty; pass --force to write into it")])

    result = protoc.run(inputs, include_dirs)
    protos_in_project = tuple(f"{PROTO_DIR}/{item.name}" for item in inputs)
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
    files |= generation.state_files(digest)
    if root.exists():
        write.apply(root, files, progress=progress)
    else:
        write.create_tree(root, files, progress)
    # Recorded as the project's copies, which its next `gen` compiles; the runtime's protos where protoc has them.
    sources = {
        f.name: incremental.source(root / PROTO_DIR / f.name, copies[f"{PROTO_DIR}/{f.name}"])
        if f"{PROTO_DIR}/{f.name}" in copies
        else incremental.find_source(f.name, (protoc.WELL_KNOWN_INCLUDE,))
        for f in result.descriptors.file
    }
    incremental.save(root, incremental.record_of(result, sources))
    return NewReport(root, config, tuple(sorted(files)), result.warnings)


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
    `full` runs it for every proto.
    """
    started = time.perf_counter()
    recovered = False if dry_run else write.recover(root)
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
    view, changes = reconcile(
        previous.rpcs if previous else state.rpc_summary(project.services),
        previous.servicer if previous else project.services,
        project.services,
        read_file(root / servicer_path),
        previous.base.get(servicer_path) if previous else None,
    )
    generation = generate(config, result, Renderer.with_overrides(config.template_dir()), project, view)
    plan = plan_module.build(root, generation.files, previous, generation.state_files(digest), frozenset(recreate))
    changes_to_write = plan.writes(root)
    if changes_to_write and not dry_run:
        merged = [f.path for f in plan.files if f.action in ("merge", "conflict")]
        write.apply(root, changes_to_write, users_text=merged, progress=progress)
    if not dry_run and record != previous_record:
        incremental.save(root, record)
    return GenReport(
        root=root,
        plan=plan,
        changes=changes,
        warnings=result.warnings,
        up_to_date=not changes_to_write,
        written=bool(changes_to_write) and not dry_run,
        recovered=recovered,
        seconds=time.perf_counter() - started,
        compiled=result.compiled,
        protos=len(result.generated_names),
    )


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
    """The default package: a proto file's name, or a directory's name."""
    name = argument.resolve().name if argument.is_dir() else argument.stem
    return name.replace("-", "_").replace(".", "_")


def _find_source(name: str, roots: Sequence[Path]) -> Path:
    """The file protoc read for `name`: the first include root that has it, as protoc searches."""
    for root in roots:
        if (root / name).is_file():
            return root / name
    raise AssertionError(f"protoc compiled {name} but it is under no include root")
