"""Stage: from protoc's descriptors to the model templates read (`scaffold.core.model`).

No descriptor_pb2 object leaves the describing: names, imports, docstrings
and the shape of every RPC are resolved here, and so is everything that
would make generated code fail (keywords, names that collide in grpc's
module or in the client, imports nested too deep for Python), refused at
its proto line (`scaffold.generation.unusable`). Each file is read into a
summary of plain data first (`scaffold.generation.summary`, kept in the
memo); this module assembles the model from the summaries of all files:
the names given out across them, each message's module and import alias,
the arguments a message's required fields need.
"""

from __future__ import annotations

import functools
import keyword
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from google.protobuf import descriptor_pb2

from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.core.imports import Import
from scaffold.core.model import KINDS, MessageRef, Project, ProtoFile, Rpc, Service
from scaffold.core.naming import docstring_body, module_path, safe_identifier, snake_case
from scaffold.generation.protoc import provided_by_runtime
from scaffold.generation.protocresult import ProtocResult
from scaffold.generation.summary import FoundService, Summary, summarise, summary_of
from scaffold.generation.unusable import too_deep
from scaffold.record.memo import Memo

_FILE = descriptor_pb2.FileDescriptorProto
_FieldType = descriptor_pb2.FieldDescriptorProto

_CLIENT_NAMES = frozenset(
    {"main", "run", "channel", "args", "parser", "argv", "target", "succeeded", "argparse", "asyncio", "grpc"}
    | {"message", "partial", "pytest", "annotations", "serving", "status_of", "server_accepts_connections", "calls"}
)


def _distinct(names: Sequence[str], reserved: frozenset[str]) -> list[str]:
    """Python identifiers for `names`, pairwise distinct and none in `reserved`.

    RPCs may differ only by case (`GetThing`, `getThing`), which snake_case
    folds together; two `def`s of one name would silently test only the last.
    Later ones get `_2`, `_3`, ... in declaration order; a reserved name or a
    keyword gets a trailing underscore first (PEP 8).
    """
    taken: set[str] = set()
    result = []
    for name in names:
        first = safe_identifier(name)
        if first in reserved:
            first += "_"
        candidate, number = first, 2
        while candidate in taken:
            candidate, number = f"{first}_{number}", number + 1
        taken.add(candidate)
        result.append(candidate)
    return result


def _in_imports(
    result: ProtocResult, summaries: Mapping[str, Summary], locations: Mapping[str, str]
) -> list[Diagnostic]:
    """What grpc's plugin cannot generate in an imported proto the project generates too (its
    `_pb2_grpc` module would not compile), at the proto line; the file is placed beside the first input
    found under the same include root (`protos/` in a project)."""
    inputs = {item.name for item in result.inputs}
    root = next(
        (path.removesuffix(name) for name, path in locations.items() if path.endswith(name)),
        "",
    )
    return [
        Diagnostic(root + name, *problem)
        for name in result.generated_names
        if name not in inputs and name in summaries
        for problem in summaries[name].problems
        if "grpc's" in problem[0]  # the servicer, client and tests scaffold renders are the inputs' alone
    ]


def describe(result: ProtocResult, package: str, generated_subpackage: str, memo: Memo | None = None) -> Project:
    """The model of the input protos of one protoc run, for the Python package `package`; `memo` keeps
    each file's summary from earlier runs (see `Summary`)."""
    generated_package = f"{package}.{generated_subpackage}"
    if result.descriptor_bytes:  # a regeneration's: summaries from the memo, files parsed only on a miss
        serialized = result.descriptor_bytes
        keys = result.descriptor_keys
        summaries = {
            name: summary_of(functools.partial(serialized.__getitem__, name), memo, keys.get(name))
            for name in serialized
        }
        proto_of: Callable[[str], descriptor_pb2.FileDescriptorProto] = lambda name: _FILE.FromString(serialized[name])
    else:  # parsed already (`breaking`, `describe`, a replay): summarised as they are
        files = {f.name: f for f in result.descriptors.file}
        summaries = {name: summarise(file) for name, file in files.items()}
        proto_of = files.__getitem__
    locations = {item.name: item.path.as_posix() for item in result.inputs}
    modules = _ModuleNames(summaries, generated_package, result.provided)
    messages = _MessageIndex(summaries)

    problems: list[Diagnostic] = too_deep(proto_of, summaries, result.inputs, locations)
    services: list[tuple[str, FoundService]] = []
    for item in result.inputs:
        summary = summaries[item.name]
        problems += [Diagnostic(locations[item.name], *problem) for problem in summary.problems]
        services += [(item.name, service) for service in summary.services]
    problems += _in_imports(result, summaries, locations)
    if problems:
        raise ScaffoldError(problems)

    class_names = _unique(
        [service.name for _, service in services], [_camel(summaries[name].package) for name, _ in services]
    )
    function_names = _unique(
        [snake_case(method.name) for _, service in services for method in service.methods],
        [
            snake
            for (_, service), class_name in zip(services, class_names, strict=True)
            for snake in [snake_case(class_name)] * len(service.methods)
        ],
        joiner="_",
    )
    functions = iter(_distinct(function_names, _CLIENT_NAMES))
    model_services: dict[str, list[Service]] = {}
    for (proto_name, service), class_name in zip(services, class_names, strict=True):
        proto_package = summaries[proto_name].package
        full_name = f"{proto_package}.{service.name}" if proto_package else service.name
        model_rpcs = tuple(
            Rpc(
                name=method.name,
                route=f"/{full_name}/{method.name}",
                kind=KINDS[(method.client_streaming, method.server_streaming)],
                request=messages.ref(method.input_type, modules),
                response=messages.ref(method.output_type, modules),
                doc=docstring_body(_with_deprecation(method.doc, method.deprecated, "RPC")),
                deprecated=method.deprecated,
                function=next(functions),
                summary=_first_sentence(method.doc),
            )
            for method in service.methods
        )
        model_services.setdefault(proto_name, []).append(
            Service(
                name=service.name,
                full_name=full_name,
                snake=safe_identifier(snake_case(class_name)),
                grpc_import=modules.import_of(proto_name, grpc=True),
                class_name=f"{class_name}Servicer",
                doc=docstring_body(_with_deprecation(service.doc, service.deprecated, "service")),
                deprecated=service.deprecated,
                rpcs=model_rpcs,
                package=proto_package,
            )
        )
    proto_files = tuple(
        ProtoFile(item.name, summaries[item.name].package, tuple(model_services.get(item.name, ())), package)
        for item in result.inputs
    )
    return Project(package=package, generated_package=generated_package, files=proto_files)


class _ModuleNames:
    """Python module paths and import aliases of generated modules.

    The alias is the module's own name (`common_pb2`) unless two protos share
    a file name, in which case the directory joins in (`a_common_pb2`).
    """

    def __init__(self, files: Iterable[str], generated_package: str, provided: frozenset[str] = frozenset()) -> None:
        self._generated_package = generated_package
        self._provided = provided  # installed distributions' modules: imported where they are, as the runtime's
        self._stem_counts = Counter(module_path(name).rpartition("/")[2] for name in files)
        self._imports: dict[tuple[str, bool], Import] = {}  # googleapis asks 26,000 times, for 3,000 modules

    def import_of(self, proto_name: str, grpc: bool = False) -> Import:
        found = self._imports.get((proto_name, grpc))
        if found is None:
            found = self._imports[proto_name, grpc] = self._import_of(proto_name, grpc)
        return found

    def _import_of(self, proto_name: str, grpc: bool) -> Import:
        parent, _, name = module_path(proto_name).rpartition("/")
        suffix = "_pb2_grpc" if grpc else "_pb2"
        stem = name if self._stem_counts[name] == 1 else module_path(proto_name).replace("/", "_")
        directories = parent.replace("/", ".")
        if proto_name in self._provided or provided_by_runtime(proto_name):
            package = directories
        else:
            package = f"{self._generated_package}.{directories}" if directories else self._generated_package
        return Import(package, name + suffix, stem + suffix)


_ZERO: dict[int, str] = {
    _FieldType.TYPE_STRING: '""',
    _FieldType.TYPE_BYTES: 'b""',
    _FieldType.TYPE_BOOL: "False",
    _FieldType.TYPE_DOUBLE: "0.0",
    _FieldType.TYPE_FLOAT: "0.0",
}


class _MessageIndex:
    def __init__(self, summaries: Mapping[str, Summary]) -> None:
        self._where: dict[str, tuple[str, str]] = {}
        self._required: dict[str, tuple[tuple[str, int, str], ...]] = {}
        self._enums: dict[str, str] = {}
        self._arguments: dict[str, str] = {}  # googleapis names 24,000 request and response types, 14,000 distinct
        self._refs: dict[str, MessageRef] = {}
        for proto_name, summary in summaries.items():
            for full_name, qualname, required in summary.messages:
                self._where[full_name] = (proto_name, qualname)
                self._required[full_name] = required
            self._enums.update(summary.enums)

    def ref(self, type_name: str, modules: _ModuleNames) -> MessageRef:
        """The message `type_name` as the model names it; made once per message (googleapis' 14,000 RPCs
        name 14,000 distinct messages 28,000 times)."""
        found = self._refs.get(type_name)
        if found is None:
            full_name = type_name.lstrip(".")
            proto_name, qualname = self._where[full_name]
            required = self.required_arguments(full_name)
            found = self._refs[type_name] = MessageRef(full_name, modules.import_of(proto_name), qualname, required)
        return found

    def required_arguments(self, full_name: str) -> str:
        """`id=0, point={"x": 0}`: each required field with its zero value (a dict for a message,
        which protobuf's constructors accept); fields named like keywords go through `**{"from": ""}`."""
        if full_name in self._arguments:
            return self._arguments[full_name]
        fields = self._required_fields(full_name, frozenset())
        plain = [f"{name}={value}" for name, value in fields if not keyword.iskeyword(name)]
        keywords = [f'"{name}": {value}' for name, value in fields if keyword.iskeyword(name)]
        found = ", ".join(plain + (["**{" + ", ".join(keywords) + "}"] if keywords else []))
        self._arguments[full_name] = found
        return found

    def _required_fields(self, full_name: str, seen: frozenset[str]) -> list[tuple[str, str]]:
        """(name, zero value) of the message's required fields."""
        required = self._required[full_name]
        if not required:  # most messages (googleapis' leaf change asked 18,000 times)
            return []
        inner = seen | {full_name}
        return [(name, self._zero(field_type, type_name, inner)) for name, field_type, type_name in required]

    def _zero(self, field_type: int, type_name: str, seen: frozenset[str]) -> str:
        if field_type in (_FieldType.TYPE_MESSAGE, _FieldType.TYPE_GROUP):
            pairs = [] if type_name in seen else self._required_fields(type_name, seen)
            return "{" + ", ".join(f'"{name}": {value}' for name, value in pairs) + "}"
        if field_type == _FieldType.TYPE_ENUM:
            return f'"{self._enums.get(type_name, "")}"'
        return _ZERO.get(field_type, "0")


def _first_sentence(comment: str) -> str:
    text = " ".join(comment.split())
    end = text.find(". ")
    return text[: end + 1] if end != -1 else text


def _with_deprecation(doc: str, deprecated: bool, what: str) -> str:
    if not deprecated:
        return doc
    note = f"Deprecated: the proto marks this {what} deprecated."
    return f"{doc}\n\n{note}" if doc else note


def _camel(proto_package: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in proto_package.replace("_", ".").split(".") if part)


def _unique(names: Sequence[str], qualifiers: Sequence[str], joiner: str = "") -> list[str]:
    """`names`, with each repeated one prefixed by its qualifier so that all differ."""
    counts = Counter(names)
    return [f"{q}{joiner}{n}" if counts[n] > 1 and q else n for n, q in zip(names, qualifiers, strict=True)]
