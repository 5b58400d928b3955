"""Stage: assemble every file of a project in memory, each with its owner.

Owners decide what a later regeneration may do with a file: `generated`
files are always rewritten; `user` files are the user's once written, only
ever merged into.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from msgspec import Struct, structs

from scaffold.core import parts
from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.core.model import Owner, Project, Service, ServicerView, service_paths
from scaffold.core.naming import module_path
from scaffold.generation import configkeys, httprules, openapi, rulesamples
from scaffold.generation.config import Config
from scaffold.generation.describe import describe
from scaffold.generation.formatting import format_python
from scaffold.generation.protocresult import Lazy, ProtocResult
from scaffold.generation.relocate import package_dirs, place
from scaffold.generation.render import Renderer
from scaffold.layout import CONFIG_FILE, TABLE
from scaffold.record import state
from scaffold.record.memo import Memo
from scaffold.record.written import Lines

_GRPC_VERSION = re.compile(rb"^GRPC_GENERATED_VERSION = '(?P<version>[\d.]+)'$", re.MULTILINE)
_PROTOBUF_VERSION = re.compile(rb"^# Protobuf Python Version: (?P<version>[\d.]+)$", re.MULTILINE)


class OutputFile:
    """One file of the project and who owns it, with the hash of its bytes where a stage knew it already
    (protoc's record: `ProtocResult.digests`). Bytes that protoc's record holds are read when a stage first
    asks for them (`scaffold.generation.incremental.Body`): a leaf change on googleapis plans its 21,000
    reused outputs from their hashes alone. Two files are equal whether or not a stage knew the hash."""

    __slots__ = ("_content", "_read", "owner", "sha256")

    def __init__(
        self, content: bytes | None, owner: Owner, sha256: str | None = None, read: Callable[[], bytes] | None = None
    ) -> None:
        self._content, self._read, self.owner, self.sha256 = content, read, owner, sha256

    @property
    def content(self) -> bytes:
        if self._content is None:
            assert self._read is not None, "an output file with neither its bytes nor a way to read them"
            self._content = self._read()
        return self._content

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OutputFile):
            return NotImplemented
        return self.owner == other.owner and self.content == other.content

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"OutputFile(owner={self.owner!r}, sha256={self.sha256!r})"


class Generation(Struct, frozen=True):
    files: dict[str, OutputFile]
    project: Project
    servicer: ServicerView
    layout: str = "single"
    root_package: str = ""
    user: Project | None = None
    """`project` as the user's modules show it (`user_project`); None: the same."""

    @property
    def user_services(self) -> tuple[Service, ...]:
        return (self.user or self.project).services

    def state_files(
        self,
        inputs: str | None = None,
        recorded: Mapping[str, tuple[str, bytes | None]] | None = None,
        digests: Mapping[str, str] = {},
        gone: Sequence[str] = (),
        written: Lines | None = None,
    ) -> dict[str, bytes]:
        """The `.scaffold/` files that record this generation (of inputs with digest `inputs`);
        `recorded` says what each file is recorded as, by default its render (see `scaffold.generation.plan`),
        `digests` the hashes of those contents already taken, `gone` what was taken away that code
        still reads (`scaffold.generation.gone`), and `written` the manifest's lines as they stand."""
        if recorded is None:
            recorded = {path: (f.owner, f.content) for path, f in self.files.items()}
        return state.render(
            recorded,
            state.rpc_summary(self.user_services),
            self.servicer.services,
            inputs,
            self.layout,
            digests,
            gone,
            self.root_package,
            written,
            _keeps_for_code(self.servicer.services, self.user_services),
        )


def _keeps_for_code(view: Sequence[Service], protos: Sequence[Service]) -> bool:
    """Whether the servicer view holds what the protos alone would not render: a dropped service's class,
    a removed RPC's method, an RPC's old shape or docstring, kept for the user's code
    (`scaffold.generation.reconcile`). Neither an RPC left out (its stub deleted by the user) nor the order
    of RPCs (an earlier run's is kept) counts: no edit of the user's changes either, but for a module that
    no longer parses, which gets its deleted stubs back."""
    served = {service.full_name: service for service in protos}
    for service in view:
        theirs = served.get(service.full_name)
        if theirs is None or structs.replace(service, rpcs=()) != structs.replace(theirs, rpcs=()):
            return True
        rpcs = {rpc.name: rpc for rpc in theirs.rpcs}
        if any(rpcs.get(rpc.name) != rpc for rpc in service.rpcs):
            return True
    return False


def build_project(config: Config, result: ProtocResult, memo: Memo | None = None) -> Project:
    project = describe(result, config.package, config.generated, memo)
    if config.web:  # the server would meet a bad REST rule only when a request comes
        problems = httprules.problems(result)
        if problems:
            raise ScaffoldError(problems)
    return project


def generate(
    config: Config,
    result: ProtocResult,
    renderer: Renderer,
    project: Project | None = None,
    servicer_services: Sequence[Service] | None = None,
    pending: Sequence[Service] = (),
    kept: Memo | None = None,
) -> Generation:
    """Every file of the project, keyed by its path relative to the project root.

    `servicer_services` are the services the servicer module shows (see
    `scaffold.generation.reconcile`); by default the protos' own. `pending` holds the
    new shapes of RPCs kept in an old one, whose imports the servicer needs.
    `kept` holds the renders of earlier runs (`scaffold.generation.renders`).
    """
    project = project or build_project(config, result)
    user = user_project(config, project)
    package_dir = config.generated_dir
    if result.placed_in not in ("", package_dir):
        raise AssertionError(f"protoc's outputs were placed in {result.placed_in}, not in {package_dir}")
    generated = result.outputs if result.placed_in else place(result.outputs, result.generated_names, package_dir)
    modules = frozenset(path.removesuffix(".py").replace("/", ".") for path in generated if path.endswith(".py"))
    servicer = ServicerView(
        tuple(user.services if servicer_services is None else servicer_services),
        config.package,
        modules,
        tuple(pending),
        frozenset(service.full_name for service in user.services),
    )
    modules_of = module_paths(servicer, user, config.root_package)
    context = {
        "project": project,
        "servicer": servicer,
        "config": config,
        "versions": runtime_versions(result.outputs),
        "service_modules": {name: path.replace("/", ".") for name, path in modules_of.items()},
        "installed_modules": installed_modules(result, config),
        "validate_module": validate_module(config, result) if config.validate else "",
        "validation_requirements": validation_requirements(config),
        "request_samples": request_samples(result, project) if config.validate else {},
        "client_modules": [modules_of[service.full_name].replace("/", ".") for service in user.callable_services],
    }
    paths = template_paths(config)
    with_services = {module_path(f.name): f for f in project.files if f.services}
    per_service = _per_service(user, servicer, modules_of) if config.layout == "per-service" else {}
    rendered = renderer.render(context, paths, with_services, per_service, kept)

    digests = result.digests if result.placed_in else {}  # placing here rewrites what protoc's hashes are of
    files = {
        path: OutputFile(None, "generated", digests.get(path), functools.partial(generated.__getitem__, path))
        for path in generated
    }
    if config.web:  # served at /openapi.json
        files[f"{package_dir}/runtime/openapi.json"] = OutputFile(
            openapi.document_bytes(result, config.package), "generated"
        )
    # Every directory of the package holds protoc's modules, so its `__init__.py` is written even when the
    # template renders nothing (render leaves out an empty one whose directory holds no other render).
    init = rendered.pop(f"{package_dir}/__init__.py", "").encode()
    for directory in package_dirs(generated, package_dir):
        files[f"{directory}/__init__.py"] = OutputFile(init, "generated")
    trees = tuple(f"{config.package}/{tree}/" for tree in PER_SERVICE_TREES)
    for path, text in rendered.items():
        owner: Owner = "generated" if path.startswith(f"{package_dir}/") or _is_tree_init(path, trees) else "user"
        files[path] = OutputFile(text.encode(), owner)
    for tree in trees:
        below = [path for path in files if path.startswith(tree)]
        for directory in package_dirs(below, tree.rstrip("/")) if below else ():
            files.setdefault(f"{directory}/__init__.py", OutputFile(b"", "generated"))
    if config.format == "ruff":
        files |= _formatted(files, config)
    return Generation(files, project, servicer, config.layout, config.root_package, None if user is project else user)


def user_project(config: Config, project: Project) -> Project:
    """`project` as the user's modules show it: in the per-service layout, each service of `split_services`
    in its parts (`scaffold.core.parts`)."""
    return parts.user_side(project, config.split_services) if config.layout == "per-service" else project


VALIDATE_PROTO = "buf/validate/validate.proto"


def installed_modules(result: ProtocResult, config: Config) -> list[str]:
    """The packages of the installed distributions' modules the project's modules import (`google.api`;
    `google.rpc` for validation's error details): where mypy is to read their .pyi files, which come
    without a py.typed marker."""
    read = _proto_names(result)
    packages = {module_path(name).rpartition("/")[0].replace("/", ".") for name in read if name in result.provided}
    return sorted(packages | ({"google.rpc"} if config.validate else set()))


def validate_module(config: Config, result: ProtocResult) -> str:
    """The module protovalidate's rules are imported from: this project's own, or an installed distribution's.

    Validation needs the rules among the protos' imports: without them, nothing could define a rule, and
    protovalidate itself could not load (it imports them as `buf.validate.validate_pb2`)."""
    if VALIDATE_PROTO not in _proto_names(result):
        message = (
            f"validate = true, but no proto imports {VALIDATE_PROTO}: import it where your rules are, with the"
            " file in a proto path (`buf export buf.build/bufbuild/protovalidate -o protos` vendors it)"
        )
        where = config.root / CONFIG_FILE
        located = (
            configkeys.at_key(where, "validate", message) if where.is_file() else Diagnostic("--validate", message)
        )
        raise ScaffoldError([located])
    if VALIDATE_PROTO in result.provided:
        return "buf.validate.validate_pb2"
    return f"{config.package}.{config.generated}.buf.validate.validate_pb2"


def request_samples(result: ProtocResult, project: Project) -> dict[str, rulesamples.Sample]:
    """Requests that keep their rules, and break one, for the client and tests (`rulesamples`)."""
    return rulesamples.samples(result.descriptors.file, [rpc.request.full_name for rpc in project.rpcs])


def validation_requirements(config: Config) -> list[str]:
    """What validation adds to the project's dependencies: protovalidate 1.x (2.x runs on buf's protobuf-py,
    not on google.protobuf), and googleapis' common types for the error details, unless `installed` has them."""
    if not config.validate:
        return []
    common = "googleapis-common-protos"
    has_common = any(re.match(rf"{common}\b(?!-)", requirement) for requirement in config.installed)
    return ["protovalidate>=1.2,<2", *([] if has_common else [f"{common}>=1.63"])]


def _proto_names(result: ProtocResult) -> Iterable[str]:
    return result.descriptor_bytes.keys() if result.descriptor_bytes else [f.name for f in result.descriptors.file]


def module_paths(servicer: ServicerView, project: Project, root_package: str) -> dict[str, str]:
    """Each service's module path in the per-service trees: the services the servicer shows (those the
    protos dropped whose code is kept too) and the protos' own."""
    return service_paths(_unique((*servicer.services, *project.services)), root_package)


def template_paths(config: Config) -> dict[str, str]:
    """The directory each placeholder of a template's path stands for."""
    return {"__package__": config.package, "__generated__": config.generated.replace(".", "/")}


def servicer_modules(
    package: str, layout: str, services: Sequence[Service], root_package: str = ""
) -> dict[str, tuple[Service, ...]]:
    """The user's servicer module(s) in `layout` (per-service: its trees rooted at `root_package`), each with
    the services it shows."""
    if layout == "single":
        return {f"{package}/servicer.py": tuple(services)}
    paths = service_paths(services, root_package)
    return {f"{package}/services/{paths[service.full_name]}.py": (service,) for service in services}


PER_SERVICE_TREES = ("services", "clients")
"""The packages of a per-service layout's modules below the project package; their `__init__.py` are scaffold's."""


def _per_service(project: Project, servicer: ServicerView, modules_of: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """What each service's own modules are rendered from, by module path: the servicer view of it alone, and
    `project` narrowed to it (empty for a service the protos dropped whose methods are kept)."""
    pending = {service.full_name: service for service in servicer.pending}
    shown = {service.full_name: service for service in servicer.services}
    defined = {service.full_name: (file, service) for file in project.files for service in file.services}
    contexts: dict[str, dict[str, Any]] = {}
    for name, path in modules_of.items():
        files = (structs.replace(defined[name][0], services=(defined[name][1],)),) if name in defined else ()
        view = structs.replace(
            servicer,
            services=(shown[name],) if name in shown else (),
            pending=(pending[name],) if name in pending else (),
        )
        contexts[path] = {"project": structs.replace(project, files=files), "servicer": view}
    return contexts


def _unique(services: Sequence[Service]) -> list[Service]:
    return list({service.full_name: service for service in services}.values())


def _is_tree_init(path: str, trees: tuple[str, ...]) -> bool:
    """A package init below `services/` or `clients/`, or `clients/__main__.py` (`python -m PKG.clients`):
    scaffold's lists of the user's modules, rewritten on every run (no service's module takes these names)."""
    return path.startswith(trees) and path.endswith("/__init__.py") or any(path == f"{t}__main__.py" for t in trees)


def _formatted(files: Mapping[str, OutputFile], config: Config) -> dict[str, OutputFile]:
    """The user-owned .py files through `ruff format`, under the project's own pyproject.toml when it exists."""
    on_disk = config.root / CONFIG_FILE
    pyproject = on_disk.read_bytes() if on_disk.is_file() else files[CONFIG_FILE].content
    sources = {path: f.content for path, f in files.items() if f.owner == "user" and path.endswith(".py")}
    formatted = format_python(sources, pyproject, f"{on_disk}: [{TABLE}] format")
    return {path: OutputFile(content, "user") for path, content in formatted.items()}


def runtime_versions(outputs: Mapping[str, bytes]) -> dict[str, str]:
    """The oldest grpcio and protobuf runtimes that can load this protoc's output, read from it (from what
    this run's protoc made, where it made any: a reused output's bytes may not have been read)."""
    grpc = protobuf = None
    at_hand = outputs.at_hand() if isinstance(outputs, Lazy) else {}
    # This run's own outputs first (the same bytes again in `outputs` cost a check each, not a read).
    for content in itertools.chain(at_hand.values(), outputs.values()):
        grpc = grpc or _GRPC_VERSION.search(content)
        protobuf = protobuf or _PROTOBUF_VERSION.search(content)
        if grpc and protobuf:
            break
    if grpc is None or protobuf is None:
        raise fail("grpcio-tools", "protoc's output names no runtime version; is grpcio-tools too old?")
    protobuf_version = protobuf["version"].decode()
    return {
        "grpcio": grpc["version"].decode(),
        "protobuf": protobuf_version,
        "protobuf_next_major": str(int(protobuf_version.split(".")[0]) + 1),
    }
