"""The library API: what the CLI commands do, callable from tests and other tools.

Each function runs the pipeline (config -> protoc -> model -> render ->
write) and either returns a report or raises `ScaffoldError` with located
diagnostics before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scaffold import protoc
from scaffold.config import Config, check_package_name
from scaffold.errors import Diagnostic, ScaffoldError
from scaffold.generate import generate, with_state
from scaffold.render import Renderer
from scaffold.write import WriteReport, write_tree

PROTO_DIR = "protos"


@dataclass(frozen=True)
class NewReport:
    root: Path
    config: Config
    written: WriteReport
    warnings: tuple[Diagnostic, ...]


def new_project(
    protos: Sequence[Path],
    output: Path | None = None,
    include_dirs: Sequence[Path] = (),
    name: str | None = None,
    force: bool = False,
) -> NewReport:
    """Create a runnable project for `protos` in `output` (default: a directory named after it).

    The protos, and every proto they import that the protobuf runtime does not
    ship, are copied under the project's `protos/`, so the project regenerates
    from its own files alone.
    """
    if not protos:
        raise ScaffoldError([Diagnostic("scaffold new", "no proto file given")])
    inputs = protoc.resolve_inputs(protos, include_dirs)
    package = check_package_name(name or _package_from(protos[0]), "--name" if name else str(protos[0]))
    root = output if output is not None else Path(package)
    if root.exists() and not root.is_dir():
        raise ScaffoldError([Diagnostic(str(root), "exists and is not a directory")])
    if root.is_dir() and any(root.iterdir()) and not force:
        raise ScaffoldError([Diagnostic(str(root), "output directory is not empty; pass --force to write into it")])

    result = protoc.run(inputs, include_dirs)
    config = Config(root=root, package=package, protos=tuple(f"{PROTO_DIR}/{item.name}" for item in inputs))
    files = with_state(generate(config, result, Renderer.builtin()))
    roots = protoc.include_roots(inputs, include_dirs)
    sources = {f"{PROTO_DIR}/{name}": _find_source(name, roots).read_bytes() for name in result.generated_names}
    contents = {path: f.content for path, f in files.items()} | sources
    return NewReport(root, config, write_tree(root, contents), result.warnings)


def _package_from(proto: Path) -> str:
    return proto.stem.replace("-", "_").replace(".", "_")


def _find_source(name: str, roots: Sequence[Path]) -> Path:
    """The file protoc read for `name`: the first include root that has it, as protoc searches."""
    for root in roots:
        if (root / name).is_file():
            return root / name
    raise AssertionError(f"protoc compiled {name} but it is under no include root")
