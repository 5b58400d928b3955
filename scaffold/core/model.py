"""The plain model templates render from.

Frozen values only: what a template reads (names, imports, docstrings, the
shape of every RPC) is resolved before rendering, by `scaffold.generation.describe`
from protoc's descriptors, so templates only read fields and switch on
`Rpc.kind`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Literal

from msgspec import Struct, structs

from scaffold.core.imports import Import, ImportLines, import_lines
from scaffold.core.naming import module_name, snake_case

Kind = Literal["unary_unary", "unary_stream", "stream_unary", "stream_stream"]
Owner = Literal["generated", "user"]
"""Who may write a file: `generated` ones are always rewritten; `user` ones are the user's once written."""
KINDS: dict[tuple[bool, bool], Kind] = {
    (False, False): "unary_unary",
    (False, True): "unary_stream",
    (True, False): "stream_unary",
    (True, True): "stream_stream",
}

PART_SEPARATOR = ":"
"""Between a split service's full name and a part's (`pkg.Admin:account`, `scaffold.core.parts`): no proto name
holds it, so a part never shares a name with a service."""


def whole_of(full_name: str) -> str:
    """The full name of the service a part (by its full name) belongs to; a whole service's own."""
    return full_name.partition(PART_SEPARATOR)[0]


def title_of(full_name: str) -> str:
    """What the user's modules call a service or a part: `pkg.Admin`, `the account RPCs of pkg.Admin`."""
    whole, _, part = full_name.partition(PART_SEPARATOR)
    return f"the {part.replace('_', ' ')} RPCs of {whole}" if part else whole


# Field numbers of FileDescriptorProto / ServiceDescriptorProto, as used in source_code_info paths.


class MessageRef(Struct, frozen=True):
    """A message type as Python code names it (`route_guide_pb2.Point`), with the import that brings it."""

    full_name: str
    module: Import
    name: str
    required: str = ""
    """Constructor arguments that give every required field (proto2, editions) a value, or ""."""

    @property
    def python(self) -> str:
        return f"{self.module.alias}.{self.name}"

    @property
    def new(self) -> str:
        """An expression for a message that serializes: required fields filled with zero values."""
        return f"{self.python}({self.required})"


class Rpc(Struct, frozen=True):
    name: str
    route: str
    kind: Kind
    request: MessageRef
    response: MessageRef
    doc: str
    deprecated: bool
    function: str
    summary: str = ""
    """The proto comment's first sentence, as written (not escaped): for listings."""

    @property
    def client_streaming(self) -> bool:
        return self.kind.startswith("stream_")

    @property
    def multicallable(self) -> str:
        """grpc's typed callable for this shape: `UnaryStreamMultiCallable`, ..."""
        return "".join(part.capitalize() for part in self.kind.split("_")) + "MultiCallable"

    @property
    def proto_signature(self) -> str:
        request = f"stream {self.request.full_name}" if self.client_streaming else self.request.full_name
        response = f"stream {self.response.full_name}" if self.server_streaming else self.response.full_name
        return f"({request}) returns ({response})"

    def python_signature(self, aio: bool = False) -> str:
        """The servicer method's signature, for messages that tell the user what to change."""
        iterator = "AsyncIterator" if aio else "Iterator"
        request = (
            f"request_iterator: {iterator}[{self.request.python}]"
            if self.client_streaming
            else f"request: {self.request.python}"
        )
        response = f"{iterator}[{self.response.python}]" if self.server_streaming else self.response.python
        if aio:
            context = f"grpc.aio.ServicerContext[{self.request.python}, {self.response.python}]"
            return f"async def {self.name}(self, {request}, context: {context}) -> {response}"
        return f"def {self.name}(self, {request}, context: grpc.ServicerContext) -> {response}"

    @property
    def server_streaming(self) -> bool:
        return self.kind.endswith("_stream")


class Service(Struct, frozen=True):
    """A service of an input proto, with the names templates give it."""

    name: str
    full_name: str
    snake: str
    grpc_import: Import
    class_name: str
    doc: str
    deprecated: bool
    rpcs: tuple[Rpc, ...]
    package: str = ""
    """The proto package (`google.spanner.v1`); a per-service layout mirrors it in directories."""
    part: str = ""
    """In the user's code of a split service (`scaffold.core.parts`): the resource this part's RPCs act on."""
    parts: tuple[tuple[str, str], ...] = ()
    """In the user's code of a split service: its parts, each (name, class), whose classes its class takes."""

    @property
    def grpc_module(self) -> str:
        return self.grpc_import.alias

    @property
    def title(self) -> str:
        """What the user's modules call it (`title_of`)."""
        return title_of(self.full_name)


class ProtoFile(Struct, frozen=True):
    name: str
    package: str
    services: tuple[Service, ...]
    project_package: str

    def imports(self) -> ImportLines:
        """The message modules this file's RPCs use: the imports of its `_pb2_grpc.pyi`."""
        return imports_for(self.services, self.project_package, grpc=False)

    @property
    def has_streaming(self) -> bool:
        return any(rpc.kind != "unary_unary" for service in self.services for rpc in service.rpcs)


class Project(Struct, frozen=True):
    package: str
    generated_package: str
    files: tuple[ProtoFile, ...]

    def imports(
        self,
        messages: str = "all",
        grpc: bool = True,
        also: Iterable[tuple[str, str]] = (),
        servicers: bool = False,
        callers: bool = False,
    ) -> ImportLines:
        """See `imports_for`; `servicers` adds the servicer classes of the project's `servicer` module;
        `callers` leaves out services without RPCs (a client has nothing to call on them)."""
        if servicers:
            also = [*also, *((f"{self.package}.servicer", service.class_name) for service in self.services)]
        services = self.callable_services if callers else self.services
        return imports_for(services, self.package, messages, grpc, also)

    @property
    def callable_services(self) -> tuple[Service, ...]:
        """The services with at least one RPC: the ones clients and tests call."""
        return tuple(service for service in self.services if service.rpcs)

    @property
    def has_client_streaming(self) -> bool:
        return any(rpc.client_streaming for rpc in self.rpcs)

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(service for file in self.files for service in file.services)

    @property
    def rpcs(self) -> tuple[Rpc, ...]:
        return tuple(rpc for service in self.services for rpc in service.rpcs)


# Names the client and test modules define or import themselves (or that `main` and `run` use as
# locals): an RPC function with one of these names would shadow them, and a broken client would import fine.


def restrict(
    project: Project, keep: Callable[[Service, Rpc], bool], services: Callable[[Service], bool] = lambda s: True
) -> Project:
    """`project` with only the services `services` accepts, and of them only the RPCs `keep` accepts
    (perhaps none)."""
    files = tuple(
        structs.replace(
            file,
            services=tuple(
                structs.replace(service, rpcs=tuple(rpc for rpc in service.rpcs if keep(service, rpc)))
                for service in file.services
                if services(service)
            ),
        )
        for file in project.files
    )
    return structs.replace(project, files=files)


def imports_for(
    services: Iterable[Service],
    package: str,
    messages: str = "all",
    grpc: bool = True,
    also: Iterable[tuple[str, str]] = (),
    keep: Callable[[Import], bool] = lambda item: True,
) -> ImportLines:
    """The import lines of a module that uses `services`: their stubs/servicers
    (`grpc`) and the message classes of every request and response
    (`messages="all"`), of requests only (`"requests"`) or of none (`"none"`);
    `also` adds `(package, module)` pairs, merged into the same statements."""
    chosen: list[Import] = []
    for service in services:
        if grpc and not service.parts:  # a split service's class takes its parts' classes, not grpc's
            chosen.append(service.grpc_import)
        for rpc in service.rpcs:
            if messages != "none":
                chosen.append(rpc.request.module)
            if messages == "all":
                chosen.append(rpc.response.module)
    chosen = [item for item in chosen if keep(item)]
    chosen += [Import(p, module, module) for p, module in also]
    return import_lines(chosen, package)


def service_paths(services: Iterable[Service], root_package: str = "") -> dict[str, str]:
    """Service full name -> where its modules go in a per-service layout, without suffix:
    `google.spanner.v1.Spanner` -> `google/spanner/v1/spanner`.

    The directories mirror the proto package below `root_package` (a package outside it: all of
    its name; root `google.spanner.v1` gives `spanner`); the module is the service's name in snake
    case, or, where that is taken (two names with one snake case, or a module that would stand where
    a package's directory does), the service's project-wide unique snake name (then that name numbered).
    A name Python reserves, as a service's or a package part's, is made plain (`__init__` -> `init_`,
    `naming.module_name`): nothing of the user's ever stands where a package's `__init__.py` does.
    """
    given = list(services)
    parts = [s for s in given if s.part]
    wholes = {s.full_name: s for s in given if not s.part}
    for part in parts:  # a part kept for the user's code whose service is gone still goes below its module
        whole = whole_of(part.full_name)
        wholes.setdefault(whole, structs.replace(part, full_name=whole, part="", rpcs=()))
    chosen = list(wholes.values())
    below = {s.full_name: _parts(_below(s.package, root_package)) for s in chosen}
    directories = {"/".join(parts[:n]) for parts in below.values() for n in range(1, len(parts) + 1)}
    split = {whole_of(part.full_name) for part in parts}
    paths: dict[str, str] = {}
    taken: set[str] = set()
    for service in chosen:
        prefix = "/".join(below[service.full_name])
        stems = (module_name(snake_case(service.name)), module_name(service.snake))
        for stem in itertools.chain(stems, (f"{stems[-1]}_{number}" for number in itertools.count(2))):
            path = f"{prefix}/{stem}" if prefix else stem
            if path not in taken and path not in directories:
                break
        paths[service.full_name] = path
        taken.add(path)
        if service.full_name in split:
            directories.add(f"{path}_parts")
    for part in parts:
        paths[part.full_name] = f"{paths[whole_of(part.full_name)]}_parts/{part.part}"
    return {name: paths[name] for name in (s.full_name for s in given)}


def _below(proto_package: str, root_package: str) -> str:
    """What of `proto_package` the per-service trees mirror: the part below the root, or all of it."""
    if root_package and proto_package == root_package:
        return ""
    if root_package and proto_package.startswith(root_package + "."):
        return proto_package[len(root_package) + 1 :]
    return proto_package


def _parts(proto_package: str) -> list[str]:
    return [module_name(part) for part in proto_package.split(".")] if proto_package else []


class ServicerView(Struct, frozen=True):
    """The services as the user's servicer module shows them.

    Usually the protos' services; after a regeneration also the RPCs and
    services the protos dropped whose methods are still in the user's file,
    so that a merge never deletes them. `modules` are the first-party modules
    that exist, so a kept RPC whose proto is gone costs no broken import.
    """

    services: tuple[Service, ...]
    package: str
    modules: frozenset[str]
    pending: tuple[Service, ...] = ()
    """RPCs the module imports for but does not show: the new shapes of RPCs the user implemented in an old
    one (the signature a hint tells them to adopt needs its imports, `Iterator`, the message modules, already
    there), and RPCs whose stub the user deleted (their imports stay as the user has them)."""
    served: frozenset[str] | None = None
    """The services the protos still define (None: all shown); the class of one they dropped cannot
    subclass grpc's servicer of it any more, which is gone, or the module would not import."""

    def serves(self, service: Service) -> bool:
        return self.served is None or service.full_name in self.served

    @property
    def imports(self) -> ImportLines:
        return self.imports_with(())

    def imports_with(self, also: Iterable[tuple[str, str]]) -> ImportLines:
        """`imports`, and `also` ((module, name) pairs: a split service's parts' classes)."""
        return imports_for((*self.services, *self.pending), self.package, grpc=True, also=also, keep=self._exists)

    @property
    def has_streaming(self) -> bool:
        return any(rpc.kind != "unary_unary" for service in (*self.services, *self.pending) for rpc in service.rpcs)

    @property
    def has_rpcs(self) -> bool:
        return any(service.rpcs for service in (*self.services, *self.pending))

    def _exists(self, item: Import) -> bool:
        own = item.package == self.package or item.package.startswith(self.package + ".")
        return not own or f"{item.package}.{item.module}" in self.modules
