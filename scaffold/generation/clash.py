"""A proto of the project that an installed distribution ships too, at another version: refused, located.

protobuf keeps one pool of file descriptors per process, by proto name: the
project's `google/rpc/status.proto` and googleapis-common-protos' own cannot
both be loaded unless they describe the same thing (`TypeError: Couldn't build
proto file into descriptor pool: duplicate file name`), and grpcio-status,
Google's client libraries and OpenTelemetry load the installed one. So a copy
that differs from what an installed distribution ships under the same name is
named with both files before anything is written; a copy equal to it (comments
and layout aside: the pool compares descriptors) is fine.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from google import protobuf
from google.protobuf import descriptor_pb2

from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.generation import providers
from scaffold.generation.protocresult import ProtocResult
from scaffold.record.hashes import Hashes
from scaffold.record.memo import Memo

_FILE = descriptor_pb2.FileDescriptorProto
_SHIPPED_PREFIXES = ("google/", "grpc/", "buf/", "opentelemetry/")
"""Where a distribution's protos live; any other name is the project's own, and costs no lookup."""


def checked(
    result: ProtocResult,
    root: Path,
    proto_paths: Sequence[str],
    new_from: Sequence[Path],
    memo: Memo | None = None,
    hashes: Hashes | None = None,
) -> ProtocResult:
    """`result`, once no proto the project generates clashes with an installed one: a regeneration stops,
    located at the copy; `new` (copying from the include roots `new_from`) says so as a warning at the
    file it copies, and makes the project (a PyPI project's vendored tree still generates, as issue 31
    asks), which `gen` then refuses until the copy is settled."""
    copying = (lambda name: next(r / name for r in new_from if (r / name).is_file())) if new_from else None
    problems = list(clashes(result, root, proto_paths, copying, memo, hashes))
    if problems and not new_from:
        raise ScaffoldError(problems)
    warned = tuple(dataclasses.replace(problem, severity="warning") for problem in problems)
    return dataclasses.replace(result, warnings=result.warnings + warned) if warned else result


def clashes(
    result: ProtocResult,
    root: Path,
    proto_paths: Sequence[str],
    copying: Callable[[str], Path] | None = None,
    memo: Memo | None = None,
    hashes: Hashes | None = None,
) -> Iterable[Diagnostic]:
    for name in result.generated_names:
        if not name.startswith(_SHIPPED_PREFIXES) or name.startswith("google/protobuf/"):
            continue
        shipped = providers.installed_root(name)
        if shipped is None:  # no distribution ships it, nothing to clash with: no stat (googleapis: 65 of 7,234 are)
            continue
        kept = next((f"{d}/{name}" for d in proto_paths if (root / d / name).is_file()), None)
        copy = kept or (str(copying(name)) if copying is not None else None)  # `new`: what it would copy
        if copy is None:
            continue  # compiled from where it is installed: the distribution's own file
        verdict = _verdict(result, name, memo, hashes)
        if verdict is None:
            continue
        registered, same = verdict
        distribution, installed = shipped
        instead = (
            f"leave out the -I that holds it, and `new` imports it from {distribution}"
            if kept is None
            else f'import it from there (`installed = ["{distribution}"]` in [tool.scaffold])'
        )
        if registered != name:  # a second name for a file the distribution registers as another
            yield Diagnostic(
                copy,
                f"defines what {installed / name} ({distribution}, installed) defines, which its module registers "
                f"as {registered}: protobuf cannot load both in one process; {instead} rather than copying it",
                1,
                1,
            )
        elif not same:
            yield Diagnostic(
                copy,
                f"differs from {installed / name} ({distribution}, installed) though both are {name}: protobuf "
                "cannot load both in one process, and grpcio-status and Google's libraries load the installed one; "
                f"make this copy the installed version (copy it over), or {instead}",
                1,
                1,
            )


def _verdict(result: ProtocResult, name: str, memo: Memo | None, hashes: Hashes | None) -> tuple[str, bool] | None:
    """The name the installed distribution's module registers for `name`, and whether the project's
    descriptor is the same as the pool compares them; None when that module cannot be loaded.

    Kept in the memo by the project's descriptor (`summary.descriptor_key`), the hash of the module's
    file and protobuf's version (which decides whether it loads): googleapis copies 65 protos a
    distribution ships, and importing the 65 modules and reading the copies' descriptors again on every
    run cost a leaf change a tenth of a second. A module this process imported already (`watch`, `dev`)
    is judged as loaded and not kept: the file may have been upgraded since."""
    key = _memo_key(result, name, hashes) if memo is not None else None
    kept = memo.get(key) if memo is not None and key else None
    if isinstance(kept, tuple) and len(kept) == 2:
        return kept[0], kept[1]
    theirs = _installed(name)
    if theirs is None:
        return None
    ours = _ours(result, name)
    verdict = theirs.name, ours is None or _comparable(ours) == _comparable(theirs)
    if memo is not None and key:
        memo.put(key, verdict)
    return verdict


def _memo_key(result: ProtocResult, name: str, hashes: Hashes | None) -> str | None:
    module = _module_of(name)
    ours = result.descriptor_keys.get(name)
    if module in sys.modules or not ours:
        return None
    try:
        spec = importlib.util.find_spec(module)
        file = spec.origin if spec is not None else None
        return f"clash:{ours}:{(hashes or Hashes()).sha256(file)}:{protobuf.__version__}" if file else None
    except Exception:  # noqa: BLE001 - a parent package that does not import: nothing to key by (nor to load)
        return None


def _module_of(name: str) -> str:
    return name.removesuffix(".proto").replace("/", ".") + "_pb2"


def _installed(name: str) -> _FILE | None:
    """The descriptor the distribution's own `_pb2` module registers, or None when it cannot be loaded."""
    try:
        loaded = importlib.import_module(_module_of(name))
        return _FILE.FromString(loaded.DESCRIPTOR.serialized_pb)
    except Exception:  # noqa: BLE001 -- any failure to load it means nothing to compare with
        return None


def _ours(result: ProtocResult, name: str) -> _FILE | None:
    serialized = result.descriptor_bytes.get(name)
    if serialized is not None:
        return _FILE.FromString(serialized)
    return next((file for file in result.descriptors.file if file.name == name), None)


def _comparable(file: _FILE) -> bytes:
    """The descriptor as the pool compares it: no source info, no json_name protoc's set adds to every field."""
    copy = _FILE()
    copy.CopyFrom(file)
    copy.ClearField("source_code_info")
    for message in _messages(copy.message_type):
        for field in (*message.field, *message.extension):
            field.ClearField("json_name")
    for field in copy.extension:
        field.ClearField("json_name")
    return copy.SerializeToString(deterministic=True)


def _messages(messages: Iterable[descriptor_pb2.DescriptorProto]) -> Iterable[descriptor_pb2.DescriptorProto]:
    for message in messages:
        yield message
        yield from _messages(message.nested_type)
