"""Two `scaffold new`s into one directory at once end with one whole project and one clean refusal.

A directory that exists gets the project's lock, as `gen` takes it: without it, the second run rolled
the first one's transaction back as a dead run's, and the project the first one reported written lost
files (`check` then said its proto was missing). A directory that does not exist appears by one rename,
and the second rename is refused. A `new` refused in an existing directory leaves it as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import DEADLINE_SECONDS, REPO, lock_held_elsewhere, run_scaffold, tree

from scaffold import api
from scaffold.core.errors import ScaffoldError
from scaffold.core.seams import BEFORE_SWAP, ENVIRONMENT
from scaffold.layout import LOCK_FILE
from scaffold.record import cache, lock

ROUTE_GUIDE = REPO / "protos/route_guide.proto"
SECOND = "SCAFFOLD_TEST_SECOND_NEW"
"""The directory the hook starts the second `new` into, and where its exit code and stderr go."""

_second: list[subprocess.Popen[str]] = []


def start_second_new(moment: str, path: str) -> None:
    """The seam's hook (`SCAFFOLD_SEAM`): as the first `new` swaps in its first file, a second `new` of
    the same directory starts, and is left to run."""
    if moment != BEFORE_SWAP or _second:
        return
    _start_second("new", str(ROUTE_GUIDE), "-o", os.environ[SECOND], "--aio")


def _start_second(*arguments: str) -> None:
    """`scaffold ARGUMENTS` started beside the run the seam is in (kept in `_second`), returning once it
    waits for the project's lock or has ended: it then looks at the directory while this run's
    transaction is half done, every time."""
    environment = {k: v for k, v in os.environ.items() if k != ENVIRONMENT}
    command = [sys.executable, "-m", "scaffold", *arguments]
    second = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _second.append(second)
    lock_file = str(Path(os.environ[SECOND], LOCK_FILE).resolve())
    deadline = time.monotonic() + DEADLINE_SECONDS
    while second.poll() is None and lock_file not in _open_files(second.pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _open_files(pid: int) -> set[str]:
    found = set()
    with contextlib.suppress(OSError):
        for descriptor in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                found.add(os.readlink(f"/proc/{pid}/fd/{descriptor}"))
    return found


def test_a_second_new_into_the_same_directory_waits_and_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv(ENVIRONMENT, f"{__name__}:start_second_new")
    monkeypatch.setenv(SECOND, str(project))
    _second.clear()
    api.new_project([ROUTE_GUIDE], output=project)
    monkeypatch.delenv(ENVIRONMENT)
    assert len(_second) == 1, "the second run started while the first was writing"
    _, stderr = _second[0].communicate(timeout=DEADLINE_SECONDS)
    refused = f"{project}: holds a scaffold project already; `scaffold gen -C {project}` regenerates it"
    assert (_second[0].returncode, stderr) == (2, f"{refused} (nothing was written)\n")
    checked = run_scaffold("check", "-C", project)
    assert (checked.returncode, checked.stdout) == (0, "Up to date.\n"), checked.stderr
    assert "import grpc.aio" not in (project / "route_guide/server.py").read_text(), "the first run's project"


@pytest.mark.parametrize("case", ["a proto that does not compile", "a directory that is not empty"])
def test_a_new_refused_in_an_existing_directory_leaves_it_as_it_was(tmp_path: Path, case: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    proto = tmp_path / "broken.proto"
    proto.write_text('syntax = "proto3";\nmessage M { strin name = 1; }\n')
    if case == "a directory that is not empty":
        (project / "notes.txt").write_text("mine\n")
        proto = ROUTE_GUIDE
    before = tree(project)
    with pytest.raises(ScaffoldError):
        api.new_project([proto], output=project)
    assert tree(project) == before
    assert sorted(p.name for p in project.iterdir()) == sorted(before), "no `.scaffold/` left for the lock"


def test_a_run_waiting_for_a_lock_whose_file_is_taken_away_takes_the_new_one(tmp_path: Path) -> None:
    """A `new` that fails takes its lock's file away while a second run waits on it: the second run's
    lock is then the file that path names, the one a third run would lock, not the one taken away."""
    found: dict[str, object] = {}

    def wait_for_the_lock() -> None:
        with lock.held(tmp_path, wait_seconds=DEADLINE_SECONDS):
            found["pid"] = (tmp_path / LOCK_FILE).read_text()
            found["locked"] = _locked_elsewhere(tmp_path / LOCK_FILE)

    with lock_held_elsewhere(tmp_path, release=True) as holder:
        waiting = threading.Thread(target=wait_for_the_lock)
        waiting.start()
        lock_file = str((tmp_path / LOCK_FILE).resolve())
        deadline = time.monotonic() + DEADLINE_SECONDS
        while lock_file not in _open_files(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.01)  # until this run waits on the holder's file
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        waiting.join(DEADLINE_SECONDS)
        assert holder.wait(DEADLINE_SECONDS) == 0
    assert found == {"pid": f"{os.getpid()}\n", "locked": True}, "the file the path names is the one locked"


def _locked_elsewhere(path: Path) -> bool:
    """Whether a lock on `path`, taken now through a file description of its own, would have to wait."""
    import fcntl

    descriptor = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def save_during_new(moment: str, path: str) -> None:
    """The seam's hook: the user saves the file `new --force` is about to swap in first."""
    target = Path(os.environ[SECOND], path)
    if moment == BEFORE_SWAP and not target.exists():
        target.write_text("saved by the user\n")


def test_a_save_landing_while_new_writes_into_a_directory_is_kept_and_nothing_else_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("mine\n")
    monkeypatch.setenv(ENVIRONMENT, f"{__name__}:save_during_new")
    monkeypatch.setenv(SECOND, str(project))
    with pytest.raises(ScaffoldError) as refused:
        api.new_project([ROUTE_GUIDE], output=project, force=True)
    monkeypatch.delenv(ENVIRONMENT)
    saved = [path for path, content in tree(project).items() if content == b"saved by the user\n"]
    assert len(saved) == 1
    assert str(refused.value) == f"{project / saved[0]}: changed while scaffold new wrote; nothing was written"
    assert tree(project) == {"notes.txt": b"mine\n", saved[0]: b"saved by the user\n"}
    assert sorted(p.name for p in project.iterdir()) == sorted({"notes.txt", saved[0].split("/")[0]})


@pytest.mark.parametrize("case", ["a config that is not UTF-8", "a file where the cache goes"])
def test_a_new_refused_before_the_lock_leaves_the_directory_as_it_was(tmp_path: Path, case: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    if case == "a config that is not UTF-8":
        (project / "pyproject.toml").write_bytes(b"\xff[tool.scaffold]\n")
        expected = f"{project / 'pyproject.toml'}: exists with other content; scaffold new needs this path"
    else:
        (project / ".scaffold").mkdir()
        (project / ".scaffold/cache").write_text("mine\n")
        expected = f"{project / '.scaffold/cache'}: is a file where scaffold keeps its record"
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    refused = run_scaffold("new", ROUTE_GUIDE, "-o", project, "--force")
    assert refused.returncode == 2 and refused.stderr.startswith(expected), refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before


def gen_waits_then_new_fails(moment: str, path: str) -> None:
    """The seam's hook: once `new --force` has swapped its config in, a `gen` of the directory starts and
    waits for the lock; then the `new` fails (a full disk), and rolls back."""
    if (moment, path) != ("after-swap", "pyproject.toml"):
        return
    _start_second("gen", "-C", os.environ[SECOND])
    raise OSError(28, "No space left on device", str(Path(os.environ[SECOND], path)))


def test_a_gen_that_waited_for_a_new_that_failed_leaves_the_directory_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("mine\n")
    monkeypatch.setenv(ENVIRONMENT, f"{__name__}:gen_waits_then_new_fails")
    monkeypatch.setenv(SECOND, str(project))
    _second.clear()
    with pytest.raises(OSError, match="No space left"):
        api.new_project([ROUTE_GUIDE], output=project, force=True)
    monkeypatch.delenv(ENVIRONMENT)
    assert len(_second) == 1
    _, stderr = _second[0].communicate(timeout=DEADLINE_SECONDS)
    assert (_second[0].returncode, stderr) == (
        2,
        f"{project}: holds no project any more (a `scaffold new` into it failed meanwhile)\n",
    )
    assert sorted(p.name for p in project.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("link", [".scaffold", ".scaffold/cache"])
def test_the_lock_files_are_never_taken_away_through_a_link(tmp_path: Path, link: str) -> None:
    """`lock.released` opens each directory without following a link: one put in place of `.scaffold/` or
    its cache while a run held the lock leads outside the project, where nothing is taken away."""
    outside = tmp_path / "outside"
    (outside / "cache").mkdir(parents=True)
    (outside / "cache/lock").write_text("someone's\n")
    (outside / "cache/.gitignore").write_text(cache._IGNORE)
    root = tmp_path / "project"
    (root / ".scaffold").mkdir(parents=True)
    if link == ".scaffold":
        (root / ".scaffold").rmdir()
        (root / ".scaffold").symlink_to(outside)
    else:
        (root / ".scaffold/cache").symlink_to(outside / "cache")
    before = tree(outside)
    lock.released(root)
    assert tree(outside) == before
    assert (root / link).is_symlink()


def test_the_lock_files_go_as_they_came(tmp_path: Path) -> None:
    with lock.held(tmp_path):
        assert sorted(p.name for p in (tmp_path / ".scaffold/cache").iterdir()) == [".gitignore", "lock"]
        lock.released(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_file_where_the_record_goes_is_said_in_one_line(tmp_path: Path) -> None:
    """The lock's directories are made again when a holder takes them away as they are made, a few times,
    not until the deadline: a file at `.scaffold` fails every time, and is said at once."""
    project = tmp_path / "project"
    assert run_scaffold("new", ROUTE_GUIDE, "-o", project).returncode == 0
    shutil.rmtree(project / ".scaffold")
    (project / ".scaffold").write_text("not a directory\n")
    result = run_scaffold("gen", "-C", project)
    assert (result.returncode, result.stderr) == (
        2,
        f"{project / '.scaffold/cache/lock'}: cannot take the project's lock: Not a directory\n",
    )


def test_lock_directories_taken_away_as_they_are_made_are_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A holder's `released` can land between this run's making the directories and opening the lock
    file in them: the run makes them again, and holds the lock the path names."""
    made = cache.directory
    taken: list[str] = []

    def then_taken_away(root: str | os.PathLike[str]) -> str:
        directory = made(root)
        if not taken:
            taken.append(directory)
            shutil.rmtree(Path(root) / ".scaffold")  # as `released` does, while this run was between the two
        return directory

    monkeypatch.setattr(cache, "directory", then_taken_away)
    with lock.held(tmp_path, wait_seconds=DEADLINE_SECONDS):
        assert taken, "the directories went once"
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        assert _locked_elsewhere(tmp_path / LOCK_FILE)
