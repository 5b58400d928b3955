"""`scaffold watch`: regenerate on every save of a proto or of the config.

The same generation as `scaffold gen`, run in this process (protoc and Jinja
stay loaded, so a save costs a generation, not an interpreter start).

What decides whether to regenerate is the content of the inputs, not event
kinds: one editor save can arrive as several events (a temp file renamed
over the proto, a backup, vim's `4913` probe), and one batch can hold both
"deleted" and "added" for the same path. The digest is the no-op path's
(`scaffold.generation.inputs`): every .proto under the proto roots, the `[tool.scaffold]`
table and the templates, built-in and custom; scaffold itself never writes
any of them, so its own output can never trigger a run. Directories are
watched, never single files (a file watch goes silent after a rename-save),
and a watched root that disappears (a branch switch) is watched again when it
comes back.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import watchfiles

from scaffold.api import GenReport, regenerate
from scaffold.core.errors import EXIT_NEEDS_USER, Diagnostic, ScaffoldError
from scaffold.generation import configfile, inputs
from scaffold.generation.merge import conflict_lines
from scaffold.layout import CONFIG_FILE

STEP_MS = 50  # quiet time that closes a batch of events
DEBOUNCE_MS = 1600  # longest a batch may grow
ROOT_CHECK_MS = 500  # quiet time after which the roots and the digest are checked anyway


@dataclass(frozen=True)
class WatchEvent:
    """One run of the loop, for the caller to print.

    kind: "generated" (a generation ran; `report` says what it did),
    "failed" (bad input; `diagnostics`), "crashed" (an internal error;
    `traceback`, `repeated` when it is the same as the previous crash).
    """

    kind: Literal["generated", "failed", "crashed"]
    trigger: tuple[str, ...]
    seconds: float
    report: GenReport | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    traceback: str = ""
    repeated: bool = False


class Watcher:
    def __init__(
        self,
        root: Path,
        on_event: Callable[[WatchEvent], None],
        stop: threading.Event | None = None,
    ) -> None:
        self.root = root.resolve()
        self.on_event = on_event
        self.stop = stop or threading.Event()
        self._digest: str | None = None
        self._last_crash = ""
        self._templates: Path | None = None
        self._conflicted: frozenset[Path] = frozenset()
        """User files the last run left with conflict markers: a save of one may resume the loop."""
        self._roots = self._load_roots()

    def _load_roots(self) -> tuple[Path, ...]:
        """The proto roots (and, on the side, the custom template directory) of the config."""
        try:
            config = configfile.load(self.root)
        except ScaffoldError:
            return (self.root,)
        template_dir = config.template_dir()
        self._templates = template_dir.resolve() if template_dir else None
        return tuple(path.resolve() for path in config.include_dirs())

    def proto_roots(self) -> tuple[Path, ...]:
        """The include roots of the config as last read (re-read on every cycle, not per event)."""
        return self._roots

    def watched_paths(self) -> list[Path]:
        """The project root, and any proto root or template directory outside it, as far as they exist."""
        paths = [self.root]
        for root in (*self.proto_roots(), *([self._templates] if self._templates else [])):
            if not root.is_relative_to(self.root):
                paths.append(root if root.exists() else _existing_parent(root))
        return sorted(set(paths))

    def accepts(self, change: watchfiles.Change, path: str) -> bool:
        """Only inputs pass: .proto files under a proto root, the project's pyproject.toml, custom
        templates; and the files left in conflict, whose resolution lets regeneration go on."""
        candidate = Path(path)
        if candidate == self.root / CONFIG_FILE or candidate in self._conflicted:
            return True
        if self._templates is not None and candidate.is_relative_to(self._templates):
            return candidate.suffix == ".jinja"
        return candidate.suffix == ".proto" and any(candidate.is_relative_to(r) for r in self.proto_roots())

    def digest(self) -> str:
        """The digest the no-op path uses too (`scaffold.generation.inputs`): everything a generation reads."""
        table = inputs.config_table(self.root)
        if table is None:
            return "<no config>"
        try:
            return inputs.digest(self.root, table)
        except OSError:
            return "<inputs changing>"  # a file vanished while being read: the next batch sees it

    def run(self) -> None:
        """Generate once the watch is live, then on every change, until `stop` is set (or Ctrl-C).

        Every cycle runs from inside the watch loop: the first one (startup)
        only once watchfiles has set up its watches, so no save between the two
        is lost; and each quiet timeout re-checks the digest, so a change whose
        events were missed still gets generated.
        """
        for changed in self.batches():
            if changed:
                self.cycle(tuple(sorted({_relative(p, self.root) for p in changed})))
            else:
                self.cycle(("startup",) if self._digest is None else ("inputs changed",))

    def batches(self, also: Callable[[str], bool] | None = None) -> Iterator[set[str]]:
        """Batches of changed paths that pass `accepts` (or `also`), until `stop`; an empty one when all is quiet.

        The first batch comes once the watches are live; a watched root that
        went away or came back (a branch switch) is watched anew.
        """

        def keep(change: watchfiles.Change, path: str) -> bool:
            return self.accepts(change, path) or (also is not None and also(path))

        while not self.stop.is_set():
            paths = self.watched_paths()
            for changes in watchfiles.watch(
                *paths,
                watch_filter=keep,
                stop_event=self.stop,
                step=STEP_MS,
                debounce=DEBOUNCE_MS,
                rust_timeout=ROOT_CHECK_MS,
                yield_on_timeout=True,
            ):
                yield {path for _, path in changes}
                if self.watched_paths() != paths:
                    break  # a watched root went away or came back: watch the new set

    def cycle(self, trigger: Iterable[str]) -> WatchEvent | None:
        """One pass: regenerate if the inputs' content changed; report what happened."""
        trigger = tuple(trigger)
        started = time.perf_counter()
        self._roots = self._load_roots()
        digest = self.digest()
        touched_conflict = self._resolved_a_conflict(trigger)
        if digest == self._digest and not touched_conflict:
            return None
        self._digest = digest
        try:
            report = regenerate(self.root, stamp=False)  # saves ~3 ms a save; a later `gen` checks by content
        except ScaffoldError as error:
            if error.exit_code == EXIT_NEEDS_USER:
                self._conflicted = frozenset(Path(d.path).resolve() for d in error.diagnostics)
            event = WatchEvent("failed", trigger, time.perf_counter() - started, diagnostics=error.diagnostics)
        except Exception:  # noqa: BLE001 - the loop must outlive any bug in a generation
            text = traceback.format_exc()
            event = WatchEvent(
                "crashed", trigger, time.perf_counter() - started, traceback=text, repeated=text == self._last_crash
            )
            self._last_crash = text
            self._digest = None  # retry on the next change, even one that restores old content
        else:
            self._conflicted = frozenset(self.root / f.path for f in report.plan.conflicts)
            event = WatchEvent("generated", trigger, report.seconds, report=report)
        self.on_event(event)
        return event

    def _resolved_a_conflict(self, trigger: Iterable[str]) -> bool:
        """Whether `trigger` saved a file the last run left in conflict, and it holds no marker now. Its
        own conflicted write (markers still in) is no reason to run again and report the markers."""
        for path in (self.root / name for name in trigger):
            if path in self._conflicted:
                try:
                    if not conflict_lines(path.read_bytes()):
                        return True
                except OSError:
                    return True  # deleted or unreadable: let the run say what it makes of it
        return False


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path
