"""The library API: what the CLI commands do, callable from tests and other tools.

Every command runs the one pipeline (`scaffold.generation.pipeline`: inputs -> plan)
and differs only in what it does with the plan: `new_project` creates the
tree, `regenerate` applies the plan (or, as `diff` and `check` use it, only
returns it). Each returns a report or raises `ScaffoldError` with located
diagnostics before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from msgspec import Struct

from scaffold.core import collection, seams
from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.core.progress import ProgressCallback
from scaffold.generation import gone, incremental, pipeline, project, stamps
from scaffold.generation.config import Config
from scaffold.generation.inputs import builtin_templates
from scaffold.generation.plan import FilePlan, Plan
from scaffold.generation.reconcile import Changes
from scaffold.layout import CACHE_DIR, CONFIG_FILE, LOCK_FILE, MANIFEST, STATE_DIR
from scaffold.record import cache, journal, lock, memo, shards, state, swap, validate, write, written


class NewReport(Struct, frozen=True):
    root: Path
    config: Config
    paths: tuple[str, ...]
    warnings: tuple[Diagnostic, ...]
    left: tuple[FilePlan, ...] = ()
    """Files of the user's that `new --force` found at its paths and did not replace."""

    @property
    def files(self) -> int:
        return len(self.paths)


class GenReport(Struct, frozen=True):
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
    *,
    output: Path | None = None,
    include_dirs: Sequence[Path] = (),
    name: str | None = None,
    force: bool = False,
    aio: bool = False,
    health: bool = False,
    reflection: bool = False,
    tls: bool = False,
    metrics: bool = False,
    otel: bool = False,
    web: bool = False,
    validate: bool = False,
    templates: Path | None = None,
    format: str | None = None,
    layout: str | None = None,
    progress: ProgressCallback | None = None,
) -> NewReport:
    """Create a runnable project for `protos` in `output` (default: a directory named after it).

    The protos, and every proto they import that the protobuf runtime does not
    ship, are copied under the project's `protos/`, so the project regenerates
    from its own files alone. Into a directory that exists (`force`), a file
    of the user's at a path scaffold writes keeps every line: a module gets
    what it lacks of the render (`scaffold.generation.adopt`), another file is
    kept as it is (at a generated path: beside it as `.mine`); a different
    config or proto copy stops `new` with nothing written.
    """
    options = project.NewOptions(
        output=output,
        include_dirs=include_dirs,
        name=name,
        force=force,
        aio=aio,
        health=health,
        reflection=reflection,
        tls=tls,
        metrics=metrics,
        otel=otel,
        web=web,
        validate=validate,
        templates=templates,
        format=format,
        layout=layout,
    )
    return create_project(protos, options, progress)


@collection.fewer_collections()
def create_project(
    protos: Sequence[Path], options: project.NewOptions, progress: ProgressCallback | None = None
) -> NewReport:
    """`new_project`, with its options as one value (what the CLI reads into)."""
    inputs = project.for_new(protos, options)
    root = inputs.config.root
    existed = root.is_dir()
    with _into(root, existed, options.force), validate.ahead_of_writing():
        outcome = pipeline.plan(inputs, protos)
        files = dict(outcome.plan.writes)
        copies = outcome.copies
        taken = [path for path, content in sorted(copies.items()) if inputs.disk.read(path) not in (None, content)]
        taken += [f.path for f in outcome.plan.files if f.path == CONFIG_FILE and f.action == "kept"]
        if taken:  # the config and the protos' copies cannot be kept aside like the user's other files
            message = "exists with other content; scaffold new needs this path (nothing was written)"
            raise ScaffoldError([Diagnostic(str(root / path), message) for path in taken])
        copies = {path: content for path, content in copies.items() if inputs.disk.read(path) is None}

        def settle() -> None:
            """The caches, under the lock still (a run that finds the project waits for them). Quiet: the
            project is written, and a cache that cannot be (a full disk) only costs the next run time."""
            with contextlib.suppress(OSError):
                incremental.save(root, outcome.record, outcome.result.placed_in)
                if inputs.memo is not None:
                    memo.save(root, inputs.memo)
                written.remember(root, outcome.plan.state[MANIFEST])
                stamps.after_writing(root)  # the first edit's `gen` then skips the content check

        if existed:
            try:
                write.apply(root, files | copies, outcome.plan.expected | dict.fromkeys(copies), progress=progress)
            except swap.Changed as changed:  # rolled back: a save landed in the directory while `new` wrote
                raise fail(str(root / changed.path), "changed while scaffold new wrote; nothing was written") from None
            settle()
        else:
            created = {path: content for path, content in files.items() if content is not None} | copies
            write.create_tree(root, created, progress, settle)
    left = tuple(f for f in outcome.plan.files if f.note)
    return NewReport(root, outcome.config, tuple(sorted(files | copies)), outcome.result.warnings, left)


@contextlib.contextmanager
def _into(root: Path, existed: bool, force: bool) -> Iterator[None]:
    """`new`'s hold on its directory. One that did not exist needs none here: the project appears by one
    rename, with the lock its tree was staged under (`write.create_tree`), and a second run's rename is
    refused. In one that did, the project's lock, as `gen` takes it, so that a second `new` at once never
    takes this one's transaction for a dead run's and rolls it back; a run that fails there, leaving no
    project, takes the lock's files away again."""
    if not existed:
        yield
        return
    for part in (root / STATE_DIR, root / CACHE_DIR):  # the lock would take it for a cache gone wrong
        if part.exists() and not part.is_dir() and not project.holds_project(root):
            raise fail(str(part), "is a file where scaffold keeps its record; nothing was written")
    with contextlib.ExitStack() as holding:
        try:
            holding.enter_context(lock.held(root))
        except ScaffoldError:
            if os.access(root, os.W_OK) or (root / LOCK_FILE).exists():  # a lock held, or a file of its own
                raise
            raise fail(str(root), "is not writable; nothing was written") from None  # not the lock's file
        try:
            project.refuse_taken(root, force)
            yield
        except BaseException:
            if not project.holds_project(root):  # rolled back, or refused: the lock's files go as they came
                lock.released(root)
            raise


def export_templates(target: Path, force: bool = False) -> list[str]:
    """Copy the built-in templates to `target` to start a set of your own; the files copied."""
    source = builtin_templates()
    if target.exists() and any(target.iterdir()) and not force:
        raise fail(str(target), "directory is not empty; pass --force to write into it")
    copied = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)
        copied.append(relative.as_posix())
    return copied


_ATTEMPTS = 3  # plans in a row that a save may overtake before a run gives up


@collection.fewer_collections()
def regenerate(
    root: Path,
    *,
    dry_run: bool = False,
    recreate: Iterable[str] = (),
    progress: ProgressCallback | None = None,
    full: bool = False,
    stamp: bool = True,
) -> GenReport:
    """Regenerate the project at `root` from its config; with `dry_run`, only plan.

    Generated files are rewritten (a hand-edited one is kept beside it as
    `.mine`); user files get a 3-way merge; a conflict is written with
    markers and reported with exit code 1. protoc runs only for the protos
    that changed and those that can see them (`scaffold.generation.incremental`);
    `full` runs it for every proto. A run that wrote leaves a stamp of its
    inputs for the next `gen`'s no-op check (`scaffold.generation.stamps`);
    `stamp=False` (`watch`, which never asks it) does not. The run holds the
    project's lock (`scaffold.record.lock`); a file saved while it writes makes
    it plan again from the saved file, so the save is merged, never overwritten.
    """
    started = time.perf_counter()
    recreate = [_in_project(root, path) for path in recreate]
    with (
        lock.held(root, required=not dry_run),
        validate.ahead_of_writing() if not dry_run else contextlib.nullcontext(),
    ):
        restored: journal.Restored = []
        recovered = () if dry_run else journal.recover(root, restored)
        if recovered and not project.holds_project(root):  # what was rolled back was a `new`: no project
            lock.released(root)  # nor its lock (a `new` into a directory that existed took it)
            raise fail(str(root), "rolled back a `scaffold new` that was interrupted; run that `scaffold new` again")
        if not dry_run and not (root / CONFIG_FILE).exists() and not (root / MANIFEST).exists():
            lock.released(root)  # a `new` into it failed while this run waited: the directory stays as it was
            raise fail(str(root), "holds no project any more (a `scaffold new` into it failed meanwhile)")
        for _ in range(_ATTEMPTS):
            inputs = project.load(root, full=full, recreate=recreate)
            if restored and _record_rolled_back_reads(root, inputs, restored):
                inputs = project.load(root, full=full, recreate=recreate)
            restored = []
            try:
                outcome = pipeline.plan(inputs)
            except shards.Broken:  # protoc's record, read as the plan asked, broke under it: planned without it
                full = True
                inputs = project.load(root, full=full, recreate=recreate)
                outcome = pipeline.plan(inputs)
            _check_recreated(recreate, outcome.plan)
            changes = outcome.plan.writes
            try:
                if changes and not dry_run:
                    seams.at(seams.PLANNED)
                    merged = [f.path for f in outcome.plan.files if f.action in ("merge", "conflict")]
                    users = [f.path for f in outcome.plan.files if f.owner == "user" and f.writes]
                    write.apply(
                        root,
                        changes,
                        outcome.plan.expected,
                        merged,
                        progress,
                        undo=True,
                        users=users,
                        first=outcome.plan.arrivals,
                    )
            except swap.Changed as changed:
                overtaken = changed.path
                continue
            if not dry_run and outcome.record != inputs.record:
                incremental.save(root, outcome.record, outcome.result.placed_in)
            inputs.hashes.save()  # a cache (`scaffold.record.hashes`): `check` and `diff` keep what they hashed too
            if not dry_run and inputs.memo is not None:
                memo.save(root, inputs.memo)
            if not dry_run:  # the manifest on disk is this one now: its lines can be written again as they are
                written.remember(root, outcome.plan.state[MANIFEST])
            if changes and not dry_run and stamp:  # the next gen then sees a resized proto without hashing
                stamps.after_writing(root)
            if changes and not dry_run:
                cache.sweep(root)  # what killed runs' cache writes left
            return GenReport(
                root=root,
                plan=outcome.plan,
                changes=outcome.changes,
                warnings=outcome.result.warnings,
                up_to_date=not changes,
                written=bool(changes) and not dry_run,
                recovered=recovered,
                seconds=time.perf_counter() - started,
                compiled=outcome.result.compiled,
                protos=len(outcome.result.generated_names),
            )
    message = f"changed while scaffold was writing, {_ATTEMPTS} times in a row; nothing was written: run it again"
    raise fail(str(root / overtaken), message)


def _in_project(root: Path, path: str) -> str:
    """A `--recreate` path as the plan names files (relative to the project, `/`-separated); one
    outside the project is refused before anything runs."""
    given = Path(path)
    if given.is_absolute():
        try:
            given = given.resolve().relative_to(root.resolve())
        except ValueError:
            raise fail(f"--recreate {path}", "outside the project: name a file scaffold writes in it") from None
    relative = posixpath.normpath(given.as_posix())
    if relative == ".." or relative.startswith("../") or relative == ".":
        raise fail(f"--recreate {path}", "outside the project: name a file scaffold writes in it")
    return relative


def _record_rolled_back_reads(root: Path, inputs: project.Inputs, restored: journal.Restored) -> bool:
    """Record as taken away what the rollback took out of the modules that the user's kept files read
    (`scaffold.generation.gone.rolled_back`): an abort of the runs after this one brings that record back too."""
    config = inputs.config
    skip = config.generated_dir + "/"
    files = [
        p
        for top in (config.package, "tests")
        for p in inputs.disk.files_under(top)
        if p.endswith(".py") and not p.startswith(skip)
    ]
    named = gone.rolled_back(restored, files, inputs.disk.read, config.generated_dir)
    if named and inputs.previous is not None:
        state.add_gone(root, named)
    return bool(named)


def _check_recreated(recreate: Iterable[str], plan: Plan) -> None:
    """Every `--recreate` path must be a file scaffold writes: a typo would otherwise pass in silence."""
    written = {f.path for f in plan.files}
    for path in recreate:
        if path not in written:
            raise fail(f"--recreate {path}", "scaffold writes no such file in the project")


def abort_last_run(root: Path) -> list[str]:
    """Put back what the last `regenerate` that wrote changed (`scaffold gen --abort`); the paths.

    For a regeneration the user does not want (a conflict they would rather
    not resolve now): every file it changed, scaffold's record included,
    goes back to what it held before, as one transaction, provided nothing
    was edited since (`write.undo_last`).
    """
    with lock.held(root, required=True):
        journal.recover(root)
        return write.undo_last(root)
