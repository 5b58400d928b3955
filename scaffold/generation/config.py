"""Stage: the one frozen configuration object every later stage reads, its keys and their defaults.

The config lives in the generated project's pyproject.toml under
`[tool.scaffold]`, so a project carries everything `scaffold gen` needs and
nothing is hidden elsewhere. Paths in it are relative to the project root.
This module is the schema: the keys, their defaults and the ranges the
generated server takes. Reading the file is `scaffold.generation.configfile`
(`load`, `find_project`), checking each key `scaffold.generation.configkeys`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BREAKING_CATEGORIES = ("FILE", "PACKAGE", "WIRE_JSON", "WIRE", "CSR")
"""buf's categories of breaking rules, strictest first (CSR is buf's own, for Connect clients)."""


@dataclass(frozen=True)
class BreakingConfig:
    """`[tool.scaffold.breaking]`: what `scaffold breaking` compares against and what it leaves out.

    Like buf's: `use` lists categories and rule IDs (`category` is the
    shorthand for one category), `except` takes some away, `ignore` takes
    paths out of every rule, `ignore_only` maps a rule ID or category to
    the paths it skips, `ignore_unstable_packages` leaves out packages such
    as `foo.v1alpha1`. Paths are proto names (`foo/v1/a.proto`) or
    directories of them, or the same under the project (`protos/foo/v1`).
    A `buf.yaml` beside the protos fills in what this table leaves unsaid
    (`scaffold.breaking.bufyaml`); `version` is the buf config version the
    names are read in (v2 unless a buf.yaml says otherwise).
    """

    against: str | None = None
    category: str = "FILE"
    ignore: tuple[str, ...] = ()
    ignore_only: tuple[tuple[str, tuple[str, ...]], ...] = ()
    use: tuple[str, ...] = ()
    leave_out: tuple[str, ...] = ()
    """buf's `except` (a Python keyword)."""
    ignore_unstable_packages: bool = False
    version: str = "v2"
    given: tuple[str, ...] = ()
    """The keys the table set, so that a buf.yaml fills in only the others; sorted, not a set, whose `repr`
    (a kept render's key: `scaffold.generation.renders`) would change with the process's hash seed."""


@dataclass(frozen=True)
class Config:
    """What to generate, and where.

    `protos` are the files to compile and `proto_paths` the include roots
    (protoc's -I), both relative to `root`; `package` is the Python package
    the project lives in and `generated` the sub-package protoc's modules go
    to. `aio` selects the asyncio flavour (grpc.aio) of every file scaffold
    writes. The rest are server options: `health` and `reflection` add the
    standard health and reflection services, `metrics` a Prometheus
    endpoint and `otel` OpenTelemetry traces and metrics (off by default: each brings a dependency); `tls = true` makes
    the server refuse to start without a certificate; the others are the
    defaults of the server's flags.
    `templates` is a directory of templates searched before the built-in
    ones, file by file. `format = "ruff"` formats the user-owned Python files
    of every render before they are compared and written.
    """

    root: Path
    package: str
    protos: tuple[str, ...]
    proto_paths: tuple[str, ...] = ("protos",)
    generated: str = "generated"
    aio: bool = False
    health: bool = False
    reflection: bool = False
    max_workers: int = 10
    max_message_bytes: int = 4 * 1024 * 1024
    grace_seconds: float = 5.0
    tls: bool = False
    access_log: bool = True
    log_format: str = "text"
    metrics: bool = False
    metrics_port: int = 9464
    otel: bool = False
    web: bool = False
    """Also serve every service over HTTP (Connect, gRPC-Web) from the same servicers, on `http_port`."""
    http_port: int = 8080
    validate: bool = False
    """Validate every request message with protovalidate before the servicer sees it (needs
    `buf/validate/validate.proto` among the protos' imports)."""
    validate_responses: bool = False
    """With `validate`, every response message too: for tests and staging (a bad one ends the call with INTERNAL)."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the web port from their pages ("*": any)."""
    keepalive_seconds: float = 0.0
    max_connection_age_seconds: float = 0.0
    templates: str | None = None
    format: str | None = None
    layout: str = "single"
    """Where the user's per-service code lives: "single" (one servicer, client and test module for every
    service) or "per-service" (one of each per service, in trees that mirror the proto packages)."""
    installed: tuple[str, ...] = ()
    """Distributions whose `.proto` files the protos import where they are installed (`name>=version`):
    compiled against, never copied nor generated; the project imports their modules and depends on them."""
    root_package: str = ""
    """The proto package the per-service trees start at: its services' modules sit at the top of
    `services/`, `clients/` and `tests/` (a sub-package's below them, by the rest of its name); other
    packages' mirror their whole name. `new` sets the package its services share, so a project of one
    package gets `services/catalog.py`, not `services/inventory/v1/catalog.py`. Stays put as protos
    come and go: a module moves only when this key (or `layout`) is edited, and `gen` moves the code."""
    split_services: tuple[str, ...] = ()
    """Services (full names) whose code of the user's is in parts, a module per resource their RPCs act on
    (`scaffold.core.parts`): per-service layout only. `new` lists each service whose servicer would be
    over 1,000 lines; a listed service's modules are made so, a change to the list over modules that exist
    is refused (the code would have to move between modules)."""
    breaking: BreakingConfig = BreakingConfig()

    @property
    def limits(self) -> dict[str, tuple[int, int]]:
        """The range of each number the generated server takes, as a key or a flag (`port` too): its
        flags refuse what this config refuses."""
        return {**LIMITS, "port": LIMITS["metrics_port"]}

    @property
    def distribution(self) -> str:
        return self.package.replace("_", "-")

    def proto_files(self) -> tuple[Path, ...]:
        """Each entry of `protos` is a file, a directory (every .proto below it) or a glob (`protos/**/*.proto`);
        a new proto under a listed directory is an input from the next `gen` on."""
        files: dict[Path, None] = {}
        for entry in self.protos:
            path = self.root / entry
            if any(char in entry for char in "*?["):
                found = sorted((p for p in self.root.glob(entry) if p.suffix == ".proto"), key=_path_order)
            elif path.is_dir():
                found = sorted(path.rglob("*.proto"), key=_path_order)
            else:
                found = []
            files.update(dict.fromkeys(found or [path]))  # an entry that names nothing: protoc's input check says so
        return tuple(files)

    def include_dirs(self) -> tuple[Path, ...]:
        return tuple(self.root / path for path in self.proto_paths)

    @property
    def generated_dir(self) -> str:
        """Where protoc's modules go, relative to the project root (`route_guide/generated`)."""
        return f"{self.package}/{self.generated.replace('.', '/')}"

    def template_dir(self) -> Path | None:
        """Normalised without touching the disk: `new` asks before the project directory exists."""
        return Path(os.path.normpath(self.root / self.templates)) if self.templates else None


def _path_order(path: Path) -> tuple[str, ...]:
    """The order of sorting the paths themselves (by their parts), with each path's parts taken once:
    comparing 7,000 Paths pairwise took a third of a second."""
    return path.parts


KEYS = (
    "package",
    "protos",
    "proto_paths",
    "generated",
    "aio",
    "health",
    "reflection",
    "max_workers",
    "max_message_bytes",
    "grace_seconds",
    "tls",
    "access_log",
    "log_format",
    "metrics",
    "metrics_port",
    "otel",
    "web",
    "http_port",
    "cors_origins",
    "validate",
    "validate_responses",
    "keepalive_seconds",
    "max_connection_age_seconds",
    "templates",
    "format",
    "layout",
    "root_package",
    "installed",
    "split_services",
    "breaking",
)
BREAKING_KEYS = ("against", "category", "use", "except", "ignore", "ignore_only", "ignore_unstable_packages")
# What the generated server can use: grpc takes message sizes as a C int, a thread pool needs a thread.
LIMITS = {
    "max_workers": (1, 10_000),
    "max_message_bytes": (1, 2**31 - 1),
    "grace_seconds": (0, 86_400),
    "metrics_port": (0, 65_535),
    "http_port": (0, 65_535),
    "keepalive_seconds": (0, 86_400),
    "max_connection_age_seconds": (0, 365 * 86_400),
}
LOG_FORMATS = ("text", "json")
LAYOUTS = ("single", "per-service")
