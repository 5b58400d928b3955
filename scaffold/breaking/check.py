"""`scaffold breaking`: the proto changes that break deployed clients, and the code of yours they touch.

The rules are buf's (`scaffold.breaking.rules`); what this module adds is
the loop around them: the two sides read from the project and from a git
revision, a directory or a descriptor set (`scaffold.breaking.sides`), buf's
`ignore` and `ignore_only`, and for each break the servicer method, client
function and tests of every RPC it concerns, found in the user's files as
they are now (so a method the user moved is still found).
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scaffold.breaking import bufyaml, selection, sides
from scaffold.breaking import rules as breaking_rules
from scaffold.breaking.protosource import Message, Side
from scaffold.breaking.rules import Break, Subject
from scaffold.core.errors import ScaffoldError, fail
from scaffold.generation.config import BreakingConfig, Config


@dataclass(frozen=True)
class Touch:
    """A place in the user's code that a break concerns: `path:line symbol`."""

    path: str
    line: int
    symbol: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.symbol}"


@dataclass(frozen=True)
class Finding:
    """A break as the user sees it: where (in the current proto, else the old one) and what it touches."""

    found: Break
    path: str
    line: int
    col: int
    touches: tuple[Touch, ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}:{self.found.rule}:{self.found.message}"

    def as_json(self) -> str:
        return json.dumps(
            {
                "path": self.path,
                "line": self.line,
                "column": self.col,
                "rule": self.found.rule,
                "message": self.found.message,
                "touches": [{"path": t.path, "line": t.line, "symbol": t.symbol} for t in self.touches],
            }
        )


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    against: str
    category: str
    """The rules chosen, as the user named them (`FILE`, `WIRE, FIELD_SAME_NAME except FIELD_NO_DELETE`)."""
    rules: int
    notes: tuple[str, ...] = ()
    """What a buf.yaml asks that scaffold cannot honour, one line each."""


def check(config: Config, against: str | None = None, category: str | None = None, base: Path | None = None) -> Report:
    """Compare the project's protos with `against` (else the config's) under `category` (else the rules the
    config, and a buf.yaml beside the protos, select)."""
    settings, notes = effective(config)
    ref = against or settings.against
    if not ref:
        raise fail(
            str(config.root / "pyproject.toml"),
            "nothing to compare against: pass --against REF or set against in [tool.scaffold.breaking]",
        )
    rules, chosen = _rules(settings, category)
    config = replace(config, breaking=settings)
    current = sides.of_project(config)
    previous = sides.against(config, ref, (base or Path.cwd()) if against else config.root, current)
    found = [b for b in breaking_rules.find(current, previous, rules) if not _ignored(b, config, current, previous)]
    code = _Code(config, current, previous)
    here = (base or Path.cwd()).resolve()
    findings = tuple(_relative(_finding(b, current, previous, code.touches(b.subject)), here) for b in found)
    return Report(findings, ref, chosen, len(rules), notes)


def effective(config: Config) -> tuple[BreakingConfig, tuple[str, ...]]:
    """`[tool.scaffold.breaking]` with what it leaves unsaid taken from a buf.yaml beside the protos, and a
    line for each thing of that buf.yaml scaffold does not honour."""
    path = bufyaml.find(config)
    if path is None:
        return config.breaking, ()
    buf = bufyaml.read(path, config)
    notes = tuple(f"{path}: {key} is not honoured by scaffold breaking (buf only)" for key in buf.unhonoured)
    return bufyaml.applied(config.breaking, buf), notes


def _rules(settings: BreakingConfig, category: str | None) -> tuple[tuple[str, ...], str]:
    if category or not (settings.use or settings.leave_out):
        chosen = category or settings.category
        return tuple(rule.id for rule in breaking_rules.RULES.values() if chosen in rule.categories), chosen
    use = settings.use or (settings.category,)
    selected = selection.select(settings.version, use, settings.leave_out)
    named = ", ".join(use) + (f" except {', '.join(settings.leave_out)}" if settings.leave_out else "")
    if isinstance(selected, str):
        raise fail("[tool.scaffold.breaking]", f"use {named}: {selected}")
    return selected, named


def _relative(finding: Finding, base: Path) -> Finding:
    """Paths under the working directory as relative paths, the way editors and CI annotators want them."""

    def shown(path: str) -> str:
        try:
            return Path(path).resolve().relative_to(base).as_posix() if Path(path).is_absolute() else path
        except ValueError:
            return path

    touches = tuple(Touch(shown(t.path), t.line, t.symbol) for t in finding.touches)
    return Finding(finding.found, shown(finding.path), finding.line, finding.col, touches)


def _finding(item: Break, current: Side, previous: Side, touches: tuple[Touch, ...]) -> Finding:
    if item.location is not None:
        return Finding(item, current.shown(item.location.file), item.location.line, item.location.col, touches)
    if item.file is not None:
        return Finding(item, current.shown(item.file), 1, 1, touches)
    if item.against is not None:
        return Finding(item, previous.shown(item.against.file), item.against.line, item.against.col, touches)
    return Finding(item, previous.shown(item.against_file or ""), 1, 1, touches)


def _ignored(item: Break, config: Config, current: Side, previous: Side) -> bool:
    """buf's `ignore` and `ignore_only`, matched against the break's file now or, gone, as it was."""
    settings = config.breaking
    names = {name for name in (item.file, item.against_file) if name}
    if settings.ignore_unstable_packages and any(
        selection.unstable(side.all[name].package) for name in names for side in (current, previous) if name in side.all
    ):
        return True
    paths = list(settings.ignore)
    for key, listed in settings.ignore_only:
        rule_categories = selection.categories(settings.version).get(item.rule, ())
        if key == item.rule or key in rule_categories or item.rule in selection.DEPRECATED.get(key, ()):
            paths += listed
    if not paths:
        return False
    shown = {side.shown(name) for name in names for side in (current, previous)}
    root = config.root.as_posix().rstrip("/") + "/"
    candidates = names | {s.removeprefix(root) for s in shown}
    return any(_under(candidate, path) for candidate in candidates for path in paths)


def _under(name: str, path: str) -> bool:
    path = path.strip("/")
    return name == path or name.startswith(path + "/")


class _Code:
    """Where the user's servicer methods, client functions and tests of each RPC are, read from the files."""

    def __init__(self, config: Config, current: Side, previous: Side) -> None:
        self.config = config
        self.root = config.root
        self.sides = (current, previous)
        package = self.root / config.package
        # Either layout's modules, whichever are there (after a layout switch, what stayed behind too).
        self.servicer = _found(_classes, [package / "servicer.py", *_modules(package / "services")])
        self.client = _found(_functions, [package / "client.py", *_modules(package / "clients")])
        self.tests = _found(_functions, sorted((self.root / "tests").rglob("test_*.py")))
        self._reached: dict[tuple[int, str], frozenset[str]] = {}

    @functools.cached_property
    def names(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(service, RPC) -> (servicer class, client function) as scaffold names them now; worked out only
        when a break has code to point at (on googleapis, describing a side takes seconds)."""
        return _model_names(self.config, self.sides[0])

    @functools.cached_property
    def names_before(self) -> dict[tuple[str, str], tuple[str, str]]:
        """The same for the old protos: an RPC gone from the protos may still be in the code (an orphan)."""
        return _model_names(self.config, self.sides[1])

    def _names_of(self, service: str, rpc: str) -> tuple[str, str] | None:
        return self.names.get((service, rpc)) or self.names_before.get((service, rpc))

    def touches(self, subject: Subject) -> tuple[Touch, ...]:
        if not (self.servicer or self.client or self.tests):
            return ()  # no code of the user's to point at (a tree of protos only)
        found: list[Touch] = []
        for service, rpc in self._rpcs(subject):
            found += self._of_rpc(service, rpc)
        if subject.kind == "service" and not found:
            found += self._of_class(subject.name)
        return tuple(dict.fromkeys(found))

    def _rpcs(self, subject: Subject) -> Iterator[tuple[str, str]]:
        """The RPCs a subject concerns: itself, a service's, those whose messages reach a type, a file's."""
        if subject.kind == "rpc":
            yield subject.name, subject.member
            return
        for side in self.sides:
            for service in side.services.values():
                if subject.kind == "service" and service.full_name != subject.name:
                    continue
                if subject.kind == "file" and service.file.name != subject.name:
                    continue
                for method in service.methods:
                    if subject.kind in ("message", "enum") and not self._reaches(side, method.proto, subject.name):
                        continue
                    yield service.full_name, method.name

    def _reaches(self, side: Side, method: Any, type_name: str) -> bool:
        for end in (method.input_type, method.output_type):
            key = (id(side), end)
            if key not in self._reached:
                self._reached[key] = frozenset(_reached(side, end))
            if type_name in self._reached[key]:
                return True
        return False

    def _of_rpc(self, service: str, rpc: str) -> list[Touch]:
        names = self._names_of(service, rpc)
        if names is None:
            return []
        class_name, function = names
        found = []
        method = self.servicer.get(f"{class_name}.{rpc}")
        if method is not None:
            found.append(Touch(*method, f"{class_name}.{rpc}"))
        client = self.client.get(function)
        if client is not None:
            found.append(Touch(*client, function))
        for test, (path, line) in self.tests.items():
            if test == f"test_{function}" or test.startswith(f"test_{function}_"):
                found.append(Touch(path, line, test))
        return found

    def _of_class(self, service: str) -> list[Touch]:
        for (name, _), (class_name, _) in {**self.names_before, **self.names}.items():
            if name == service and class_name in self.servicer:
                return [Touch(*self.servicer[class_name], class_name)]
        return []


def _modules(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*.py") if path.name != "__init__.py")


def _found(scan: Callable[[Path], dict[str, int]], paths: Iterable[Path]) -> dict[str, tuple[str, int]]:
    """Name -> (path, line) of its first definition in `paths`, in order."""
    found: dict[str, tuple[str, int]] = {}
    for path in paths:
        for name, line in scan(path).items():
            found.setdefault(name, (path.as_posix(), line))
    return found


def _reached(side: Side, type_name: str, seen: set[str] | None = None) -> set[str]:
    """Every message and enum a message refers to through its fields, itself included."""
    seen = set() if seen is None else seen
    name = type_name.lstrip(".")
    if name in seen:
        return seen
    seen.add(name)
    found = side.types.get(name)
    if isinstance(found, Message):
        for member in found.fields:
            if member.type_name:
                _reached(side, member.type_name, seen)
    return seen


def _model_names(config: Config, side: Side) -> dict[tuple[str, str], tuple[str, str]]:
    """(service, RPC) -> (servicer class, client function), as scaffold names them for this side's protos."""
    from google.protobuf import descriptor_pb2

    from scaffold.core.model import whole_of
    from scaffold.generation.describe import describe
    from scaffold.generation.generate import user_project
    from scaffold.generation.protocresult import ProtocResult, ProtoInput

    files = descriptor_pb2.FileDescriptorSet(file=[f.proto for f in side.all.values()])
    inputs = tuple(ProtoInput(Path(side.shown(name)), name) for name in side.files)
    result = ProtocResult(inputs, tuple(side.files), {}, files, (), ())  # parsed already: no bytes at hand
    try:
        project = describe(result, config.package, config.generated)
    except ScaffoldError:
        return {}  # names scaffold refuses to generate: nothing of the user's to point at
    return {
        (whole_of(service.full_name), rpc.name): (service.class_name, rpc.function)
        for service in user_project(config, project).services  # a split service's methods are in its parts
        for rpc in service.rpcs
    }


_TOP_LEVEL_DEF = re.compile(r"^(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)


def _functions(path: Path) -> dict[str, int]:
    """Top-level functions by line. A `def` at column 0 is one (or is in a string that puts it there): a
    scan, not a parse, since a client and tests of googleapis' size are 300,000 lines ast takes seconds on."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    found: dict[str, int] = {}
    line, counted = 1, 0
    for match in _TOP_LEVEL_DEF.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        found.setdefault(match[1], line)
    return found


def _classes(path: Path) -> dict[str, int]:
    """Classes and their methods (`Class.method`) by line: parsed, since methods are found by class."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    found: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found.setdefault(node.name, node.lineno)
            for member in node.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.setdefault(f"{node.name}.{member.name}", member.lineno)
    return found


def lines(report: Report, as_json: bool) -> Iterable[str]:
    for finding in report.findings:
        if as_json:
            yield finding.as_json()
            continue
        yield str(finding)
        for touch in finding.touches:
            yield f"    touches {touch}"
