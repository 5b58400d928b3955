"""Refuse what would make a split service's code change modules (`scaffold.core.parts`).

A service's parts hold the user's methods in one module per resource; the same
service whole holds them in one class. Going from one to the other moves
methods between modules, which no run does: a change of `split_services` for a
service with code of the user's in its modules, or a layout switch with a split
service, is refused at its line of the config, and nothing is written. Modules
exactly as scaffold rendered them hold nothing to move: they are rendered anew.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from msgspec import structs

from scaffold.core.errors import ScaffoldError
from scaffold.core.model import Service, service_paths, whole_of
from scaffold.core.parts import split
from scaffold.generation import configkeys
from scaffold.generation.config import Config
from scaffold.layout import CONFIG_FILE
from scaffold.record import state
from scaffold.record.disk import Disk


def refuse_a_change_of_parts(
    config: Config, previous: state.State | None, services: Sequence[Service], disk: Disk
) -> None:
    """Raise, located, when the last run split a service this one would not, or the other way round, for a
    service whose modules hold code of the user's (modules as rendered are rendered anew)."""
    if previous is None:
        return
    was = _split(previous.servicer) if previous.layout == "per-service" else set()
    with_rpcs = {service.full_name for service in services if service.rpcs}  # never split, one without is whole
    listed = set(config.split_services) & (with_rpcs | was) if config.layout == "per-service" else set()
    shown = {whole_of(service.full_name) for service in previous.servicer}
    live = {service.full_name for service in services}
    if previous.layout != config.layout and (was or listed):
        names = ", ".join(sorted(was | listed))
        way = (
            'keep layout = "per-service"'
            if was
            else "switch without it (a service is listed while its modules are as scaffold rendered them)"
        )
        message = (
            f"layout: {names} is split in parts (split_services), which only the per-service layout has: a switch"
            f" would move its methods between modules, which scaffold does not do; {way}"
        )
        raise _at(config, "layout", message)
    changed = sorted(name for name in (was ^ listed) & shown & live if _holds_code(name, previous, config, disk))
    if changed:
        name = changed[0]
        had, keep = ("whole", "out of") if name in listed else ("in parts", "in")
        message = (
            f"split_services: {name} has its modules {had} already; its methods would have to move between"
            f" modules, which scaffold does not do: keep it {keep} the list"
        )
        raise _at(config, "split_services", message)


def _holds_code(name: str, previous: state.State, config: Config, disk: Disk) -> bool:
    """Whether a module of the user's that the last run rendered for service `name` (whole or in parts:
    servicer, client, tests) is other than its recorded render."""
    mine = [service for service in previous.servicer if whole_of(service.full_name) == name]
    paths = service_paths(previous.servicer, previous.root_package)
    for service in mine:
        directory, _, stem = paths[service.full_name].rpartition("/")
        tests = f"tests/{directory}/test_{stem}.py" if directory else f"tests/test_{stem}.py"
        for path in (
            f"{config.package}/services/{paths[service.full_name]}.py",
            f"{config.package}/clients/{paths[service.full_name]}.py",
            tests,
        ):
            current = disk.read(path)
            if current is not None and current != previous.base.get(path):
                return True
    return False


def _split(view: Sequence[Service]) -> set[str]:
    return {whole_of(service.full_name) for service in view if service.part or service.parts}


def _at(config: Config, key: str, message: str) -> ScaffoldError:
    path = config.root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    return ScaffoldError([configkeys.locate(path, text, key, message)])


def as_now(
    view: Sequence[Service], rpcs: Mapping[str, Mapping[str, str]], split_now: Iterable[str]
) -> tuple[tuple[Service, ...], dict[str, dict[str, str]]]:
    """The last run's view and RPCs with each service split as `split_now` says (a change this module let
    through: no code of the user's to move): what the protos changed since is then all reconcile reports."""
    now = set(split_now)
    was = _split(view)
    out: list[Service] = []
    summary = {name: dict(value) for name, value in rpcs.items()}
    joined: dict[str, Service] = {}
    for service in view:
        whole = whole_of(service.full_name)
        if whole in now and whole not in was:
            parted = split(service)
            out += parted
            known = summary.pop(whole, {})
            for part in parted[1:]:
                summary[part.full_name] = {r.name: known[r.name] for r in part.rpcs if r.name in known}
        elif whole in was and whole not in now:
            if whole not in joined:
                joined[whole] = structs.replace(service, full_name=whole, class_name="", part="", parts=(), rpcs=())
                out.append(joined[whole])
            if service.full_name == whole:
                joined[whole] = structs.replace(joined[whole], class_name=service.class_name, doc=service.doc)
            else:
                joined[whole] = structs.replace(joined[whole], rpcs=joined[whole].rpcs + service.rpcs)
                summary.setdefault(whole, {}).update(summary.pop(service.full_name, {}))
        else:
            out.append(service)
    return tuple(joined.get(s.full_name, s) for s in out), summary
