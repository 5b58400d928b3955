"""A model of the project's protos that the fuzzer edits and renders back to `.proto` text.

A file's RPCs use its own messages; its messages' fields may use another file's (which it then
imports, maybe publicly), and a removal takes such fields and imports with it, so any edit keeps
the protos valid. Names come from small pools so that removals, renames and re-adds collide with
what the project already knows (a removed RPC added again, a renamed service named like a
removed one).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

SERVICE_NAMES = ["Store", "Catalog", "Ledger", "Vault", "Inbox", "Relay"]
RPC_NAMES = ["Get", "Put", "List", "Find", "Watch", "Upload", "Chat", "Sync", "Delete", "Count", "getThing", "Import"]
MESSAGE_NAMES = ["Item", "Thing", "Query", "Page", "Receipt", "Blob"]
FIELD_NAMES = ["name", "id", "tags", "size", "note", "data", "flag"]
SCALARS = ["string", "int32", "int64", "bool", "bytes", "double"]
FILE_NAMES = ["shop", "billing", "inventory", "audit"]
ODD_COMMENTS = [
    "Says \"hello\" and 'bye'.",
    'Ends in a triple quote """',
    "Holds \\N{BULLET} and \\p{L} and a backslash \\",
    "Jinja-like {{ name }} and {% raw %} and {# x #}",
    "Non-ASCII: caf\u00e9, \u65e5\u672c\u8a9e, \U0001f642, \u00df",
    '"""',
    "A tab\there and trailing spaces   ",
    "Percent %s and %(x)s and {0} and $HOME",
    "''' single triple quotes '''",
    'Ends with a quote"',
]


@dataclass
class Rpc:
    name: str
    request: str
    response: str
    client_streaming: bool = False
    server_streaming: bool = False
    comment: str | None = None


@dataclass
class Service:
    name: str
    rpcs: list[Rpc] = field(default_factory=list)
    comment: str | None = None


@dataclass
class Message:
    name: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, type)
    comment: str | None = None


@dataclass
class ProtoFile:
    stem: str
    services: list[Service] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    imports: dict[str, bool] = field(default_factory=dict)
    """The stems of the files it imports, each with whether publicly."""

    @property
    def package(self) -> str:
        return f"{self.stem}.v1"

    def render(self) -> str:
        lines = ['syntax = "proto3";', "", f"package {self.package};", ""]
        for stem, public in sorted(self.imports.items()):
            lines.append(f'import {"public " if public else ""}"{stem}.proto";')
        lines += [""] if self.imports else []
        for message in self.messages:
            lines += _comment(message.comment, "")
            lines.append(f"message {message.name} {{")
            for number, (name, kind) in enumerate(message.fields, 1):
                lines.append(f"  {kind} {name} = {number};")
            lines += ["}", ""]
        for service in self.services:
            lines += _comment(service.comment, "")
            lines.append(f"service {service.name} {{")
            for rpc in service.rpcs:
                lines += _comment(rpc.comment, "  ")
                request = ("stream " if rpc.client_streaming else "") + rpc.request
                response = ("stream " if rpc.server_streaming else "") + rpc.response
                lines.append(f"  rpc {rpc.name} ({request}) returns ({response}) {{}}")
            lines += ["}", ""]
        return "\n".join(lines)


def _comment(text: str | None, indent: str) -> list[str]:
    return [] if text is None else [f"{indent}// {text}"]


@dataclass
class Protos:
    files: list[ProtoFile]

    def copy(self) -> Protos:
        return copy.deepcopy(self)

    def services(self) -> list[tuple[ProtoFile, Service]]:
        return [(f, s) for f in self.files for s in f.services]

    def rpcs(self) -> list[tuple[ProtoFile, Service, Rpc]]:
        return [(f, s, r) for f in self.files for s in f.services for r in s.rpcs]

    def messages(self) -> list[tuple[ProtoFile, Message]]:
        return [(f, m) for f in self.files for m in f.messages]

    def seen_from(self, stem: str) -> set[str]:
        """The stems `stem` imports, and what they import, transitively: a file among them cannot import it."""
        by_stem = {f.stem: f for f in self.files}
        seen: set[str] = set()
        pending = [stem]
        while pending:
            for imported in by_stem[pending.pop()].imports:
                if imported not in seen and imported in by_stem:
                    seen.add(imported)
                    pending.append(imported)
        return seen

    def drop_references(self, to: ProtoFile, message: str | None = None) -> None:
        """Fields of other files that use `message` of `to` (any of its messages, when None) go, and with
        `message` None, the imports of `to`."""
        prefix = f".{to.package}."
        for other in self.files:
            if other is to:
                continue
            for kept in other.messages:
                kept.fields = [
                    (n, t) for n, t in kept.fields if not (t == prefix + message if message else t.startswith(prefix))
                ]
            if message is None:
                other.imports.pop(to.stem, None)

    def texts(self) -> dict[str, str]:
        return {f"{f.stem}.proto": f.render() for f in self.files}


def initial() -> Protos:
    """Two services in one file (four shapes), a message-only file."""
    shop = ProtoFile(
        "shop",
        services=[
            Service(
                "Store",
                [
                    Rpc("Get", "Item", "Item", comment='Gets "it".'),
                    Rpc("List", "Item", "Item", server_streaming=True),
                    Rpc("Upload", "Item", "Receipt", client_streaming=True),
                ],
                comment="A store.",
            ),
            Service("Catalog", [Rpc("Chat", "Item", "Item", True, True), Rpc("Find", "Item", "Item")]),
        ],
        messages=[Message("Item", [("name", "string"), ("size", "int32")]), Message("Receipt", [("id", "string")])],
    )
    billing = ProtoFile("billing", messages=[Message("Thing", [("name", "string")])])
    return Protos([shop, billing])
