"""Renders of the templates, kept between runs and keyed by everything a render reads.

On a tree of a thousand services, rendering each service's modules again on
every regeneration was a third of a leaf change's time, though one proto's
change alters the modules of its own services only. A per-service render
reads its template (and, through includes, every template), the config, the
runtime versions, the whole `service_modules` map, the servicer view's
project-wide sets, and its own service narrowed into `project` and
`servicer`; the key hashes all of it, so a render is reused only where it
would come out the same. A per-file or project-wide render is keyed by the
context names its template can read (`render.Renderer._reads`), so a change
that none of them reads renders nothing, and does not even import Jinja.
Kept in the memo (`scaffold.record.memo`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from scaffold import __version__
from scaffold.core.model import ProtoFile, Rpc, Service
from scaffold.core.records import field_names
from scaffold.generation import inputs
from scaffold.generation.config import Config

_FORMAT = 4


def key(fingerprint: str, template: str, own: str) -> str:
    """The key of `template` rendered with the context it shares with other renders (`fingerprint`) and its
    own part: a service's (`own_digest`), a proto file's (`digest_of`), or none ("")."""
    return hashlib.sha256(f"{fingerprint}\0{template}\0{own}".encode()).hexdigest()


def sources(template_dirs: tuple[Path, ...]) -> str:
    """A digest of what every render reads besides its context: the template sources and the tools.

    Jinja is named by its own `__init__.py`, which holds its version: importing
    it only to read `__version__` would cost a run whose renders are all kept
    the 60 ms that keeping them saves."""
    digest = hashlib.sha256(f"{_FORMAT}\0{__version__}\0".encode())
    jinja = importlib.util.find_spec("jinja2")
    if jinja is not None and jinja.origin and os.path.isfile(jinja.origin):
        digest.update(Path(jinja.origin).read_bytes())
    else:  # not a file of its own (a zip, a frozen build): its version, imported
        import jinja2

        digest.update(jinja2.__version__.encode())
    for directory in template_dirs:
        for path in sorted(inputs.files_below(directory)):  # links followed, as Jinja's loader follows them
            digest.update(f"\0{path.relative_to(directory).as_posix()}\0".encode() + path.read_bytes())
    return digest.hexdigest()


class Keys:
    """The digests of one pass of renders: each RPC, service and proto file of the model hashed once,
    however many renders read it (the whole project, a service's own part, a proto file's), and the rest
    of each value written out around those hashes, sets sorted wherever they lie.

    On googleapis the renders' keys took each of 14,000 RPCs' `repr` four times (about 60 MB of text, a
    tenth of a leaf change). The pass holds each object it hashed, so the identity its hash is found by
    is never another object's."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[object, str]] = {}

    def digest_of(self, value: Any) -> str:
        """A digest of one object a render reads (a proto file of a per-file template)."""
        return hashlib.sha256(self._stable(value).encode()).hexdigest()

    def own_digest(self, own: Mapping[str, Any]) -> str:
        """A service's own part of a render's context: `project` narrowed to it, and the services and
        pending shapes of its servicer view (the view's project-wide sets are in the fingerprint)."""
        view = own["servicer"]
        mine = "\0".join(self._stable(part) for part in (own["project"], view.services, view.pending))
        return hashlib.sha256(mine.encode()).hexdigest()

    def fingerprint(self, sources: str, shared: Mapping[str, Any], taken: dict[str, str] | None = None) -> str:
        """Everything a render reads that is the same for every service or file: `sources`, and the shared
        context. `taken` keeps each context value's digest by name for the next fingerprint of the same
        render: several project-wide templates read the whole `project`, which is large."""
        taken = {} if taken is None else taken
        digest = hashlib.sha256(f"{sources}\0".encode())
        for name in sorted(shared):
            if name not in taken:
                taken[name] = self.digest_of(shared[name])
            digest.update(f"{name}\0{taken[name]}\0".encode())
        return digest.hexdigest()

    def _stable(self, value: Any) -> str:
        """`repr`, with every set in a stable order (a set's `repr` follows the process's hash seed: a key
        made from it would miss in the next process), the config's root made absolute (the same project
        reached as `p` or as `/work/p` renders the same), and each RPC, service and proto file as the hash
        of its own text. A mapping keeps its order: a template iterating it renders in that order."""
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            return repr(value)
        if kind in _HASHED:
            held = self._held.get(id(value))
            if held is None:  # encoded in C: none of them holds a set, so the bytes are the same in every process
                held = self._held[id(value)] = (value, hashlib.sha256(_encoded(value)).hexdigest())
            return f"{kind.__qualname__}#{held[1]}"
        if kind is tuple or kind is list:
            inner = ", ".join(self._stable(item) for item in value)
            return f"({inner},)" if kind is tuple else f"[{inner}]"
        if kind is dict:
            return "{" + ", ".join(f"{self._stable(k)}: {self._stable(v)}" for k, v in value.items()) + "}"
        if isinstance(value, (set, frozenset)):
            return repr(sorted(value))
        if isinstance(value, Config):
            value = dataclasses.replace(value, root=Path(os.path.abspath(value.root)))
        if field_names(kind) is not None:
            return self._fields(value)
        return repr(value)

    def _fields(self, value: Any) -> str:
        names = field_names(type(value)) or ()
        own = ", ".join(f"{name}={self._stable(getattr(value, name))}" for name in names)
        return f"{type(value).__qualname__}({own})"


_HASHED = frozenset({Rpc, Service, ProtoFile})
"""The model's parts that recur across renders' contexts: each is hashed once per pass (`Keys`), from its
msgpack encoding: on googleapis, writing out their fields in Python took a tenth of a leaf change (0.2 s for
the whole project's 7,000 files), encoding them takes a fifth of that. Their fields are strings, flags and
tuples of such records only (a set's order would follow the process's hash seed)."""
_encode = msgspec.msgpack.Encoder().encode


def _encoded(value: Any) -> bytes:
    """`value`'s msgpack encoding; its `repr` where msgpack cannot say it (an int past 64 bits or a lone
    surrogate, read from a manifest edited by hand into a record of the servicer's view)."""
    try:
        return _encode(value)
    except (OverflowError, UnicodeEncodeError, TypeError):
        return b"repr\0" + repr(value).encode("utf-8", "backslashreplace")
