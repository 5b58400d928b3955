"""One pipeline for every command: `Inputs` -> `plan()` -> `Outcome`.

`Inputs` (`scaffold.generation.project`) is everything a generation reads, read once,
from one of two loaders: `load` (a project on disk, for gen, diff, check,
watch) and `for_new` (the arguments of `new`). `plan` runs protoc
(incremental) -> describe -> reconcile -> render -> classify and writes
nothing. The commands differ only in what they do with the outcome
(`scaffold.api`): create the tree, apply the plan, show it, or judge it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from msgspec import Struct, structs

from scaffold.core.errors import EXIT_NEEDS_USER, Diagnostic, ScaffoldError
from scaffold.core.model import Project, Rpc, Service, restrict, whole_of
from scaffold.core.parts import too_large
from scaffold.generation import clash, gone, incremental, mergechecks, protoc, relayout, splitcheck
from scaffold.generation import inputs as input_digest
from scaffold.generation import plan as plan_module
from scaffold.generation.config import Config
from scaffold.generation.generate import (
    Generation,
    OutputFile,
    build_project,
    generate,
    servicer_modules,
    user_project,
)
from scaffold.generation.merge import conflict_lines
from scaffold.generation.plan import Plan
from scaffold.generation.project import Inputs, run_protoc
from scaffold.generation.protocresult import ProtocResult, ProtoInput
from scaffold.generation.reconcile import CLASS, Changes, Module, dropped, methods_of, reconcile, without_methods
from scaffold.generation.rehome import places, rehome_modules, shared_package
from scaffold.generation.render import Renderer
from scaffold.layout import CONFIG_FILE, PROTO_DIR
from scaffold.record import state, written
from scaffold.record.bases import layered, sha256_of
from scaffold.record.disk import Disk
from scaffold.record.memo import Memo


class Outcome(Struct, frozen=True):
    plan: Plan
    changes: Changes
    result: ProtocResult
    record: incremental.Record
    copies: dict[str, bytes]
    """For `new`: the protos to copy into the project (written only where no such file is yet)."""
    config: Config
    """The config the plan was made with (for `new`: with the `protos` it records)."""


def plan(inputs: Inputs, arguments: Sequence[Path] = ()) -> Outcome:
    """protoc -> describe -> reconcile -> render -> classify; writes nothing.

    `arguments` are `new`'s proto arguments, from which it records `protos`.
    """
    config, disk, previous = inputs.config, inputs.disk, inputs.previous
    _refuse_unresolved_conflicts(disk, previous)
    result, record = run_protoc(inputs)
    unchecked, result = (
        result,
        clash.checked(result, config.root, config.proto_paths, inputs.new_from, inputs.memo, inputs.hashes),
    )
    copies: dict[str, bytes] = {}
    if inputs.new_from:
        copies = {f"{PROTO_DIR}/{n}": _find_source(n, inputs.new_from).read_bytes() for n in result.generated_names}
        recorded = _recorded_protos(arguments, inputs.protos, inputs.include_dirs, result.generated_names)
        config = dataclasses.replace(config, protos=recorded)
        record = _record_of_copies(config.root, result, copies)
    project = build_project(config, result, inputs.memo)
    if inputs.choose_layout and len(project.services) > 1:
        config = dataclasses.replace(config, layout="per-service")
    if inputs.new_from and config.layout == "per-service" and not config.root_package:
        config = dataclasses.replace(config, root_package=shared_package(project.services))
    if inputs.new_from and config.layout == "per-service" and not config.split_services:
        config = dataclasses.replace(config, split_services=too_large(project.services))
    splitcheck.refuse_a_change_of_parts(config, previous, project.services, disk)
    renderer = Renderer.with_overrides(config.template_dir())
    user = user_project(config, project)  # the services as the user's modules show them (split in parts)
    if previous is None and not inputs.new_from:
        relayout.refuse_stranded(disk, config.package, config.layout, user.services, config.root_package)
    if previous:
        before = servicer_modules(config.package, previous.layout, previous.servicer, previous.root_package)
    else:
        before = servicer_modules(config.package, config.layout, user.services, config.root_package)
    bases_before: Mapping[str, bytes] = previous.base if previous else {}
    sources = {
        path: (
            Module(disk.sha256(path), functools.partial(disk.read, path)),
            Module(sha256_of(bases_before, path), functools.partial(bases_before.get, path)),
        )
        for path in before
    }
    coming = servicer_modules(config.package, config.layout, user.services, config.root_package)
    homes = {s.full_name: path for modules in (coming, before) for path, shown in modules.items() for s in shown}
    restricted = _restrict_with(config, result, renderer, inputs.memo)
    lines = written.lines_of(config.root, previous.text, previous.files, previous.servicer) if previous else None
    previous_view = previous.servicer if previous else user.services
    previous_rpcs = previous.rpcs if previous else state.rpc_summary(user.services)
    if previous is not None and previous.layout == config.layout == "per-service":  # split as now (`splitcheck`)
        previous_view, previous_rpcs = splitcheck.as_now(previous.servicer, previous.rpcs, config.split_services)

    def classify(
        keep: frozenset[tuple[str, str]],
        release: frozenset[tuple[str, str]] = frozenset(),
        spent: frozenset[str] = frozenset(),
    ) -> tuple[
        Plan, Changes, frozenset[tuple[str, str]], frozenset[tuple[str, str]], dict[str, frozenset[tuple[str, str]]]
    ]:
        """reconcile -> render -> classify; with what the merge keeps of the code reconcile dropped, the
        classes reconcile kept that the merge leaves as rendered, and the modules whose classes the merge
        kept that came out as rendered (`spent`: planned as removed once those classes are released)."""
        view, changes = reconcile(
            previous_rpcs,
            previous_view,
            user.services,
            sources,
            homes,
            previous is not None and previous.layout != config.layout,
            config.aio,
            inputs.memo,
            keep,
            release,
        )
        if config.layout == "single":
            mergechecks.refuse_a_kept_class_shadowed(view, project.services, disk.read, list(before))
        generation = generate(config, result, renderer, project, view, _pending(user, changes), inputs.memo)
        digest = inputs.digest
        if inputs.new_from:  # no digest where a copy clashes (`clash.checked`): `gen` and `check` go the full way
            table = input_digest.table_of(generation.files[CONFIG_FILE].content.decode())
            digest = (
                None
                if table is None or result.warnings != unchecked.warnings
                else input_digest.digest_of(table, copies.items(), config.template_dir(), config.root)
            )
        # A new project's files of the user's (`new --force`) never came from scaffold: nothing to rebuild.
        bases: Mapping[str, bytes] = (
            {} if inputs.new_from else merge_bases(disk, previous, generation, list(before), restricted)
        )
        move = relayout.Move()
        if previous is not None and places(previous.layout, previous.root_package) != places(
            config.layout, config.root_package
        ):
            if previous.layout == config.layout:  # per-service both: a root_package change
                move = rehome_modules(disk, previous, generation, renderer, config)
            else:
                move = _switch(disk, previous, generation, restricted)
            bases = layered(bases, move.bases)
        after = servicer_modules(config.package, config.layout, view, config.root_package)
        classified = plan_module.build(
            disk,
            generation.files,
            previous,
            lambda recorded, settled, digests, taken: generation.state_files(
                digest if settled else None, recorded, digests, taken, lines
            ),
            inputs.recreate,
            _with_readded_stubs(bases, after, changes, lambda path: move.currents.get(path) or disk.read(path)),
            move.currents,
            move.leftovers,
            functools.partial(_scan_for_gone_modules, disk, config, previous),
            config.package,
            spent,
        )
        lost = dropped(previous_view, view)
        homed = {path: _homed(before.get(path, ()), after.get(path, ())) for path in {*before, *after}}
        kept = mergechecks.kept_by_merge(classified, homed, lost) if lost else frozenset()
        dropped_kept = _dropped_kept(after, user.services, changes, keep)
        untouched = mergechecks.left_as_rendered(classified, generation.files, dropped_kept)
        return classified, changes, kept, untouched, mergechecks.spent(classified, generation.files, after, keep)

    classified, changes, kept, untouched, _ = classify(frozenset())
    let_go: frozenset[tuple[str, str]] = frozenset()
    gone_modules: frozenset[str] = frozenset()
    if kept:  # the merge keeps code reconcile let go (`dropped`): rendered as kept, it loses its dead base
        classified, changes, _, untouched, spent = classify(kept)
        if spent:  # nothing of the user's in them: the next run would remove them, so this one does
            freed = frozenset().union(*spent.values())
            released = classify(kept - freed, freed, frozenset(spent))
            if not released[2]:
                classified, changes, _, untouched, _ = released
                kept, let_go, gone_modules = kept - freed, freed, frozenset(spent)
    if untouched:  # the next run would let these go (their code is the render's): this one does, as `check` expects
        released = classify(kept, untouched | let_go, gone_modules)
        if not released[2]:  # unless the merge keeps some of them after all: then they stay, as they were
            classified, changes = released[0], released[1]
    mergechecks.refuse_a_second_definition(classified, disk.read)
    return Outcome(classified, changes, result, record, copies, config)


def _homed(before: Sequence[Service], after: Sequence[Service]) -> list[Service]:
    """The services whose classes a servicer module holds: this run's, and the last run's whose class name
    none of this run's takes there (a class of that name in the merged module is the live service's: a
    package renamed keeps `CatalogServicer` in `servicer.py`, and it is not the old service's kept)."""
    taken = {service.class_name for service in after}
    return [*after, *(service for service in before if service.class_name not in taken)]


def _dropped_kept(
    after: Mapping[str, Sequence[Service]],
    serving: Sequence[Service],
    changes: Changes,
    keep: frozenset[tuple[str, str]],
) -> dict[str, list[tuple[str, str, str]]]:
    """Per servicer module, the classes of dropped services ((service, class, CLASS)) and the methods of
    dropped RPCs ((service, class, RPC)) the render keeps for the user's code, but not because the merge
    was found to keep them (`keep`, by service)."""
    served = {service.full_name for service in serving}
    orphans = {item.route for item in changes.removed if item.kept}
    return {
        path: [
            (s.full_name, s.class_name, member)
            for s in services
            for member in [CLASS] * (s.full_name not in served)
            + [r.name for r in s.rpcs if f"{s.full_name}/{r.name}" in orphans]
            if (s.full_name, member) not in keep
        ]
        for path, services in after.items()
    }


def _scan_for_gone_modules(
    disk: Disk,
    config: Config,
    previous: state.State | None,
    planned: Sequence[plan_module.FilePlan],
) -> gone.Findings:
    """The user's code in the planned tree that reads what this run, or an earlier one, took away (`scaffold.generation.gone`)."""
    if previous is None:
        return gone.Findings()
    by_path = {f.path: f for f in planned}
    written = [(f.path, disk.read(f.path), f.content) for f in planned if f.writes and f.path.endswith((".py", ".pyi"))]
    away = gone.taken_away(written, previous.gone)
    if not away:
        return gone.Findings()

    def read(path: str) -> bytes | None:
        planned_file = by_path.get(path)
        if planned_file is not None and planned_file.writes:
            return planned_file.content
        return disk.read(path)

    away = [entry for entry in away if not gone.still_there(entry, read)]
    if not away:
        return gone.Findings()
    skip = config.generated_dir + "/"
    python = [p for p in by_path if p.endswith(".py") and by_path[p].owner == "user"]
    python += [p for top in (config.package, "tests") for p in disk.files_under(top) if p.endswith(".py")]

    found = gone.scan(away, [p for p in python if not p.startswith(skip)], read, config.generated_dir)
    if any(f.action == "conflict" for f in planned):
        # A conflict may be resolved to anything (the user's whole file back, say): all that was taken away
        # stays in the record, for the runs after it to look for again.
        return structs.replace(found, named=tuple(away))
    return found


def _pending(project: Project, changes: Changes) -> list[Service]:
    """The RPCs the servicer imports for without showing them: the new shapes of those whose old implementation
    is kept, and those whose stub the user deleted (the user's imports stay as they were: a deletion of
    theirs is no reason for scaffold to edit their import lines, and no input `check` could see)."""
    kept = {item.route for item in changes.reshaped if item.kept} | set(changes.deleted)
    return [
        structs.replace(s, rpcs=tuple(r for r in s.rpcs if f"{s.full_name}/{r.name}" in kept))
        for s in project.services
        if any(f"{s.full_name}/{r.name}" in kept for r in s.rpcs)
    ]


def merge_bases(
    disk: Disk,
    previous: state.State | None,
    generation: Generation,
    servicers: Sequence[str],
    render_with: Callable[..., Generation],
) -> Mapping[str, bytes]:
    """The merge base of every user file, recorded or, where it was lost, rebuilt.

    A user file on disk without a recorded base (`.scaffold/` deleted, not
    committed, or made by an older run) cannot be merged into, and keeping it
    as it is would never give it the stubs of new RPCs. Its base is rebuilt
    as the render of the RPCs it already knows: those of the last run's protos
    where the manifest has them, else those the user's servicer implements.
    A service the last run did not have (whose class the user's modules do
    not define) is left out of it altogether, as the last render had it: not
    rendered without RPCs, which no render ever was (a README row with no
    RPCs, conflicting with the new one).
    The merge then adds exactly what is new; where the guess is wrong it
    conflicts, and the user sees both sides: nothing is lost either way.
    """
    bases = previous.base if previous else {}
    lost = [
        path
        for path, output in generation.files.items()
        if output.owner == "user" and path not in bases and disk.read(path) is not None
    ]
    if not lost:
        return bases
    if previous is not None and previous.rpcs:
        known = _known(previous)
        services = {whole_of(service) for service in previous.rpcs}
    else:
        methods = {
            key: method
            for servicer in servicers
            for key, method in methods_of(disk.read(servicer), classes=True).items()
        }
        known = {
            (whole_of(service.full_name), rpc.name)
            for service in generation.user_services
            for rpc in service.rpcs
            if (service.class_name, rpc.name) in methods
        }
        # No module to read (missing, not parsing): every service, as the safer guess for the servicer's base.
        services = {
            whole_of(s.full_name) for s in generation.user_services if (s.class_name, CLASS) in methods or not methods
        }
    rebuilt = render_with(
        lambda service, rpc: (service.full_name, rpc.name) in known, lambda service: service.full_name in services
    ).files
    return layered(bases, {path: rebuilt[path].content for path in lost if path in rebuilt})


def _restrict_with(
    config: Config, result: ProtocResult, renderer: Renderer, memo: Memo | None
) -> Callable[..., Generation]:
    """A render of the same inputs with only the services and RPCs predicates keep (see `model.restrict`)."""

    def render(
        keep: Callable[[Service, Rpc], bool], services: Callable[[Service], bool] = lambda s: True
    ) -> Generation:
        project = restrict(build_project(config, result, memo), keep, services)
        return generate(config, result, renderer, project)

    return render


def _with_readded_stubs(
    bases: Mapping[str, bytes],
    modules: Mapping[str, Sequence[Service]],
    changes: Changes,
    read: Callable[[str], bytes | None],
) -> Mapping[str, bytes]:
    """The servicer modules' bases without the stubs of RPCs added back after the user deleted their orphan.

    The recorded base still shows such a stub (it was the orphan's), so the
    merge would read its absence from the user's file as a wish to keep it
    out; the RPC is new again and gets its stub like any other.
    """
    if not changes.added:
        return bases
    added = set(changes.added)
    fixed: dict[str, bytes] = {}
    for path, services in modules.items():
        base = bases.get(path)
        routes = [(s, r) for s in services for r in s.rpcs if f"{s.full_name}/{r.name}" in added]
        if base is None or not routes:
            continue
        present = methods_of(read(path))
        doomed = {(s.class_name, r.name) for s, r in routes if (s.class_name, r.name) not in present}
        if doomed:
            fixed[path] = without_methods(base, doomed)
    return layered(bases, fixed)


def _switch(
    disk: Disk,
    previous: state.State,
    generation: Generation,
    render_with: Callable[..., Generation],
) -> relayout.Move:
    """The moves of a layout switch: the new layout rendered from the RPCs the protos had last time is
    where each new module's merge base starts (see `scaffold.generation.relayout`)."""
    known = _known(previous)
    before = render_with(lambda service, rpc: (service.full_name, rpc.name) in known).files

    def python(files: Mapping[str, OutputFile]) -> dict[str, bytes]:
        return {path: f.content for path, f in files.items() if f.owner == "user" and path.endswith(".py")}

    return relayout.move(disk.read, previous, python(generation.files), python(before), generation.project.package)


def _known(previous: state.State) -> set[tuple[str, str]]:
    """The RPCs the last run's protos had, as (service, RPC) of the protos' own services (a part's are its
    service's)."""
    return {(whole_of(service), rpc) for service, rpcs in previous.rpcs.items() for rpc in rpcs}


def _refuse_unresolved_conflicts(disk: Disk, previous: state.State | None) -> None:
    problems = []
    for path, record in previous.files.items() if previous else ():  # not sorted: 43,000 paths, a few read
        if record.owner != "user" or disk.sha256(path) in (None, record.sha256):
            continue  # a file exactly as its merge base, a render, holds no markers: not read
        content = disk.read(path)
        for line in conflict_lines(content) if content else ():
            message = "unresolved conflict marker; resolve it, then run scaffold gen"
            problems.append(Diagnostic(str(disk.root / path), message, line, 1))
    if problems:
        raise ScaffoldError(sorted(problems, key=lambda problem: problem.path), exit_code=EXIT_NEEDS_USER)


def _recorded_protos(
    arguments: Sequence[Path], inputs: Sequence[ProtoInput], roots: Sequence[Path], copied: Iterable[str]
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


def _record_of_copies(root: Path, result: ProtocResult, copies: Mapping[str, bytes]) -> incremental.Record:
    """The protoc record of a new project: its sources are the project's copies, which its next `gen` compiles
    (the runtime's protos where protoc has them)."""
    sources = {
        f.name: incremental.source(root / PROTO_DIR / f.name, copies[f"{PROTO_DIR}/{f.name}"])
        if f"{PROTO_DIR}/{f.name}" in copies
        else incremental.find_source(f.name, (protoc.WELL_KNOWN_INCLUDE,))
        for f in result.descriptors.file
    }
    return incremental.record_of(result, sources)


def _find_source(name: str, roots: Sequence[Path]) -> Path:
    """The file protoc read for `name`: the first include root that has it, as protoc searches."""
    for root in roots:
        if (root / name).is_file():
            return root / name
    raise AssertionError(f"protoc compiled {name} but it is under no include root")
