"""`python -m scaffold.live.devserver PACKAGE [SERVER ARGS...]`: the project's server, with health and reflection on.

`scaffold dev` runs the server through this module so that generic clients
(grpcurl, grpc_health_probe, `scaffold call --reflect`) work in development
whatever the project's config says. It wraps grpc's server factories so that
every server the project creates also serves the standard health service
(every service SERVING) and server reflection, then runs `PACKAGE.server` as
`__main__`. Services the project registers itself are not registered twice;
a missing package (grpcio-health-checking, grpcio-reflection) is said once,
and the server runs without it.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import runpy
import sys
from pathlib import Path
from typing import Any

import grpc

HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"


def service_names(package: str) -> list[str]:
    """The full names of the services defined by the package's generated modules."""
    names: list[str] = []
    generated = importlib.import_module(package)
    for module in pkgutil.walk_packages(generated.__path__, f"{package}."):
        if module.name.endswith("_pb2"):
            descriptor = importlib.import_module(module.name).DESCRIPTOR
            names += [service.full_name for service in descriptor.services_by_name.values()]
    return sorted(set(names))


def _add_health(server: Any, names: list[str], aio: bool) -> bool:
    try:
        from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # type: ignore[import-untyped]
    except ImportError:
        print("dev: health checks need grpcio-health-checking (pip install grpcio-health-checking)", flush=True)
        return False
    serving = health_pb2.HealthCheckResponse.SERVING
    if aio:
        servicer: Any = health.aio.HealthServicer()
        start = server.start

        async def start_serving() -> None:  # the aio servicer's set() needs the server's event loop
            await start()
            for name in (*names, ""):
                await servicer.set(name, serving)

        server.start = start_serving
    else:
        servicer = health.HealthServicer()
        for name in (*names, ""):
            servicer.set(name, serving)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    return True


def _add_reflection(server: Any, names: list[str]) -> None:
    try:
        from grpc_reflection.v1alpha import reflection  # type: ignore[import-untyped]
    except ImportError:
        print("dev: reflection needs grpcio-reflection (pip install grpcio-reflection)", flush=True)
        return
    reflection.enable_server_reflection([*names, reflection.SERVICE_NAME], server)


def main(argv: list[str]) -> None:
    package, server_args = argv[0], argv[1:]
    server_module = importlib.util.find_spec(f"{package}.server")
    origin = server_module.origin if server_module else None
    source = Path(origin).read_text(encoding="utf-8") if origin else ""
    with_health, with_reflection = "grpc_health" not in source, "grpc_reflection" not in source
    names = service_names(package)
    factories: dict[bool, Any] = {False: grpc.server, True: grpc.aio.server}

    def wrap(aio: bool) -> Any:
        def create(*args: Any, **kwargs: Any) -> Any:
            server = factories[aio](*args, **kwargs)
            listed = list(names)
            if with_health and _add_health(server, names, aio):
                listed.append(HEALTH)
            if with_reflection:
                _add_reflection(server, listed)
            return server

        return create

    grpc.server, grpc.aio.server = wrap(False), wrap(True)
    sys.argv = [f"{package}.server", *server_args]
    runpy.run_module(f"{package}.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
