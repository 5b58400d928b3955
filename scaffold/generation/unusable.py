"""What generated code could not take, refused at its proto line and column.

grpc's plugin turns a keyword into `def None(...)`, two services of one
proto into two classes of one name, and a chain of imports into modules
Python cannot import: each compiles or imports wrong only later, far from
the proto. Describing (`scaffold.generation.describe`, and the summary of
each file, `scaffold.generation.summary`) asks here first, and each problem
is located through the file's source info (`position`).
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from google.protobuf import descriptor_pb2

from scaffold.core.errors import Diagnostic
from scaffold.generation.protocresult import ProtoInput

if TYPE_CHECKING:
    from scaffold.generation.summary import Summary

_SERVICE_FIELD = descriptor_pb2.FileDescriptorProto.SERVICE_FIELD_NUMBER


def position(proto: descriptor_pb2.FileDescriptorProto, path: tuple[int, ...]) -> tuple[int, int]:
    """Line and column (1-based) of the element at source path `path`; 1:1 where the source info has none."""
    for location in proto.source_code_info.location:
        if tuple(location.path) == path:
            return location.span[0] + 1, location.span[1] + 1
    return 1, 1


def unusable(
    proto: descriptor_pb2.FileDescriptorProto, path: tuple[int, ...], what: str, name: str
) -> list[tuple[str, int, int]]:
    """Why grpc's plugin cannot turn `name` into working Python, at its proto line and column; [] if it can.

    A keyword becomes `def None(...)` / `class class(...)`, a SyntaxError in
    grpc's own module; a dunder RPC (`__init__`, `__call__`) would replace the
    method Python itself calls on the stub and servicer classes.
    """
    if keyword.iskeyword(name):
        reason = "is a Python keyword"
    elif what == "RPC" and name.startswith("__") and name.endswith("__"):
        reason = "is a Python special method name"
    else:
        return []
    line, col = position(proto, path)
    return [(f"{what} name {name!r} {reason}; grpc's plugin cannot generate it", line, col)]


_REQUEST, _RESPONSE = 2, 3  # MethodDescriptorProto's input_type and output_type


def unnamable_types(
    proto: descriptor_pb2.FileDescriptorProto, path: tuple[int, ...], method: descriptor_pb2.MethodDescriptorProto
) -> list[tuple[str, int, int]]:
    """An RPC whose request or response type Python code cannot name (`message None`: `x_pb2.None` is a
    SyntaxError in the servicer, client and tests), at the type in the RPC's line. A message so named that
    no RPC uses is left to protobuf, which builds it (`getattr(x_pb2, "None")`)."""
    problems = []
    for number, side, type_name in (
        (_REQUEST, "request", method.input_type),
        (_RESPONSE, "response", method.output_type),
    ):
        parts = type_name.removeprefix(".").split(".")  # the package's parts too: `a.class.v1` is a fine package
        named = [parts[-1]] if keyword.iskeyword(parts[-1]) else [p for p in parts if p in ("None", "True", "False")]
        if named:
            line, col = position(proto, (*path, number))
            message = (
                f"RPC {method.name!r}: its {side} type {type_name.removeprefix('.')!r} holds {named[0]!r}, a Python"
                " keyword, which generated code cannot name; rename the message"
            )
            problems.append((message, line, col))
    return problems


MAX_IMPORT_DEPTH = 64
"""Python imports a module inside the import of the module that needs it, about ten frames a level in a
package: a chain of 100 generated modules ends in RecursionError, 90 still imports from a bare shell
(measured, Python 3.11). The callers' own frames (pytest, a server framework) need room too."""


def too_deep(
    proto_of: Callable[[str], descriptor_pb2.FileDescriptorProto],
    summaries: Mapping[str, Summary],
    inputs: Sequence[ProtoInput],
    locations: dict[str, str],
) -> list[Diagnostic]:
    """An input whose chain of imports is too deep for Python to import, located at the import that starts it."""
    depth: dict[str, int] = {}
    for name, summary in summaries.items():  # protoc lists every file after its imports
        depth[name] = 1 + max((depth.get(dependency, 0) for dependency in summary.dependency), default=0)
    deepest = max(inputs, key=lambda item: depth[item.name], default=None)
    problems = []
    for item in [deepest] if deepest is not None and depth[deepest.name] > MAX_IMPORT_DEPTH else []:
        proto = proto_of(item.name)
        index = max(range(len(proto.dependency)), key=lambda i: depth.get(proto.dependency[i], 0))
        line, col = position(proto, (descriptor_pb2.FileDescriptorProto.DEPENDENCY_FIELD_NUMBER, index))
        message = (
            f"imports a chain of {depth[item.name] - 1} protos (through {proto.dependency[index]!r}); Python cannot"
            f" import generated modules nested deeper than {MAX_IMPORT_DEPTH}: flatten the imports"
        )
        problems.append(Diagnostic(locations[item.name], message, line, col))
    return problems  # the deepest input only: in a chain every input above the limit says the same


def grpc_name_clashes(
    proto: descriptor_pb2.FileDescriptorProto, index: int, defined: dict[str, str]
) -> list[tuple[str, int, int]]:
    """Services of one proto whose names in grpc's module collide (`Greeter` and `GreeterStub`: two
    classes `GreeterStub`, the second silently replacing the first); located at the later service."""
    name = proto.service[index].name
    problems = []
    for generated in (name, f"{name}Stub", f"{name}Servicer", f"add_{name}Servicer_to_server"):
        other = defined.setdefault(generated, name)
        if other != name:
            line, col = position(proto, (_SERVICE_FIELD, index))
            message = (
                f"service {name!r}: grpc's module would define {generated} for both {other} and {name}; rename one"
            )
            problems.append((message, line, col))
    return problems
