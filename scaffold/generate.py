"""Stage: assemble every file of a project in memory, each with its owner.

Owners decide what a later regeneration may do with a file: `generated`
files are always rewritten, `user` files are the user's once written (only
merged into), `source` files are the protos the project was made from, and
`state` files are scaffold's own record under `.scaffold/`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from scaffold import __version__, model
from scaffold.config import Config
from scaffold.protoc import ProtocResult
from scaffold.relocate import package_dirs, relocate
from scaffold.render import Renderer

Owner = Literal["generated", "user", "source", "state"]
STATE_DIR = ".scaffold"
MANIFEST = f"{STATE_DIR}/manifest.json"
BASE_DIR = f"{STATE_DIR}/base"

_GRPC_VERSION = re.compile(rb"^GRPC_GENERATED_VERSION = '(?P<version>[\d.]+)'$", re.MULTILINE)
_PROTOBUF_VERSION = re.compile(rb"^# Protobuf Python Version: (?P<version>[\d.]+)$", re.MULTILINE)


@dataclass(frozen=True)
class OutputFile:
    content: bytes
    owner: Owner


def generate(config: Config, result: ProtocResult, renderer: Renderer) -> dict[str, OutputFile]:
    """Every file of the project, keyed by its path relative to the project root."""
    package_dir = f"{config.package}/{config.generated.replace('.', '/')}"
    project = model.build(result, config.package, config.generated)
    generated = relocate(result.outputs, result.generated_names, package_dir)
    context = {"project": project, "config": config, "versions": runtime_versions(result.outputs)}
    rendered = renderer.render(
        context, {"__package__": config.package, "__generated__": config.generated.replace(".", "/")}
    )

    files = {path: OutputFile(content, "generated") for path, content in generated.items()}
    init = rendered.pop(f"{package_dir}/__init__.py").encode()
    for directory in package_dirs(generated, package_dir):
        files[f"{directory}/__init__.py"] = OutputFile(init, "generated")
    for path, text in rendered.items():
        owner: Owner = "generated" if path.startswith(f"{package_dir}/") else "user"
        files[path] = OutputFile(text.encode(), owner)
    return files


def with_state(files: Mapping[str, OutputFile]) -> dict[str, OutputFile]:
    """`files` plus the state that lets a later run merge: a manifest and the pristine user files."""
    tracked = {path: f for path, f in files.items() if f.owner in ("generated", "user")}
    manifest = {
        "scaffold": __version__,
        "files": {
            path: {"owner": f.owner, "sha256": hashlib.sha256(f.content).hexdigest()}
            for path, f in sorted(tracked.items())
        },
    }
    state = {MANIFEST: OutputFile((json.dumps(manifest, indent=2) + "\n").encode(), "state")}
    for path, f in tracked.items():
        if f.owner == "user":
            state[f"{BASE_DIR}/{path}"] = OutputFile(f.content, "state")
    return {**files, **state}


def runtime_versions(outputs: Mapping[str, bytes]) -> dict[str, str]:
    """The oldest grpcio and protobuf runtimes that can load this protoc's output, read from it."""
    grpc = protobuf = None
    for content in outputs.values():
        grpc = grpc or _GRPC_VERSION.search(content)
        protobuf = protobuf or _PROTOBUF_VERSION.search(content)
    if grpc is None or protobuf is None:
        raise RuntimeError("protoc's output names no runtime version; is grpcio-tools too old?")
    protobuf_version = protobuf["version"].decode()
    return {
        "grpcio": grpc["version"].decode(),
        "protobuf": protobuf_version,
        "protobuf_next_major": str(int(protobuf_version.split(".")[0]) + 1),
    }
