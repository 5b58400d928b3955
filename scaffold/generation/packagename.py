"""The name of the project's package: what it may be, and what it may not shadow.

A project's top-level package stands beside the standard library and the
packages the generated code imports (`grpc`, `google`, `pytest`, ...): one
of their names would hide that module, and the project fails on import. The
package name from `[tool.scaffold] package` or `scaffold new --name` is
checked here, and so is the name a service's modules take (`shadows`).
"""

from __future__ import annotations

import keyword
import sys

from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.layout import PROTO_DIR

# Top-level packages a generated project imports besides the standard library's: a project package of
# one of these names shadows it, and the project fails on import (`logging.proto`, `--name grpc`).
TAKEN_PACKAGES = frozenset(
    {"grpc", "grpc_tools", "grpc_health", "grpc_reflection", "google", "pytest", "mypy", "ruff", "typing_extensions"}
    | {"prometheus_client", "scaffold", "tests", "setuptools", "hatchling", "pip", "_pytest"}
)


def shadows(name: str) -> bool:
    """Whether the project cannot take `name` as its package (`_taken_because`)."""
    return _taken_because(name) is not None


def _taken_because(name: str) -> str | None:
    """Why a top-level package `name` cannot be the project's: it would hide a module the project
    needs, stand where the project keeps its proto copies, or mean something to Python (`__main__`)."""
    if name in sys.stdlib_module_names or name in TAKEN_PACKAGES or name in sys.builtin_module_names:
        return "would shadow the module of that name the project imports"
    if name == PROTO_DIR:
        return f"is the directory the project keeps its protos in ({PROTO_DIR}/)"
    if name.startswith("__") and name.endswith("__"):
        return "is a name Python reserves"
    return None


def check_package_name(name: str, origin: str) -> str:
    """`name` if it can be a Python package name, else a located error naming `origin`."""
    if keyword.iskeyword(name):
        raise fail(origin, f"{name!r} is not a valid Python package name (a Python keyword)")
    if not name.isidentifier() or not name.isascii():
        raise ScaffoldError(
            [Diagnostic(origin, f"{name!r} is not a valid Python package name (use letters, digits and _)")]
        )
    reason = _taken_because(name)
    if reason is not None:
        raise fail(origin, f"{name!r} {reason}; choose another package name")
    return name
