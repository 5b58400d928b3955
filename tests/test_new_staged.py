"""A `new` into a directory that does not exist stages its tree beside it, under the project's lock.

The lock goes with the tree through its rename, so the caches written after it are written while no
other run can read the project; a tree a killed `new` left beside the directory is known by its free
lock and taken away by the next `new` of that directory, while one a live `new` is writing is left.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, lock_held_elsewhere, run_scaffold

from scaffold import api
from scaffold.core.errors import ScaffoldError
from scaffold.core.seams import ENVIRONMENT, STAGED
from scaffold.layout import LOCK_FILE
from scaffold.record import write

ROUTE_GUIDE = REPO / "protos/route_guide.proto"
TARGET = "SCAFFOLD_TEST_STAGED_TARGET"
"""The directory the hooks' `new`s write."""

_seconds: list[subprocess.CompletedProcess[str]] = []


def die_when_staged(moment: str, path: str) -> None:
    """The seam's hook: the run is killed with its tree staged, before its rename."""
    if moment == STAGED:
        os._exit(9)


def second_new_when_staged(moment: str, path: str) -> None:
    """The seam's hook: with this run's tree staged, a second `new` of the same directory runs to its end."""
    if moment == STAGED and not _seconds:
        unhooked = {ENVIRONMENT: ""}
        _seconds.append(run_scaffold("new", ROUTE_GUIDE, "-o", os.environ[TARGET], "-q", env=unhooked))


def _hooked(hook: str) -> dict[str, str]:
    return {ENVIRONMENT: f"{__name__}:{hook}", "PYTHONPATH": str(Path(__file__).parent)}


def _staged(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".project.scaffold-"))


def test_a_tree_a_killed_new_staged_is_taken_away_by_the_next_new(tmp_path: Path) -> None:
    project = tmp_path / "project"
    killed = run_scaffold("new", ROUTE_GUIDE, "-o", project, env=_hooked("die_when_staged"))
    assert killed.returncode == 9, killed.stderr
    assert not project.exists()
    [dead] = _staged(tmp_path)  # the killed run's tree, left beside the directory
    (tmp_path / ".project.scaffold-notes").write_text("a file of the user's with a name like it\n")
    users = tmp_path / ".project.scaffold-backup01"  # a project of the user's: its lock is as free as the dead run's
    shutil.copytree(tmp_path / dead, users)
    (users / ".scaffold/cache/staged").unlink()
    made = run_scaffold("new", ROUTE_GUIDE, "-o", project, "-q")
    assert made.returncode == 0, made.stderr
    kept = [".project.scaffold-backup01", ".project.scaffold-notes"]
    assert _staged(tmp_path) == kept, "only the dead run's tree is taken away"
    checked = run_scaffold("check", "-C", project)
    assert (checked.returncode, checked.stdout) == (0, "Up to date.\n"), checked.stderr


def test_a_tree_a_live_new_is_staging_is_left_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second `new` finds the first one's staged tree locked and leaves it; its own rename comes first,
    so the first one's is refused, and the directory holds one whole project."""
    project = tmp_path / "project"
    monkeypatch.setenv(ENVIRONMENT, f"{__name__}:second_new_when_staged")
    monkeypatch.setenv(TARGET, str(project))
    _seconds.clear()
    with pytest.raises(ScaffoldError, match="was made by another run"):
        api.new_project([ROUTE_GUIDE], output=project)
    monkeypatch.delenv(ENVIRONMENT)
    assert [(second.returncode, second.stderr) for second in _seconds] == [(0, "")]
    assert _staged(tmp_path) == [], "the refused run took its own tree away"
    checked = run_scaffold("check", "-C", project)
    assert (checked.returncode, checked.stdout) == (0, "Up to date.\n"), checked.stderr


def test_the_caches_after_the_rename_are_written_under_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    found: list[bool] = []
    stamp = api.stamps.after_writing

    def stamp_while_looking(root: Path) -> None:
        descriptor = os.open(root / LOCK_FILE, os.O_RDWR)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            found.append(False)
        except BlockingIOError:
            found.append(True)
        finally:
            os.close(descriptor)
        stamp(root)

    monkeypatch.setattr(api.stamps, "after_writing", stamp_while_looking)
    api.new_project([ROUTE_GUIDE], output=project)
    assert found == [True], "a run that finds the project as it appears waits for its caches"
    assert run_scaffold("check", "-C", project).returncode == 0


def test_caches_that_cannot_be_written_after_the_rename_leave_the_project_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project is in place: a full disk then costs the next run its caches, not a report of a failure
    that left the project written."""
    project = tmp_path / "project"

    def disk_full(root: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(root / ".scaffold/cache/no-op.marshal"))

    monkeypatch.setattr(api.stamps, "after_writing", disk_full)
    report = api.new_project([ROUTE_GUIDE], output=project)
    assert report.root == project
    assert not (project / ".scaffold/cache/staged").exists()
    checked = run_scaffold("check", "-C", project)
    assert (checked.returncode, checked.stdout) == (0, "Up to date.\n"), checked.stderr


@contextlib.contextmanager
def _unwritable(directory: Path) -> Iterator[None]:
    """`directory` made unwritable for this process: immutable for root, whom modes do not stop."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(directory)], check=True)
    else:
        directory.chmod(0o555)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
        directory.chmod(0o755)


@pytest.mark.parametrize("into", ["the directory", "a directory in it"])
def test_a_directory_that_cannot_be_written_is_named_as_given(tmp_path: Path, into: str) -> None:
    """Not by the lock file it cannot hold, nor by the name of the tree that could not be staged in it."""
    directory = tmp_path / "d"
    directory.mkdir()
    (directory / "notes.txt").write_text("mine\n")
    target = directory if into == "the directory" else directory / "sub"
    with _unwritable(directory):
        refused = run_scaffold("new", ROUTE_GUIDE, "-o", target, "--force")
    assert refused.returncode == 2
    denied = os.strerror(errno.EPERM if os.geteuid() == 0 else errno.EACCES)
    said = "is not writable; nothing was written" if target == directory else f"{denied}; nothing was changed"
    assert refused.stderr == f"{target}: {said}\n"
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]


def test_a_busy_lock_in_a_directory_that_cannot_be_written_is_said_as_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    held = api.lock.held
    monkeypatch.setattr(api.lock, "held", lambda root: held(root, wait_seconds=0.2))
    busy = pytest.raises(ScaffoldError, match="another scaffold run .* is writing")
    with lock_held_elsewhere(project), _unwritable(project), busy:
        api.new_project([ROUTE_GUIDE], output=project, force=True)


def test_a_name_as_long_as_a_file_name_may_be_is_made(tmp_path: Path) -> None:
    """The staged tree's name adds 19 characters to the directory's: where that would not fit, a digest."""
    project = tmp_path / "made" / ("a" * 250)
    made = run_scaffold("new", ROUTE_GUIDE, "-o", project, "-q")
    assert made.returncode == 0, made.stderr
    assert run_scaffold("check", "-C", project).stdout == "Up to date.\n"


def test_a_tree_that_cannot_be_staged_leaves_no_directory_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = write.tempfile.mkdtemp

    def disk_full(suffix: str | None = None, prefix: str | None = None, dir: str | None = None) -> str:
        if prefix == ".project.scaffold-":  # the staged tree's, not protoc's
            raise OSError(errno.ENOSPC, "No space left on device", dir)
        return made(suffix, prefix, dir)

    monkeypatch.setattr(write.tempfile, "mkdtemp", disk_full)
    project = tmp_path / "made" / "deeper" / "project"
    with pytest.raises(OSError, match="No space left") as raised:
        api.new_project([ROUTE_GUIDE], output=project)
    assert raised.value.filename == str(project)
    assert os.listdir(tmp_path) == []


def test_a_proto_below_a_directory_named_in_no_utf_8_is_compiled(tmp_path: Path) -> None:
    directory = tmp_path / os.fsdecode(b"caf\xe9")
    directory.mkdir()
    shutil.copy(ROUTE_GUIDE, directory)
    out = tmp_path / "out"
    made = run_scaffold("new", directory / "route_guide.proto", "-I", directory, "-o", out, "-q")
    assert made.returncode == 0, made.stderr
    assert run_scaffold("check", "-C", out).stdout == "Up to date.\n"


def test_a_link_to_nothing_where_the_project_goes_is_said_and_kept(tmp_path: Path) -> None:
    link = tmp_path / "project"
    link.symlink_to(tmp_path / "nowhere")
    refused = run_scaffold("new", ROUTE_GUIDE, "-o", link)
    said = f"{link}: is a symbolic link to {tmp_path / 'nowhere'}, which does not exist\n"
    assert (refused.returncode, refused.stderr) == (2, said)
    assert os.listdir(tmp_path) == ["project"] and os.readlink(link) == str(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("output", "said"),
    [
        ("loop", "loop: goes through a loop of symbolic links"),
        ("loop/project", "loop/project: goes through a loop of symbolic links"),
        ("dangling/project", "dangling: is a symbolic link to nowhere, which does not exist"),
        ("afile/project", "afile: exists and is not a directory"),
    ],
)
def test_an_output_that_cannot_hold_a_project_is_said_in_one_line(tmp_path: Path, output: str, said: str) -> None:
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "afile").write_text("mine\n")
    before = sorted(os.listdir(tmp_path))
    refused = run_scaffold("new", ROUTE_GUIDE, "-o", output, cwd=tmp_path)
    assert (refused.returncode, refused.stderr) == (2, said + "\n")
    assert sorted(os.listdir(tmp_path)) == before


def test_an_output_through_a_directory_not_there_makes_none(tmp_path: Path) -> None:
    made = run_scaffold("new", ROUTE_GUIDE, "-o", "missing/../project", "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert os.listdir(tmp_path) == ["project"]


def test_a_directory_name_too_long_leaves_none_of_the_directories_made(tmp_path: Path) -> None:
    refused = run_scaffold("new", ROUTE_GUIDE, "-o", tmp_path / "base" / ("x" * 300) / "project")
    assert refused.returncode == 2 and "File name too long" in refused.stderr, refused.stderr
    assert os.listdir(tmp_path) == []


def test_a_directory_another_run_makes_meanwhile_is_used_and_left_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `new`s of projects side by side make the directory that holds both: the second to get there uses
    it, and would not take it away on failure (it is not one it made)."""
    make = Path.mkdir

    def beaten_to_it(self: Path, *args: object, **kwargs: object) -> None:
        if self.name == "shared" and not self.exists():
            make(self)  # the other run's
        make(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", beaten_to_it)
    made: list[Path] = []
    write._make_parents(tmp_path / "outer" / "shared", made)
    assert made == [tmp_path / "outer"] and (tmp_path / "outer" / "shared").is_dir()
