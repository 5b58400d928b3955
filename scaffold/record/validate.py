"""What must not be written: checked before a transaction changes anything.

Every .py must compile and every .pyi parse, protoc's own output included:
protoc exits 0 on code that does not compile. Warnings count as errors so
that nothing written ever fails under `python -W error`. A path that leads
out of the project, or through a symbolic link, or where a directory of the
user's stands (or a file where scaffold needs a directory), is refused too.
This is its own module because it only reads: the write stage
(`scaffold.record.write`) runs it beside its staging, and nothing here
changes the tree.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import dataclasses
import os
import signal
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.core.paths import problem as path_problem
from scaffold.core.processes import die_with_parent, usable_cores

if TYPE_CHECKING:
    import concurrent.futures
    import multiprocessing.context
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess


@contextlib.contextmanager
def checking(
    files: Mapping[str, bytes | None], root: Path, users_text: Collection[str] = ()
) -> Iterator[Callable[[], None]]:
    """Raise with a located diagnostic for every path or module that must not be written, beside the
    caller's staging: a path that must not be written raises here, before the caller writes anything; a
    large batch of modules compiles in worker processes meanwhile, and the function yielded waits for
    them and raises what they found. The caller stages where nothing reads (a directory beside the
    project, the transaction's) and calls it before anything is swapped in. Modules the run handed to
    `check_ahead` are not compiled again: their results are taken from there.

    `users_text` are paths whose content is the result of merging into the user's file: the user's code,
    possibly with conflict markers, not scaffold's output, so it is not compiled.

    googleapis' `new` compiles 21,000 modules (about 12 s on both cores) and writes 45,000 files (about
    12 s, mostly waiting on the disk): side by side, not one after the other (issue 30)."""
    problems = []
    to_check: dict[tuple[bytes, bool], str] = {}  # each distinct content once: state copies repeat files
    for path, content in sorted(files.items()):
        why = path_problem(path)  # an alias (`a//b`) or a NUL byte is refused too, not only a way out
        if why is not None:
            problems.append(Diagnostic(repr(path), f"{why}; refusing to write it (nothing was written)"))
            continue
        if content is not None and path.endswith((".py", ".pyi")) and path not in users_text:
            to_check.setdefault((content, path.endswith(".pyi")), str(root / path))
    ahead = _AHEAD.get()
    checked_ahead = ahead.taken(to_check) if ahead is not None else None
    jobs = [(content, display, stub) for (content, stub), display in to_check.items()]
    pool = _pool(len(jobs))
    if problems or (pool is None and checked_ahead is None):  # a path problem stops the run at once: every
        problems += _by_path(_checked_now(jobs, pool) + (checked_ahead() if checked_ahead else []))  # module is
        if problems:  # checked now, to say all; so is a small batch
            raise ScaffoldError(problems)
        yield lambda: None
        return
    try:  # compile problems are said once staged, as a large batch's always were, whatever was checked ahead
        results = _mapped(pool, jobs) if pool is not None else None

        def finish() -> None:
            found = [p for p in results if p is not None] if results is not None else _checked_now(jobs, None)
            found = _by_path(found + (checked_ahead() if checked_ahead else []))
            if pool is not None:
                pool.shutdown()  # idle workers gone before anything is swapped in, not kept through the swap
            if found:
                raise ScaffoldError(found)

        yield finish
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        if pool is not None:
            pool.shutdown()


@contextlib.contextmanager
def ahead_of_writing() -> Iterator[None]:
    """The scope of a run that will write: modules it hands to `check_ahead` meanwhile start compiling in a
    forked worker at once, and its `checking` takes their results. Leaving it kills what is still running
    (a worker holds the project's lock it inherited while it lives)."""
    ahead = _Ahead()
    token = _AHEAD.set(ahead)
    try:
        yield
    finally:
        try:
            ahead.close()
        finally:
            _AHEAD.reset(token)


def ahead_open() -> bool:
    """Whether this run opened `ahead_of_writing`: else what it would hand over need not even be gathered."""
    return _AHEAD.get() is not None


def check_ahead(files: Mapping[str, bytes]) -> None:
    """Start compiling `files` (.py and .pyi, by path in the project) in a worker, when the run opened
    `ahead_of_writing` and they are many: protoc's new outputs, while this process describes and renders on
    the other core. temporalio's `new` waited 70 to 150 ms for its check after writing."""
    ahead = _AHEAD.get()
    if ahead is not None:
        ahead.start(files)


class _Ahead:
    """The checks one run started ahead: each batch handed over split among forked workers (one fewer than
    the check's, leaving a core to the run), each of which compiles its part and sends every module's
    problem back at once; each module's worker and place, by content and kind (as `checking` keys them).
    A forked worker inherits the modules to check: nothing is sent to it."""

    def __init__(self) -> None:
        self.workers: list[tuple[BaseProcess, Connection]] = []
        self.places: dict[tuple[bytes, bool], tuple[int, int]] = {}
        self.received: dict[int, list[Diagnostic | None] | None] = {}

    def start(self, files: Mapping[str, bytes]) -> None:
        jobs = {(content, path.endswith(".pyi")): path for path, content in sorted(files.items())}
        listed = [
            (c, p, stub)
            for (c, stub), p in jobs.items()
            if p.endswith((".py", ".pyi")) and (c, stub) not in self.places
        ]
        if len(listed) < _PARALLEL_FROM or _WORKERS < 2:
            return  # few, or one core: `checking` compiles them with the rest
        import multiprocessing  # here: a small project's run never needs it

        if "fork" not in multiprocessing.get_all_start_methods():
            return
        count = _WORKERS - 1
        for part in (listed[first::count] for first in range(count)):
            if not self._fork(multiprocessing.get_context("fork"), part):
                return  # none could be forked (a process limit): `checking` compiles the rest

    def _fork(self, context: multiprocessing.context.ForkContext, part: list[tuple[bytes, str, bool]]) -> bool:
        receiving, sending = context.Pipe(duplex=False)
        readers = [receiving, *(reader for _, reader in self.workers)]  # the worker keeps none of them open
        worker = context.Process(target=_check_and_send, args=(part, sending, readers, os.getpid()), daemon=True)
        try:
            worker.start()
        except BaseException as error:
            receiving.close()
            if worker.pid is not None:  # forked, then failed (Ctrl-C): never left running with the lock
                os.kill(worker.pid, signal.SIGKILL)
            if isinstance(error, Exception):
                return False
            raise
        finally:
            sending.close()
        self.workers.append((worker, receiving))
        for position, (content, _, stub) in enumerate(part):
            self.places[content, stub] = (len(self.workers) - 1, position)
        return True

    def taken(self, to_check: dict[tuple[bytes, bool], str]) -> Callable[[], list[Diagnostic]] | None:
        """Take the modules of `to_check` checked ahead out of it (None when there are none); what waits for
        their problems, said at the paths `checking` would name."""
        taken = {key: (self.places[key], to_check.pop(key)) for key in list(to_check) if key in self.places}
        if not taken:
            return None

        def found() -> list[Diagnostic]:
            problems = []
            for (content, stub), ((worker, position), display) in taken.items():
                results = self._results(worker)
                problem = _check_python(content, display, stub) if results is None else results[position]
                if problem is not None:
                    problems.append(dataclasses.replace(problem, path=display))
            return problems

        return found

    def _results(self, worker: int) -> list[Diagnostic | None] | None:
        """What `worker` sent; None where it died first (killed, out of memory): its modules are checked here."""
        if worker not in self.received:
            try:
                self.received[worker] = self.workers[worker][1].recv()
            except (EOFError, OSError):
                self.received[worker] = None
        return self.received[worker]

    def close(self) -> None:
        for process, receiving in self.workers:  # each killed first, then waited for: a Ctrl-C while
            receiving.close()  # waiting leaves none running
            process.kill()  # done and waiting to send, or still compiling: its results are not wanted now
        for process, _ in self.workers:
            process.join()


def _check_and_send(  # pragma: no cover - runs in the forked worker
    jobs: list[tuple[bytes, str, bool]], sending: Connection, readers: list[Connection], parent: int
) -> None:
    """A worker ahead: every job's problem, sent at once. It keeps no reading end open, its own pipe's or
    an earlier worker's (a run that dies then leaves a send blocked on it nothing to wait for), and
    anything it cannot do ends it quietly: its modules are then checked by the run."""
    try:
        for reader in readers:
            reader.close()
        _worker_started(parent)
        sending.send([_check_python(*job) for job in jobs])
        sending.close()
    except BaseException:  # noqa: BLE001 - MemoryError, a Ctrl-C before it was ignored: no traceback printed
        os._exit(1)


_AHEAD: contextvars.ContextVar[_Ahead | None] = contextvars.ContextVar("checks_ahead", default=None)


def _by_path(found: list[Diagnostic]) -> list[Diagnostic]:
    """Modules' problems in the order of their paths, wherever they were checked (one problem per module)."""
    return sorted(found, key=lambda problem: problem.path)


def _checked_now(
    jobs: list[tuple[bytes, str, bool]], pool: concurrent.futures.ProcessPoolExecutor | None
) -> list[Diagnostic]:
    """The problems of `jobs`, checked before returning (in `pool`'s workers when there is one)."""
    if pool is None:
        return [p for p in map(_check_job, jobs) if p is not None]
    with pool:
        return [p for p in _mapped(pool, jobs) if p is not None]


def _mapped(
    pool: concurrent.futures.ProcessPoolExecutor, jobs: list[tuple[bytes, str, bool]]
) -> Iterator[Diagnostic | None]:
    """Each job's check, in order, from `pool`'s workers, a few chunks per worker."""
    return pool.map(_check_job, jobs, chunksize=max(1, len(jobs) // (_WORKERS * 4)))


_PARALLEL_FROM = 64  # below this many modules, starting worker processes costs more than it saves
_WORKERS = min(usable_cores(), 8)


def _pool(jobs: int) -> concurrent.futures.ProcessPoolExecutor | None:
    """Forked workers (which inherit everything already imported) for a large batch; None for a small one,
    or where the machine has one core or cannot fork. Compiling is pure CPU: the cores divide it."""
    if jobs < _PARALLEL_FROM or _WORKERS < 2:
        return None
    import concurrent.futures  # here: their import is ~10 ms, a small project's run never needs them
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return concurrent.futures.ProcessPoolExecutor(
        _WORKERS, mp_context=multiprocessing.get_context("fork"), initializer=_worker_started, initargs=(os.getpid(),)
    )


def _worker_started(parent: int) -> None:  # pragma: no cover - runs in each worker
    """Ctrl-C is the run's to handle (it stops the pool), not each worker's to print; and a worker goes
    when the run is killed, never holding the project's lock it inherited (`scaffold.record.lock`), even
    killed before the worker asked to go with it (`parent`, the run, is then no longer its parent)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _check_job(job: tuple[bytes, str, bool]) -> Diagnostic | None:
    """One module's check, as a worker runs it."""
    return _check_python(*job)


def _check_python(content: bytes, display: str, stub: bool) -> Diagnostic | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            if stub:  # parsed, as type checkers read it: protoc's stub declares a field `__debug__`, which
                ast.parse(content, display)  # the compiler refuses (the module's code never names it)
            else:
                compile(content, display, "exec", dont_inherit=True)
        except SyntaxError as error:
            message = f"generated code does not compile: {error.msg}"
            return Diagnostic(display, message, error.lineno or 1, error.offset or 1)
        except Warning as warning:
            return Diagnostic(display, f"generated code warns when compiled: {warning}", 1, 1)
    return None


def refuse_links(root: Path, paths: Collection[str]) -> None:
    """Refuse to write through a symbolic link inside the project.

    Following one would let a regeneration change files outside the project
    (or replace the link with a file the user did not expect), so any link
    on the way to a path scaffold writes (its own `.scaffold/txn/` included)
    is an error before anything changes.
    """
    links: set[Path] = set()
    for path in paths:
        current = root
        for part in PurePosixPath(path).parts:
            current = current / part
            if current.is_symlink():
                links.add(current)
                break
    if links:
        raise ScaffoldError(
            [
                Diagnostic(str(link), "is a symbolic link; scaffold does not write through links")
                for link in sorted(links)
            ]
        )


def refuse_non_files(root: Path, paths: Collection[str]) -> None:
    """A directory where a file goes (or a file where a directory goes) is the user's: say so before writing."""
    problems = []
    directories: set[PurePosixPath] = set()  # each directory on the way is looked at once, not once per file
    for path in sorted(paths):
        target = root / path
        if target.is_dir():
            problems.append(
                Diagnostic(str(target), "is a directory; scaffold writes a file here (nothing was changed)")
            )
        for parent in PurePosixPath(path).parents:
            if parent == PurePosixPath(".") or parent in directories:
                continue
            directories.add(parent)
            if (root / parent).is_file():
                message = f"is a file; scaffold writes {path} below it (nothing was changed)"
                problems.append(Diagnostic(str(root / parent), message))
    if problems:
        raise ScaffoldError(sorted(set(problems), key=str))
