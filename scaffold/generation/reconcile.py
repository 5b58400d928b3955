"""Stage: decide what the user's servicer module should show, and what changed.

A plain 3-way merge would delete the stub of an RPC the protos dropped, or
rewrite the signature of one whose shape changed, under the user's
implementation. So the servicer is rendered from a reconciled list: the
protos' services and RPCs, plus each dropped RPC or service whose method is
still in the user's file (an orphan, kept where it stood so the merge sees no
change there), and, for an RPC whose shape changed after the user
implemented it, the old signature (reported with the new one).
"""

from __future__ import annotations

import ast
import difflib
import hashlib
from collections.abc import Callable, Mapping, Sequence

from msgspec import Struct, structs

from scaffold.core.model import Rpc, Service
from scaffold.core.text import lines as text_lines
from scaffold.record.memo import Memo


class Orphan(Struct, frozen=True):
    route: str
    rename_hint: str | None
    kept: bool = True
    """The user's method stays; False: the untouched stub went with the RPC."""


class Reshaped(Struct, frozen=True):
    route: str
    signature: str
    kept: bool
    news: bool = True
    """The protos changed its shape in this run; False: an earlier run reported it, and the user's method
    is still rendered with the old signature (the servicer keeps importing what the new one needs)."""


class Changes(Struct, frozen=True):
    """What the protos changed since the last run, as the user hears it."""

    added: tuple[str, ...] = ()
    removed: tuple[Orphan, ...] = ()
    reshaped: tuple[Reshaped, ...] = ()
    removed_services: tuple[Orphan, ...] = ()
    deleted: tuple[str, ...] = ()
    """Routes of the stubs the user deleted (not news to them): left out of the render, their imports kept,
    so that the render of a module whose stub the user deleted is what they have, whichever run makes it."""

    def __bool__(self) -> bool:
        return any((self.added, self.removed, self.reshaped, self.removed_services))


def reconcile(
    previous_rpcs: dict[str, dict[str, str]],
    previous_view: Sequence[Service],
    services: Sequence[Service],
    modules: Mapping[str, tuple[Module, Module]],
    homes: Mapping[str, str],
    switching: bool = False,
    aio: bool = False,
    memo: Memo | None = None,
    keep: frozenset[tuple[str, str]] = frozenset(),
    release: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[tuple[Service, ...], Changes]:
    """The services to render the servicer from, and the changes to report.

    `previous_rpcs` are the RPCs the protos had last time, `previous_view` the
    services the servicer was rendered from last time, `modules` each servicer
    module by path as (on disk, as last rendered): one, or one per service;
    `homes` the module each service's class is in (a service of the last view:
    where it was rendered; a new one: where it will be). A service's methods
    are looked for in its own module only: in per-service modules a removed
    service's class kept in its module and a new service of another package
    may share a class name (`CatalogServicer` of shop.v1 and of other.v1), and a
    new service's home may be a removed one's, its own module coming beside
    (`catalog_2.py`). `switching`: this run changes the layout. `keep`
    holds the classes ((service, CLASS), by the service's full name) and methods ((service, RPC)) of
    dropped services and RPCs that stay whatever their code: those the merge keeps (see `dropped`);
    `release` holds those that go whatever their code: those the merge left as rendered (see
    `scaffold.generation.pipeline`). Both are keyed by service, not class: two modules can hold classes
    of one name.
    """
    of_module: dict[str, tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]] = {}
    for path, (ours, base) in modules.items():
        found = _methods_of_module(ours, memo)
        same = base.sha256 == ours.sha256  # an untouched servicer is parsed once
        of_module[path] = found, found if same else _methods_of_module(base, memo)
    owned = {(homes.get(s.full_name, ""), s.class_name) for s in previous_view}
    old_services = {s.full_name: s for s in previous_view}
    new_services = {s.full_name: s for s in services}
    added: list[str] = []
    removed: list[Orphan] = []
    reshaped: list[Reshaped] = []
    removed_services: list[Orphan] = []
    deleted: list[str] = []
    view = []
    for name in _merged_order(list(old_services), list(new_services)):
        old, new = old_services.get(name), new_services.get(name)
        service = new if new is not None else old
        assert service is not None
        methods, pristine = _own_module(
            of_module, homes.get(name, ""), service.class_name, owned, old is None, switching
        )
        if new is None:
            assert old is not None
            kept = (name, CLASS) in keep or (
                (name, CLASS) not in release
                and any(_changed((old.class_name, rpc.name), methods, pristine) for rpc in old.rpcs)
            )
            if kept:
                view.append(old)
            if name in previous_rpcs:
                removed_services.append(Orphan(name, None, kept))
            continue
        before = previous_rpcs.get(name, {})
        old_rpcs = {rpc.name: rpc for rpc in old.rpcs} if old else {}
        new_rpcs = {rpc.name: rpc for rpc in new.rpcs}
        rpcs: list[Rpc] = []
        for rpc_name in _merged_order(list(old_rpcs), list(new_rpcs)):
            old_rpc, new_rpc = old_rpcs.get(rpc_name), new_rpcs.get(rpc_name)
            route = f"{name}/{rpc_name}"
            key, member = (new.class_name, rpc_name), (name, rpc_name)
            if new_rpc is None:
                assert old_rpc is not None
                kept = member in keep or (member not in release and _changed(key, methods, pristine))
                if kept:
                    rpcs.append(old_rpc)
                if rpc_name in before:
                    removed.append(Orphan(route, _rename_hint(old_rpc, new_rpcs, old_rpcs), kept))
                continue
            if rpc_name not in before and previous_rpcs:
                added.append(route)
            if old_rpc is None and key in methods:
                continue  # written by the user before the protos had it: a stub after it would shadow it
            if rpc_name in before and _deleted(key, methods, pristine, old_rpc is None):
                deleted.append(route)
                continue  # the generated base class answers UNIMPLEMENTED for it: a deleted stub stays deleted
            implemented = _changed(key, methods, pristine)
            if old_rpc is not None and old_rpc.proto_signature != new_rpc.proto_signature:
                rpcs.append(old_rpc if implemented else new_rpc)
                news = before.get(rpc_name) != new_rpc.proto_signature
                reshaped.append(Reshaped(route, new_rpc.python_signature(aio), implemented, news))
            elif old_rpc is not None and implemented and old_rpc.doc != new_rpc.doc:
                # The docstring sits right above the user's body: a reworded proto comment would conflict
                # with it on every run. The method is theirs now, docstring included.
                rpcs.append(structs.replace(new_rpc, doc=old_rpc.doc))
            else:
                rpcs.append(new_rpc)
        view.append(structs.replace(new, rpcs=tuple(rpcs)))
    changes = Changes(tuple(added), tuple(removed), tuple(reshaped), tuple(removed_services), tuple(deleted))
    return tuple(view), changes


def _own_module(
    of_module: dict[str, tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]],
    home: str,
    class_name: str,
    owned: set[tuple[str, str]],
    new: bool,
    switching: bool,
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """The methods (on disk, as last rendered) of the module a service's class is in: its home, unless the
    service is `new` and a service of the last view has a class of its name there (a removed one's, kept:
    the new one's module comes beside it); for a new service in a run that switches layout, the module of
    the old layout where the user wrote its class before the protos had it (the switch moves it from
    there), if no service of the last view has a class of that name there."""
    if home in of_module and not (new and (home, class_name) in owned):
        return of_module[home]
    for path, found in sorted(of_module.items()) if new and switching else ():
        if (class_name, CLASS) in found[0] and (path, class_name) not in owned:
            return found
    return {}, {}


def dropped(previous_view: Sequence[Service], view: Sequence[Service]) -> frozenset[tuple[str, str]]:
    """The classes ((service, CLASS)) and methods ((service, RPC)) the last render showed that `view` leaves
    out: the untouched code of services and RPCs the protos dropped. Keyed by the service's full name: a
    class of the same name kept in another module (a removed service's) is not the one that went.

    Only a guess of reconcile's: the line merge keeps such code after all
    where the user's lines touch it (a statement right below the class, a
    method implemented right after the stub), since it keeps whatever the user
    changed that the new render drops. A class kept that way would keep its
    generated base, which the protos no longer define: the module no longer
    imports. So the pipeline asks the merge, and renders again with what it
    kept passed to `reconcile` as `keep`: the class unserved, the method as
    an orphan, reported as kept.
    """
    return frozenset(_members(previous_view) - _members(view))


def _members(services: Sequence[Service]) -> set[tuple[str, str]]:
    """(service, CLASS) for each service's class and (service, RPC) for each of its methods, by full name."""
    return {(s.full_name, CLASS) for s in services} | {(s.full_name, r.name) for s in services for r in s.rpcs}


def _deleted(
    key: tuple[str, str], methods: dict[tuple[str, str], str], pristine: dict[tuple[str, str], str], gone: bool
) -> bool:
    """Whether the user deleted the stub of `key`, an RPC the protos had last time too.

    It was in the last render (`pristine`), or already left out of it for
    this reason (`gone`), and the user's module, which parsed and defines the
    class, has no such method. Only the user's module can say so: one that is
    missing or does not parse says nothing, and the stub stays.
    """
    return key not in methods and (key[0], CLASS) in methods and (gone or key in pristine)


def _changed(key: tuple[str, str], methods: dict[tuple[str, str], str], pristine: dict[tuple[str, str], str]) -> bool:
    """Whether the user's file has the method `key` and it is not the stub scaffold wrote."""
    return key in methods and methods[key] != pristine.get(key)


class Module(Struct, frozen=True):
    """A servicer module as reconcile sees it: its hash (None: no file) and how to read it, read only
    when the memo has not seen that hash."""

    sha256: str | None
    read: Callable[[], bytes | None]

    @classmethod
    def of(cls, content: bytes | None) -> Module:
        """A module whose bytes are at hand (None: no file)."""
        return cls(None if content is None else hashlib.sha256(content).hexdigest(), lambda: content)


def _methods_of_module(module: Module, memo: Memo | None) -> dict[tuple[str, str], str]:
    """`methods_of` the module, from the memo where an earlier run parsed the same bytes (parsing was
    most of reconciling a thousand servicer modules, and a leaf change leaves all but one as they were)."""
    if module.sha256 is None:
        return {}
    key = f"methods+classes:{module.sha256}"
    kept = memo.get(key) if memo is not None else None
    if kept is not None:
        return {(cls, method): text for cls, method, text in kept}
    found = methods_of(module.read(), classes=True)
    if memo is not None:
        memo.put(key, [(cls, method, text) for (cls, method), text in found.items()])
    return found


CLASS = ""
"""The method name under which `methods_of` with `classes` records that a class exists (no method is named so)."""


def methods_of(source: bytes | None, classes: bool = False) -> dict[tuple[str, str], str]:
    """(class, method) -> the method's source, for every method of every top-level class; with
    `classes`, also (class, CLASS) for every top-level class, so that a class with no method left shows."""
    if source is None:
        return {}
    try:
        text = source.decode("utf-8")
        tree = ast.parse(text)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    lines = text_lines(text)  # once: ast.get_source_segment would split the file for every method
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            if classes:
                found[(node.name, CLASS)] = ""
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[(node.name, item.name)] = "\n".join(lines[item.lineno - 1 : item.end_lineno])
    return found


def without_methods(source: bytes, doomed: set[tuple[str, str]]) -> bytes:
    """`source` with the methods `doomed` ((class, method) pairs) cut out, each with the blank line before it.

    Used on a merge base that still shows a stub the user has since deleted,
    for an RPC the protos add again: against the base as recorded, the merge
    would read the deletion as the user's wish and never bring the stub back.
    """
    try:
        text = source.decode("utf-8")
        tree = ast.parse(text)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return source
    lines = text_lines(text, keepends=True)
    cut: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and (node.name, item.name) in doomed:
                    first = min([item.lineno, *(d.lineno for d in item.decorator_list)]) - 1
                    if first > 0 and not lines[first - 1].strip():
                        first -= 1
                    cut.update(range(first, item.end_lineno or item.lineno))
    return "".join(line for number, line in enumerate(lines) if number not in cut).encode("utf-8")


def without_deleted(base: bytes, ours: bytes, theirs: bytes) -> bytes:
    """`base` without the methods both the user's file and the new render leave out (`base` as it is where
    either does not parse).

    The base shows a method only so the merge can tell what each side did
    with it; one that both sides dropped (a stub the user deleted, which the
    render then leaves out too: see `reconcile`) is no business of the merge
    any more. Left in the base, the deletion sits next to every stub the
    render adds around it, and the line merge conflicts with an empty
    "yours". A method the render still shows stays in the base, so that the
    user's deletion of it stands.
    """
    mine = methods_of(ours, classes=True)
    if not mine:
        return base
    rendered = methods_of(theirs, classes=True)
    if not rendered:
        return base
    doomed = {key for key in methods_of(base) if key not in mine and key not in rendered and (key[0], CLASS) in mine}
    return without_methods(base, doomed) if doomed else base


def _merged_order(old: list[str], new: list[str]) -> list[str]:
    """`old`'s order, with each name only in `new` placed after its predecessor in `new`.

    Keeping old entries where they stood is what lets the line merge see an
    insertion rather than a move.
    """
    order = list(old)
    for index, name in enumerate(new):
        if name in order:
            continue
        predecessor = next((n for n in reversed(new[:index]) if n in order), None)
        order.insert(order.index(predecessor) + 1 if predecessor else 0, name)
    return order


def _rename_hint(gone: Rpc, new_rpcs: dict[str, Rpc], old_rpcs: dict[str, Rpc]) -> str | None:
    """The newly added RPC `gone` was most likely renamed to, if any looks like it."""
    candidates = [rpc for name, rpc in new_rpcs.items() if name not in old_rpcs]
    same_shape = [rpc.name for rpc in candidates if rpc.proto_signature == gone.proto_signature]
    pool, cutoff = (same_shape, 0.0) if same_shape else ([rpc.name for rpc in candidates], 0.6)
    close = difflib.get_close_matches(gone.name, pool, n=1, cutoff=cutoff)
    return close[0] if close else None
