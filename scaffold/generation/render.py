"""Stage: render the project's own files from Jinja templates, in memory.

A template's path is its output's path plus `.jinja`, with `__package__`
standing for the project's package directory and `__generated__` for the
generated sub-package inside it. A template whose name holds `__proto__` is
rendered once per proto file that defines a service, with `file` in its
context and the proto's path (without `.proto`) in its name. One whose name
holds `__service__` is rendered once per service, with `project` and
`servicer` narrowed to that service in its context: the name part holding
the placeholder takes the service's module name, below the directories of its
proto package (`tests/test___service__.py` -> `tests/google/spanner/v1/test_spanner.py`).
Files and directories whose name starts with one `_` are shared macros, not
outputs. A template that renders to nothing but whitespace writes no file: that
is how an option or a layout adds a module (`metrics = true` adds `metrics.py`);
an empty `__init__.py` is still written where its directory holds other
outputs, since it makes that directory a package. Rendering never
touches the disk: it returns `{path: text}` for the later stages to check
and write.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from scaffold import user_cache
from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.generation import renders
from scaffold.generation.inputs import builtin_templates
from scaffold.record.memo import Memo

if TYPE_CHECKING:  # imported where a template is compiled: a run whose renders are all kept never needs it
    import jinja2

PLACEHOLDERS = ("__package__", "__generated__")
PER_FILE = "__proto__"
PER_SERVICE = "__service__"
SUFFIX = ".jinja"


class Renderer(Struct, frozen=True, dict=True):
    """One Jinja environment over the template directories, searched in order.

    The environment, and with it every compiled template, lives as long as the
    renderer: compiling the templates was 85% of a regeneration's time, which
    `watch` pays on every save otherwise. Jinja still checks each template's
    mtime, so an edited template is recompiled.
    """

    template_dirs: tuple[Path, ...]

    @classmethod
    def builtin(cls) -> Renderer:
        return _renderer((builtin_templates(),))

    @classmethod
    def with_overrides(cls, directory: Path | None) -> Renderer:
        """The user's templates in `directory` first, file by file, then the built-in ones."""
        if directory is None:
            return cls.builtin()
        return _renderer((directory.resolve(), builtin_templates()))

    @functools.cached_property
    def environment(self) -> jinja2.Environment:
        import jinja2

        # Autoescape stays off: HTML escaping would corrupt Python source.
        return jinja2.Environment(
            bytecode_cache=_bytecode_cache(),
            loader=jinja2.FileSystemLoader([str(d) for d in self.template_dirs]),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )

    def template_names(self) -> list[str]:
        names = set()
        for directory in self.template_dirs:
            for path in directory.rglob(f"*{SUFFIX}"):
                relative = path.relative_to(directory)
                if not any(part.startswith("_") and not part.startswith("__") for part in relative.parts):
                    names.add(relative.as_posix())
        return sorted(names)

    def per_service_outputs(self, paths: Mapping[str, str], module: str) -> list[str]:
        """Where the per-service templates write the modules of the service whose path is `module`, in
        template order (the same order for any `module`, so two services' lists pair up)."""
        outputs = []
        for name in self.template_names():
            output = name.removesuffix(SUFFIX)
            for placeholder in PLACEHOLDERS:
                output = output.replace(placeholder, paths[placeholder])
            if PER_SERVICE in output:
                outputs.append(_per_service_path(output, module))
        return outputs

    def render(
        self,
        context: Mapping[str, Any],
        paths: Mapping[str, str],
        files: Mapping[str, Any] = {},
        services: Mapping[str, Mapping[str, Any]] = {},
        kept: Memo | None = None,
    ) -> dict[str, str]:
        """Every output template rendered with `context`, keyed by output path.

        `paths` gives the directory each placeholder stands for; `files` maps a
        proto's path without `.proto` to the object a per-file template sees as
        `file`; `services` maps a service's module path (`google/spanner/v1/spanner`)
        to what a per-service template sees besides `context`. With `kept`, a
        render whose inputs are unchanged since the run that kept it is taken
        from there (see `scaffold.generation.renders`).
        """
        outputs: dict[str, str] = {}
        sources = renders.sources(self.template_dirs) if kept is not None else ""
        kept_before = frozenset(kept.used) if kept is not None else frozenset()
        keys = renders.Keys()
        taken: dict[str, str] = {}  # each context value's digest, by name (`renders.Keys.fingerprint`)
        shared: str | None = None  # the fingerprint of what every per-service render reads alike
        owns: dict[str, str] = {}
        for name in self.template_names():
            output = name.removesuffix(SUFFIX)
            for placeholder in PLACEHOLDERS:
                output = output.replace(placeholder, paths[placeholder])
            if PER_FILE in output:
                read = self._read_fingerprint(name, context, kept, sources, keys, taken)
                rendered = {
                    output.replace(PER_FILE, stem): self._render_file(name, context, file, kept, read, keys)
                    for stem, file in files.items()
                }
            elif PER_SERVICE in output:
                if kept is not None and shared is None and services:
                    # `project` and `servicer` are each service's own (narrowed): only the view's sets are shared.
                    mine = next(iter(services.values()))
                    common = {k: v for k, v in context.items() if k not in mine}
                    shared = keys.fingerprint(sources, {**common, **_view_sets(context["servicer"])}, taken)
                rendered = {
                    _per_service_path(output, stem): self._render_service(
                        name, context, extra, kept, shared, owns, stem, keys
                    )
                    for stem, extra in services.items()
                }
            else:
                read = self._read_fingerprint(name, context, kept, sources, keys, taken)
                rendered = {output: self._render_keyed(name, context, kept, read, lambda: "")}
            outputs.update((path, text) for path, text in rendered.items() if text.strip() or _is_package(path))
        if kept is not None and renders.sources(self.template_dirs) != sources:
            # A template saved while this run rendered: what it rendered is not kept under the digest of the
            # templates as they were before, which a later run meeting those templates again would trust.
            kept.forget(frozenset(kept.used) - kept_before)
        holding = {parent for path, text in outputs.items() if text.strip() for parent in _parents(path)}
        return {path: text for path, text in outputs.items() if text.strip() or path.rpartition("/")[0] in holding}

    def _render_service(
        self,
        name: str,
        context: Mapping[str, Any],
        own: Mapping[str, Any],
        kept: Memo | None,
        shared: str | None,
        owns: dict[str, str],
        module: str,
        keys: renders.Keys,
    ) -> str:
        """A per-service render (`own`: the service's own part of the context); `owns` holds each service's
        `renders.Keys.own_digest` by module, taken once for all its templates."""
        if kept is not None and shared is not None and module not in owns:
            owns[module] = keys.own_digest(own)
        return self._render_keyed(name, {**context, **own}, kept, shared, lambda: owns[module])

    def _render_file(
        self,
        name: str,
        context: Mapping[str, Any],
        file: Any,
        kept: Memo | None,
        shared: str | None,
        keys: renders.Keys,
    ) -> str:
        """A per-file render: `shared` fingerprints the part of the context the template reads, the key adds
        the file."""
        return self._render_keyed(name, {**context, "file": file}, kept, shared, lambda: keys.digest_of(file))

    def _render_keyed(
        self, name: str, context: Mapping[str, Any], kept: Memo | None, shared: str | None, own: Callable[[], str]
    ) -> str:
        """Template `name` rendered with `context`, from `kept` where the render's key is there: `shared`
        fingerprints what this render reads alike with others (None: it cannot be kept), `own()` digests the
        rest, taken only when there is a memo to key."""
        if kept is None or shared is None:
            return self._render_one(name, context)
        key = renders.key(shared, name, own())
        text: str | None = kept.get(key)
        if text is None:
            text = self._render_one(name, context)
            kept.put(key, text)
        return text

    def _read_fingerprint(
        self,
        name: str,
        context: Mapping[str, Any],
        kept: Memo | None,
        sources: str,
        keys: renders.Keys,
        taken: dict[str, str],
    ) -> str | None:
        """The fingerprint of the part of `context` template `name` reads, with `sources`; None without `kept`."""
        if kept is None:
            return None
        reads = self._kept_reads(name, kept, sources)
        read = {k: v for k, v in context.items() if reads is None or k in reads}
        return keys.fingerprint(sources, read, taken)

    def _kept_reads(self, name: str, kept: Memo, sources: str) -> frozenset[str] | None:
        """`_reads`, from the memo while no template changed, else from the user's cache, where every project
        made from the same templates finds them (finding them parses the templates again: about a quarter
        of a small project's `new`, after the imports)."""
        key = f"reads:{sources}:{name}"
        found = kept.get(key)
        if found is None:
            found = _shared_reads(sources, name, lambda: self._reads(name), self.template_dirs)
            kept.put(key, found)
        return None if found == ["*"] else frozenset(found)

    def _reads(self, name: str) -> frozenset[str] | None:
        """The context names template `name` can read, through every template it includes or imports;
        None when that cannot be known (a template named by an expression): then it reads everything.

        A per-file template that reads neither `project` nor `servicer` (the built-in one reads `file`
        and `config`) renders the same for an unchanged proto whatever else changed, so it is kept."""
        import jinja2.meta

        environment = self.environment
        found: set[str] = set()
        pending, seen = [name], set()
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            try:
                source, _, _ = environment.loader.get_source(environment, current)  # type: ignore[union-attr]
                tree = environment.parse(source)
            except jinja2.TemplateError:
                return None  # rendering reports it, located
            found |= jinja2.meta.find_undeclared_variables(tree)
            for referenced in jinja2.meta.find_referenced_templates(tree):
                if referenced is None:
                    return None
                pending.append(referenced)
        return frozenset(found)

    def _render_one(self, name: str, context: Mapping[str, Any]) -> str:
        import jinja2

        try:
            return self.environment.get_template(name).render(context)
        except jinja2.TemplateError as error:
            raise ScaffoldError([_template_diagnostic(name, error, self.template_dirs)]) from None


def _shared_reads(
    sources: str, name: str, find: Callable[[], frozenset[str] | None], template_dirs: tuple[Path, ...]
) -> list[str]:
    """What template `name` reads (["*"]: anything), kept in the user's cache by the templates' digest
    (`renders.sources`), which names their sources and the tools' versions; a cache that cannot be read or
    written costs time only. What was found from templates saved since `sources` was taken is not kept."""
    path = os.path.join(user_cache("reads"), f"{sources}.json")
    try:
        with open(path, encoding="utf-8") as file:
            known = json.load(file)
    except (OSError, ValueError):
        known = {}
    found = known.get(name) if isinstance(known, dict) else None
    if isinstance(found, list) and all(isinstance(n, str) for n in found):
        return found
    reads = find()
    found = ["*"] if reads is None else sorted(reads)
    if renders.sources(template_dirs) != sources:
        return ["*"]  # read from other templates than `sources` names: everything, and nothing kept
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        staged = f"{path}.{os.getpid()}.tmp"
        with open(staged, "w", encoding="utf-8") as file:
            json.dump({**(known if isinstance(known, dict) else {}), name: found}, file)
        os.replace(staged, path)
    except OSError:
        pass
    return found


def _view_sets(view: Any) -> dict[str, Any]:
    """What a per-service servicer view shares with every other: its project-wide fields."""
    return {"servicer.package": view.package, "servicer.modules": view.modules, "servicer.served": view.served}


def _per_service_path(output: str, module: str) -> str:
    """`output` with the name part holding `__service__` placed below `module`'s directories."""
    directory, _, stem = module.rpartition("/")
    parts = output.split("/")
    index = next(i for i, part in enumerate(parts) if PER_SERVICE in part)
    parts[index] = (f"{directory}/" if directory else "") + parts[index].replace(PER_SERVICE, stem)
    return "/".join(parts)


def _parents(path: str) -> list[str]:
    """Every directory `path` lies in: `a/b/c.py` -> `a/b`, `a`."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _is_package(path: str) -> bool:
    return path.rpartition("/")[2] == "__init__.py"


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between processes (a fresh process otherwise spends ~45 ms compiling).

    Jinja keys each entry by the template's source, so an edited template is
    never served stale; no writable cache directory just means no cache.
    """
    import jinja2

    directory = user_cache("jinja")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(directory)


@functools.cache
def _renderer(template_dirs: tuple[Path, ...]) -> Renderer:
    """One renderer per search path, so `watch` compiles each template once."""
    return Renderer(template_dirs)


def _template_diagnostic(name: str, error: jinja2.TemplateError, dirs: Sequence[Path]) -> Diagnostic:
    line = getattr(error, "lineno", None)
    filename = getattr(error, "filename", None) or next((str(d / name) for d in dirs if (d / name).is_file()), name)
    return Diagnostic(filename, f"template error: {error}", line or 1, 1)
