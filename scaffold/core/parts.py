"""A large service's code in parts: one module of the user's per resource its RPCs act on.

A servicer of 156 RPCs is about 1,900 lines however short each stub is (a
typed method is eleven lines once formatted), and no one reads or edits a
module that size. A service listed in `split_services` keeps its class in its
own module, built from one class per resource (`AdminAccountMethods`, ...), each in
a module of its own below `<service>_parts/`, with the same for its client
calls and tests.

An RPC's part comes from its own name alone (`ListAccounts` and `GetAccount`
both act on `account`), never from the other RPCs: adding or removing one
never moves another's code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from msgspec import structs

from scaffold.core.model import PART_SEPARATOR as SEPARATOR
from scaffold.core.model import Project, Service
from scaffold.core.naming import module_name, snake_case

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")
_PLURALS = (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"), ("s", ""))
_NOT_PLURAL = ("ss", "us", "is")
_VERB_PAIRS = ("Batch",)
"""Words that take the next one with them as the verb (`BatchCreateAccessBindings` acts on access bindings)."""


def resource_of(rpc_name: str) -> str:
    """The resource an RPC acts on, in snake case and singular: its name without the leading verb
    (`ListAccounts` -> `account`, `BatchDeleteUserLinks` -> `user_link`); a one-word name is its own part."""
    words = _WORDS.findall(rpc_name)
    skip = 2 if len(words) > 2 and words[0] in _VERB_PAIRS else 1
    rest = words[skip:] or words
    last = rest[-1]
    if not last.isupper() and not last.lower().endswith(_NOT_PLURAL):
        for plural, singular in _PLURALS:
            if last.endswith(plural) and len(last) > len(plural) + 1:
                last = last[: -len(plural)] + singular
                break
    return module_name(snake_case("".join([*rest[:-1], last])))


def class_of(service: Service, part: str) -> str:
    """The class of a part's methods, named after its service's class, which is unique in the project
    (`AdminServicer`, `access_binding` -> `AdminAccessBindingMethods`): two services' parts on one resource
    never share a name."""
    stem = service.class_name.removesuffix("Servicer")
    return stem + "".join(word[:1].upper() + word[1:] for word in part.strip("_").split("_")) + "Methods"


def split(service: Service) -> tuple[Service, ...]:
    """`service` as the user's code shows it when split: its own class, with no method of its own and
    each part's class among its bases, then one service per part, holding that part's RPCs."""
    by_part: dict[str, list[str]] = {}
    for rpc in service.rpcs:
        by_part.setdefault(resource_of(rpc.name), []).append(rpc.name)
    parts = []
    for part in sorted(by_part):
        names = set(by_part[part])
        parts.append(
            structs.replace(
                service,
                full_name=f"{service.full_name}{SEPARATOR}{part}",
                class_name=class_of(service, part),
                doc=f"The {part.replace('_', ' ')} RPCs of {service.full_name}; {service.class_name} takes them.",
                rpcs=tuple(rpc for rpc in service.rpcs if rpc.name in names),
                part=part,
            )
        )
    whole = structs.replace(service, rpcs=(), parts=tuple((p.full_name, p.class_name) for p in parts))
    return (whole, *parts)


def user_side(project: Project, names: Iterable[str]) -> Project:
    """`project` as the user's modules show it: each service named in `names` split into its parts."""
    chosen = frozenset(names)
    if not chosen:
        return project
    files = tuple(
        structs.replace(
            file,
            services=tuple(
                s for service in file.services for s in (split(service) if service.full_name in chosen else (service,))
            ),
        )
        for file in project.files
    )
    return structs.replace(project, files=files)


LIMIT = 1_000
"""The lines a module of the user's may have before `new` splits its service."""


def too_large(services: Iterable[Service]) -> tuple[str, ...]:
    """The services whose servicer, client or tests module would be over `LIMIT` lines whole, by an estimate
    with a tenth to spare (a stub is about twelve lines and its RPC's comment, a client's call nine, a test
    eight): what `new` lists in `split_services`."""
    found = []
    for service in services:
        servicer = 20 + sum(12 + rpc.doc.count("\n") + 1 for rpc in service.rpcs)
        if max(servicer, 20 + 9 * len(service.rpcs)) > LIMIT * 9 // 10:
            found.append(service.full_name)
    return tuple(found)
