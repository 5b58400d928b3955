"""Stage: move each service's own modules, whole, when a per-service project's `root_package` changes.

Under a per-service layout every service has one module in each tree
(`services/`, `clients/`, `tests/`), and `root_package` decides how deep they
sit. A change of it is not a layout switch: no definition changes module, each
module changes path. So each moves whole, the user's file and scaffold's record
of it (the merge base) alike, and the merge that follows adds what the new
render changes (an import path, a docstring naming the module) as it would for
a module that had always been there. The old path is deleted; nothing of it
is left behind.

A move never lands on a file that is there: a path the new root gives that
holds a file already (the user's own, or another module of the old layout,
even one that moves away itself) refuses the change, located, and nothing is
written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.core.model import Service, service_paths
from scaffold.generation.config import Config
from scaffold.generation.generate import Generation, module_paths, template_paths
from scaffold.generation.relayout import Move
from scaffold.generation.render import Renderer
from scaffold.record.disk import Disk
from scaffold.record.state import State


def places(layout: str, root_package: str) -> tuple[str, str]:
    """What decides where the user's per-service modules are: a change of it moves their code."""
    return layout, root_package if layout == "per-service" else ""


def shared_package(services: Sequence[Service]) -> str:
    """The longest proto package every service lies in ("" when they share none): `new`'s `root_package`."""
    packages = [service.package.split(".") if service.package else [] for service in services]
    shared: list[str] = []
    for parts in zip(*packages, strict=False) if packages else ():
        if len(set(parts)) != 1:
            break
        shared.append(parts[0])
    return ".".join(shared)


def rehome_modules(disk: Disk, previous: State, generation: Generation, renderer: Renderer, config: Config) -> Move:
    """`rehome` for a run that renders `generation` with `renderer` under `config`."""
    rendered = {path: f.content for path, f in generation.files.items() if f.owner == "user"}
    paths = template_paths(config)
    return rehome(
        disk.read,
        previous,
        rendered,
        lambda module: renderer.per_service_outputs(paths, module),
        service_paths(previous.servicer, previous.root_package),
        module_paths(generation.servicer, generation.user or generation.project, config.root_package),
    )


def rehome(
    read: Callable[[str], bytes | None],
    previous: State,
    rendered: Mapping[str, bytes],
    outputs_of: Callable[[str], list[str]],
    old_modules: Mapping[str, str],
    new_modules: Mapping[str, str],
) -> Move:
    """The moves of a `root_package` change: for each service with a module path in both (`old_modules`,
    `new_modules`: service full name -> path), each of its user modules from the old path to the new one.

    `rendered` are the new render's user-owned files; `outputs_of(module)` the files the per-service
    templates write for the service at `module`; `read` reads the project's files.
    """
    moves: dict[str, str] = {}
    for name, new_module in sorted(new_modules.items()):
        old_module = old_modules.get(name)
        if old_module is None or old_module == new_module:
            continue
        for source, target in zip(outputs_of(old_module), outputs_of(new_module), strict=True):
            record = previous.files.get(source)
            if record is not None and record.owner == "user" and target in rendered:
                moves[source] = target
    result = Move()
    problems = []
    for source, target in sorted(moves.items()):
        content = read(source)
        if content is None:  # the user deleted it: the new path gets a fresh render
            continue
        if target in previous.files or read(target) is not None:
            message = f"root_package moves this module to {target}, which is there already; move or remove that file"
            problems.append(Diagnostic(source, message + ", then run scaffold gen", 1, 1))
            continue
        result.currents[target] = content
        base = previous.base.get(source)
        if base is not None:
            result.bases[target] = base
        result.leftovers[source] = None
    if problems:
        raise ScaffoldError(problems)
    return result
