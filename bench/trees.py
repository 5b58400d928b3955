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
