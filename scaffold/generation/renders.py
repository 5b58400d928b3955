"""Renders of the per-service templates, kept between runs and keyed by everything a render reads.

On a tree of a thousand services, rendering each service's modules again on
every regeneration was a third of a leaf change's time, though one proto's
change alters the modules of its own services only. A per-service render
reads its template (and, through includes, every template), the config, the
runtime versions, the whole `service_modules` map, the servicer view's
project-wide sets, and its own service narrowed into `project` and
`servicer`; the key hashes all of it, so a render is reused only where it
would come out the same. Kept in the memo (`scaffold.record.memo`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from scaffold import __version__
from scaffold.generation import inputs
from scaffold.generation.config import Config

_FORMAT = 1


def key(fingerprint: str, template: str, own: str) -> str:
    """The key of `template` rendered with the run's shared context (`fingerprint`) and a service's own
    part (`own_digest`)."""
    return hashlib.sha256(f"{fingerprint}\0{template}\0{own}".encode()).hexdigest()


def digest_of(value: Any) -> str:
    """A digest of one object a render reads (a proto file of a per-file template)."""
    return hashlib.sha256(repr(value).encode()).hexdigest()


def own_digest(own: Mapping[str, Any]) -> str:
    """A service's own part of a render's context: `project` narrowed to it, and the services and pending
    shapes of its servicer view (the view's project-wide sets are in the fingerprint). Taken once per
    service, for all its templates: the `repr`s were most of the cost of keying googleapis' renders."""
    view = own["servicer"]
    mine = f"{own['project']!r}\0{view.services!r}\0{view.pending!r}"
    return hashlib.sha256(mine.encode()).hexdigest()


def fingerprint(template_dirs: tuple[Path, ...], shared: Mapping[str, Any]) -> str:
    """Everything a per-service render reads that is the same for every service: the template sources,
    the tools, and the shared context, with its sets in a stable order."""
    digest = hashlib.sha256(f"{_FORMAT}\0{__version__}\0{jinja2.__version__}\0".encode())
    for directory in template_dirs:
        for path in sorted(inputs.files_below(directory)):  # links followed, as Jinja's loader follows them
            digest.update(f"{path.relative_to(directory).as_posix()}\0".encode() + path.read_bytes() + b"\0")
    for name in sorted(shared):
        digest.update(f"{name}\0{_stable(shared[name])}\0".encode())
    return digest.hexdigest()


def _stable(value: Any) -> str:
    """`repr`, with sets and mappings sorted (a frozenset's repr depends on the process's hash seed)."""
    if isinstance(value, (set, frozenset)):
        return repr(sorted(value))
    if isinstance(value, Mapping):
        return repr(sorted(value.items()))
    if isinstance(value, Config):  # the same project reached as `p` or as `/work/p` renders the same
        return repr(dataclasses.replace(value, root=Path(os.path.abspath(value.root))))
    return repr(value)
