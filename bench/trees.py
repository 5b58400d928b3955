"""Proto trees for the benchmarks: route_guide, and a synthetic tree of many
files with all four RPC shapes and cross-file imports."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SHAPES = [
    ("Get{n}", "Item{n}", "Item{n}"),
    ("List{n}", "Item{n}", "stream Item{n}"),
    ("Record{n}", "stream Item{n}", "Summary{n}"),
    ("Chat{n}", "stream Item{n}", "stream Item{n}"),
]


def route_guide(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "route_guide.proto"
    shutil.copyfile(REPO / "protos/route_guide.proto", target)
    return [target]


def synthetic(directory: Path, files: int = 100) -> list[Path]:
    """`files` protos in packages of ten, each with one service of 4 RPCs. Each imports its predecessor
    in its package; the first of a package imports the first of the package before. (A chain through
    all of them would be too deep for Python to import: scaffold refuses imports nested 64 deep.)"""
    paths = []
    for n in range(files):
        package = f"pkg{n // 10}"
        path = directory / package / f"svc{n}.proto"
        path.parent.mkdir(parents=True, exist_ok=True)
        before = n - 10 if n % 10 == 0 else n - 1
        imports = f'import "pkg{before // 10}/svc{before}.proto";\n' if n else ""
        previous = f"  pkg{before // 10}.Item{before} previous = 3;\n" if n else ""
        rpcs = "".join(
            f"  // {name.format(n=n)} does its work.\n  rpc {name.format(n=n)}({req.format(n=n)}) returns ({resp.format(n=n)});\n"
            for name, req, resp in SHAPES
        )
        path.write_text(
            f'syntax = "proto3";\n\npackage {package};\n\n{imports}\n'
            f"message Item{n} {{\n  string name = 1;\n  int64 value = 2;\n{previous}}}\n\n"
            f"message Summary{n} {{\n  int32 count = 1;\n}}\n\n"
            f"// Service number {n}.\nservice Service{n} {{\n{rpcs}}}\n"
        )
        paths.append(path)
    return paths


def temporalio(directory: Path) -> list[Path]:
    """Temporal's API as the temporalio distribution ships it: its four include roots merged into one tree
    (no file name is in two of them; googleapis' files as googleapis-common-protos installs them), and of it
    the five service protos with every proto they import, but protobuf's well-known types: what a project of
    Temporal's services compiles (72 protos, 0.86 MB)."""
    import importlib.metadata
    import importlib.util

    from grpc_tools import protoc

    from scaffold.generation.protoc import WELL_KNOWN_INCLUDE

    spec = importlib.util.find_spec("temporalio")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("temporalio is not installed: pip install -e '.[test]'")
    shipped = Path(next(iter(spec.submodule_search_locations))) / "bridge/sdk-core/crates/protos/protos"
    # Its copies of googleapis' protos are older than googleapis-common-protos' (installed with grpcio-status):
    # protobuf cannot load two versions of one file, and scaffold refuses such a copy. The installed ones, then.
    common = importlib.metadata.distribution("googleapis-common-protos").files or []
    installed = {f.as_posix(): Path(str(f.locate())) for f in common if f.name.endswith(".proto")}
    for root in ("api_upstream", "api_cloud_upstream", "testsrv_upstream", "."):
        for source in sorted((shipped / root).rglob("*.proto")):
            name = source.relative_to(shipped / root)
            if root == "." and name.parts[0] not in ("google", "grpc", "protoc-gen-openapiv2"):
                continue  # the other roots, and the SDK's own protos
            target = directory / name
            if target.exists():
                raise SystemExit(f"{name}: in two of temporalio's include roots")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(installed.get(name.as_posix(), source), target)
    services = [
        "temporal/api/workflowservice/v1/service.proto",
        "temporal/api/operatorservice/v1/service.proto",
        "temporal/api/cloud/cloudservice/v1/service.proto",
        "temporal/api/testservice/v1/service.proto",
        "grpc/health/v1/health.proto",
    ]
    descriptors = directory.parent / "temporalio.pb"
    arguments = ["", f"-I{directory}", f"-I{WELL_KNOWN_INCLUDE}", "--include_imports", f"-o{descriptors}", *services]
    if protoc.main(arguments) != 0:
        raise SystemExit("protoc could not read temporalio's protos")
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet.FromString(descriptors.read_bytes()).file
    return sorted(directory / f.name for f in files if not f.name.startswith("google/protobuf/"))
