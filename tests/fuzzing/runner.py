"""Runs a sequence of steps against a real project through the CLI and holds the promise after each.

The workspace is a directory holding the project and, beside it, a sentinel tree (the protos the
project was made from, a decoy project, a few files) whose hash must never change. After every
step:

1. every mark the user wrote (`fz-0007`, in a comment or a string) is in the project tree, a
   `.mine` backup or a conflict region (`.scaffold/` does not count: it is scaffold's record);
2. `check` agrees with `gen`: 0 after a clean `gen`; non-zero after a generated file was edited;
   a `check` that said up to date was right (the `gen` after it changes nothing); after a kill, a
   half-done tree is not called up to date;
3. (every `expensive_every` steps and at the end) every module of the package imports, pytest
   collects the tests, ruff finds no undefined or duplicated name (F821, F811), and a `gen` of a
   copy without `.scaffold/cache` writes the same tree (the caches never change the result);
4. nothing outside the project directory changed.

A `gen` that exits 1 must leave conflict markers, which the fuzzer resolves as a user would
(keeping its own side); one that exits 2 must leave the tree as it was, and the fuzzer then undoes
its edit. Exit 3 (a traceback) or any other code is a violation.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold.generation import pysource

from . import model

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from .steps import EDITS, Step

HERE = Path(__file__).resolve().parent
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
MARK = re.compile(rb"fz-\d{4}")
OPENS = re.compile(rb"(?:\A|[\r\n])<<<<<<< ")
"""A conflict region opening, at the start of a line ended in any way (a file of CR line ends holds them too)."""


class Violation(Exception):
    def __init__(self, invariant: str, detail: str, step: int = -1) -> None:
        super().__init__(f"{invariant}: {detail}")
        self.invariant, self.detail, self.step = invariant, detail, step

    def __str__(self) -> str:
        return f"step {self.step}: {self.invariant}: {self.detail}"


@dataclass
class Stats:
    steps: int = 0
    gens: int = 0
    checks: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    faults_hit: int = 0
    conflicts: int = 0
    gone: int = 0
    """Runs that named code of the user's naming a module no longer generated (exit 1, `scaffold.generation.gone`)."""
    refusals: int = 0
    refused: list[str] = field(default_factory=list)
    conflicted: list[str] = field(default_factory=list)
    marks: int = 0
    lines_lost: int = 0
    expensive: int = 0
    seconds: float = 0.0

    def fault(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1


def _scaffold(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scaffold", *map(str, args)],
        cwd=cwd,  # never the caller's directory: `-m` would import a `scaffold` found there first
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def tree(root: Path, skip_scaffold: bool = False) -> dict[str, bytes]:
    """Every file below `root` (but `.scaffold/cache` and tool caches) by relative path."""
    files: dict[str, bytes] = {}
    for directory, dirs, names in os.walk(root):
        rel = os.path.relpath(directory, root)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        if rel == ".scaffold":
            dirs[:] = [] if skip_scaffold else [d for d in dirs if d != "cache"]
            if skip_scaffold:
                continue
        for name in names:
            path = Path(directory, name)
            key = os.path.normpath(os.path.join(rel, name))
            files[key] = b"<link>" + os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    return files


def digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for key in sorted(files):
        h.update(key.encode() + b"\0" + hashlib.sha256(files[key]).digest())
    return h.hexdigest()


def _diff_keys(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


class World:
    """The project, the model of its protos, the marks the user wrote, and the CLI runs."""

    def __init__(
        self, root: Path, expensive_every: int = 10, check_every: int = 1, log: Callable[[str], None] | None = None
    ) -> None:
        self.root = root
        self.project = root / "proj"
        self.expensive_every = max(1, expensive_every)
        self.check_every = max(1, check_every)
        self.log = log or (lambda line: None)
        self.stats = Stats()
        self.protos = model.initial()
        self.marks: dict[str, str] = {}  # mark -> where and what it was written as
        self.step_marks: list[str] = []
        self.expect_stale = False
        self.half_done: dict[str, bytes] | None = None
        """The tree a killed run left, while the step that killed it settles."""
        self.step_index = -1
        self.checked = ""
        """What the last `check` printed."""
        self._make()

    # The workspace.

    def _make(self) -> None:
        src = self.root / "src"
        src.mkdir(parents=True)
        for name, text in self.protos.texts().items():
            (src / name).write_text(text, encoding="utf-8")
        sentinel = self.root / "sentinel"
        (sentinel / "protos").mkdir(parents=True)
        (sentinel / "notes.txt").write_text("the user's other work\n")
        (sentinel / "pyproject.toml").write_text('[tool.scaffold]\npackage = "decoy"\nprotos = ["protos"]\n')
        (sentinel / "protos/decoy.proto").write_text(
            'syntax = "proto3";\npackage decoy;\nmessage D { string d = 1; }\n'
        )
        result = _scaffold("new", src, "-o", self.project, "--name", "shop", "--layout", "single", cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"scaffold new failed: {result.stdout}{result.stderr}")
        protos_dir = self.project / "protos"
        for old in protos_dir.glob("*.proto"):
            if old.name not in self.protos.texts():
                old.unlink()
        self.outside = self._outside()
        self.write_protos()
        self.gen_ok("the first gen")

    def _outside(self) -> str:
        files: dict[str, bytes] = {}
        for child in sorted(self.root.iterdir()):
            if child.name in ("proj", ".fz"):
                continue
            if child.is_dir() and not child.is_symlink():
                files.update({f"{child.name}/{k}": v for k, v in tree(child).items()})
            else:
                files[child.name] = child.read_bytes() if not child.is_symlink() else b"<link>"
        return digest(files)

    # Files.

    def text(self, path: str) -> str:
        return (self.project / path).read_bytes().decode("utf-8", "surrogateescape")

    def write(self, path: str, text: str) -> None:
        target = self.project / path
        mode = target.stat().st_mode if target.exists() else None
        target.write_bytes(text.encode("utf-8", "surrogateescape"))
        if mode is not None:
            os.chmod(target, mode)

    def manifest(self) -> dict[str, dict[str, str]]:
        try:
            files = json.loads((self.project / ".scaffold/manifest.json").read_text())["files"]
            return files if isinstance(files, dict) else {}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def user_python(self) -> list[str]:
        return sorted(
            p
            for p, entry in self.manifest().items()
            if entry.get("owner") == "user"
            and p.endswith(".py")
            and (self.project / p).is_file()
            and not p.endswith("__init__.py")
        )

    def generated(self) -> list[str]:
        return sorted(
            p
            for p, entry in self.manifest().items()
            if entry.get("owner") == "generated" and p.endswith((".py", ".pyi")) and (self.project / p).is_file()
        )

    def mark(self, path: str, what: str) -> str:
        self.stats.marks += 1
        mark = f"fz-{self.stats.marks:04d}"
        self.marks[mark] = f"{what} in {path} (step {self.step_index})"
        self.step_marks.append(mark)
        return mark

    def ruff_format(self, path: str) -> None:
        ruff = Path(sys.executable).parent / "ruff"
        command = [str(ruff)] if ruff.exists() else [sys.executable, "-m", "ruff"]
        subprocess.run([*command, "format", "--quiet", path], cwd=self.project, capture_output=True, check=False)

    # The config.

    def config(self, key: str) -> str | None:
        section = self._section()
        found = re.search(rf"(?m)^{key} = (.*?)\r?$", section)
        return found.group(1) if found else None

    def _section(self) -> str:
        text = self.text("pyproject.toml")
        start = text.find("[tool.scaffold]")
        end = text.find("\n[", start + 1)
        return text[start : end if end >= 0 else len(text)]

    def set_config(self, key: str, value: str) -> None:
        text = self.text("pyproject.toml")
        start = text.find("[tool.scaffold]")
        end = text.find("\n[", start + 1)
        end = end if end >= 0 else len(text)
        section = text[start:end]
        if re.search(rf"(?m)^{key} = ", section):
            section = re.sub(rf"(?m)^{key} = .*?(\r?)$", lambda m: f"{key} = {value}{m.group(1)}", section, count=1)
        else:
            section = section.replace("[tool.scaffold]\n", f"[tool.scaffold]\n{key} = {value}\n", 1)
        self.write("pyproject.toml", text[:start] + section + text[end:])

    def write_protos(self) -> None:
        protos_dir = self.project / "protos"
        texts = self.protos.texts()
        for old in protos_dir.glob("*.proto"):
            if old.name not in texts:
                old.unlink()
        for name, text in texts.items():
            target = protos_dir / name
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")

    # Runs.

    def gen(self, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        self.stats.gens += 1
        return _scaffold("gen", "-C", self.project, cwd=self.root, env=env)

    def check(self) -> int:
        self.stats.checks += 1
        checked = _scaffold("check", "-C", self.project, cwd=self.root)
        self.checked = f"{checked.stdout[-1500:]}{checked.stderr[-1500:]}"  # for a violation's message
        return checked.returncode

    def gen_ok(self, why: str) -> None:
        result = self.gen()
        if result.returncode != 0:
            raise Violation(
                "gen",
                f"{why}: exit {result.returncode}: {result.stdout[-1500:]}{result.stderr[-1500:]}",
                self.step_index,
            )

    def fail(self, invariant: str, detail: str) -> None:
        raise Violation(invariant, detail, self.step_index)

    # One step.

    def step(self, index: int, step: Step) -> None:
        self.step_index, self.step_marks, self.expect_stale = index, [], False
        self.half_done = None
        self.saved_after_kill: dict[str, bytes] = {}
        self.stats.steps += 1
        saved_protos, saved_files = self.protos.copy(), tree(self.project, skip_scaffold=True)
        changed = True
        kind, args = step.kind, step.args
        if kind.startswith("f.") and "edit" in args:  # the edit whose run the fault hits
            kind, args = args["edit"], args["edit_args"]
        if kind in EDITS:
            changed = EDITS[kind](self, args)
            if kind.startswith("p."):
                self.write_protos()
        if self.expect_stale and self.check() == 0:
            self.fail("check", f"{step.kind}: `check` says up to date after a generated file was edited by hand")
        pre_check = self.check() if changed and index % self.check_every == 0 else None
        before = tree(self.project)
        if step.kind.startswith("f."):
            result = self._fault(step)
        else:
            result = self.gen()
        self._settle(result, before, saved_protos, saved_files, step)
        after = tree(self.project)
        before |= self.saved_after_kill  # the user's own save between the killed run and the next is no run's change
        if pre_check == 0 and result.returncode == 0 and _diff_keys(before, after):
            changed_files = [k for k in _diff_keys(before, after) if not k.startswith(".scaffold")]
            if changed_files:
                self.fail("check", f"`check` said up to date, then `gen` changed {changed_files[:6]}")
        self.cheap_invariants()
        if result.returncode == 0 and index % self.check_every == 0:
            code = self.check()
            if code != 0:
                self.fail("check", f"`check` exits {code} right after a `gen` that exited 0: {self.checked}")
        if (index + 1) % self.expensive_every == 0:
            self.expensive_invariants()

    def _fault(self, step: Step) -> subprocess.CompletedProcess[str]:
        kind, args = step.kind, step.args
        self.stats.fault(kind)
        seam = {
            "SCAFFOLD_SEAM": "fz_seam:hook",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        }
        if kind == "f.kill":
            killed = self.gen({**seam, **_moment_of("KILL", args)})
            if killed.returncode != 137:
                return killed
            self.stats.faults_hit += 1
            half_done = self.half_done = tree(self.project)
            said = self.check()
            if args["edit_after"]:
                users = self.user_python()
                if users:
                    path = users[args["pick"] % len(users)]
                    mark = self.mark(path, "edit saved after a killed run")
                    with open(self.project / path, "a", encoding="utf-8", newline="") as out:
                        out.write(f"# {mark}: saved after the run died\n")
                    self.saved_after_kill[os.path.normpath(path)] = (self.project / path).read_bytes()
            result = self.gen()
            if (
                said == 0
                and not args["edit_after"]
                and [k for k in _diff_keys(half_done, tree(self.project)) if not k.startswith(".scaffold")]
            ):
                self.fail(
                    "check",
                    f"`check` said a tree left by a run killed at {_named(args)} is up to date; the next gen changed it",
                )
            return result
        if kind == "f.save":
            users = self.user_python()
            if not users:
                return self.gen()
            path = users[args["pick"] % len(users)]
            mark = self.mark(path, f"save landing at {_named(args)}")
            flag = self.root / ".fz/saved.flag"
            flag.parent.mkdir(exist_ok=True)
            flag.unlink(missing_ok=True)
            result = self.gen(
                {
                    **seam,
                    **_moment_of("SAVE", args),
                    "FZ_SAVE_FILE": str(self.project / path),
                    "FZ_SAVE_TEXT": f"# {mark}: saved while gen ran\n",
                    "FZ_SAVE_FLAG": str(flag),
                }
            )
            if flag.exists():
                self.stats.faults_hit += 1
                flag.unlink()
            else:
                del self.marks[mark]
                self.step_marks.remove(mark)
            return result
        second = self.root / ".fz/second"
        shutil.rmtree(second, ignore_errors=True)
        second.mkdir(parents=True)
        result = self.gen(
            {
                **seam,
                **_moment_of("SECOND", args),
                "FZ_SECOND_DIR": str(second),
                "FZ_SECOND_PROJECT": str(self.project),
            }
        )
        if (second / "out").exists() or (second / "rc").exists():
            self.stats.faults_hit += 1
            deadline = time.monotonic() + 120
            while not (second / "rc").exists():
                if time.monotonic() > deadline:
                    self.fail("second-run", "the second run never ended")
                time.sleep(0.05)
            code = int((second / "rc").read_text())
            out = (second / "out").read_text(errors="replace")
            # After a first run that ends in a conflict, the second may find the markers: 1, or 2 for a
            # pyproject.toml that no longer parses.
            if code not in (0, 1, 2) or (code == 2 and result.returncode != 1):
                self.fail("second-run", f"the second run exits {code} (first {result.returncode}): {out[-1500:]}")
            if code == 1 and result.returncode == 0:
                result = subprocess.CompletedProcess(result.args, 1, out, "")
        return result

    def _settle(
        self,
        result: subprocess.CompletedProcess[str],
        before: dict[str, bytes],
        saved_protos: model.Protos,
        saved_files: dict[str, bytes],
        step: Step,
    ) -> None:
        """Bring an exit 1 or 2 back to a clean project as a user would, checking what it left."""
        first_before = before
        if self.half_done is not None:  # what a refusal may not change is what the killed run left
            before, self.half_done = self.half_done, None
        for attempt in range(4):
            code = result.returncode
            if code == 0:
                return
            output = f"{result.stdout[-2000:]}\n{result.stderr}"  # every report of stderr: each is parsed
            if code == 2:
                self.stats.refusals += 1
                now = tree(self.project)
                moved = [k for k in _diff_keys(before, now) if not k.startswith(".scaffold/txn")]
                rolled_back = any(k.startswith(".scaffold/txn") for k in before)  # an interrupted run put back first
                # a save, or a kill's half-done tree and the edit saved after it, changed the tree, not this gen
                if moved and step.kind not in ("f.save", "f.kill") and not rolled_back:
                    self.fail("refused-changed", f"`gen` exits 2 but changed {moved[:6]}: {output}")
                if "a bug in scaffold" in result.stderr:
                    self.fail("refused-bug", f"`gen` refuses and calls it a bug in scaffold: {output}")
                if not re.search(r"\S+(:\d+:\d+)?: ", result.stderr):
                    self.fail("refused-unlocated", f"`gen` exits 2 without a located reason: {output}")
                reason = (result.stderr.strip().splitlines() or ["?"])[-1][:300]
                self.stats.refused.append(f"step {self.step_index} {step.kind}: {reason}")
                self.log(f"  step {self.step_index}: refused ({reason}); undoing the edit")
                self.cheap_invariants()
                self._undo(saved_protos, saved_files)
                before = tree(self.project)
                result = self.gen()
                if attempt >= 1 and result.returncode == 2:
                    self.fail("stuck", f"`gen` still refuses after the edit was undone: {result.stderr[-1500:]}")
                continue
            if code == 1:
                self.stats.conflicts += 1
                conflicted = [p for p, data in tree(self.project, skip_scaffold=True).items() if OPENS.search(data)]
                if not conflicted and GONE.search(output):
                    self._settle_gone(output, saved_protos, saved_files)
                    before = tree(self.project)
                    result = self.gen()
                    continue
                if not conflicted:
                    self.fail("conflict-unmarked", f"`gen` exits 1 and no file holds conflict markers: {output}")
                self.cheap_invariants()
                if self.check() == 0:
                    self.fail("check", f"`check` says up to date with conflict markers in {conflicted}")
                self.stats.conflicted.append(f"step {self.step_index} {step.kind}: {', '.join(conflicted)}")
                mine = all(_yours_is_the_users(self.text(path)) for path in conflicted)
                resolved = {path: _resolve(self.text(path), union=True) for path in conflicted}
                was = {path: first_before.get(path, b"").decode(errors="replace") for path in conflicted}
                if not all(_parses(path, text, was[path]) for path, text in resolved.items()):
                    resolved = {path: _resolve(self.text(path), union=False) for path in conflicted}
                if mine and all(_parses(path, text, was[path]) for path, text in resolved.items()):
                    self.log(f"  step {self.step_index}: conflict in {conflicted}; keeping the user's side")
                    for path, text in resolved.items():
                        self.write(path, text)
                else:  # scaffold's lines are in conflict, or the user's side alone does not parse: undo the edit
                    self.log(f"  step {self.step_index}: conflict in {conflicted}; undoing the edit")
                    # As the README tells a user: `gen --abort` puts back all the run changed (a layout switch
                    # moved code out of modules it removed). Where there is nothing to undo (a second run's
                    # conflict), or the conflict came back after one (a change of an earlier step, still
                    # pending, conflicts too), the user puts the whole tree back as it was before the step,
                    # as `git checkout .` would: putting back the conflicted files alone would drop what the
                    # step's first run moved into them from modules it removed (seed 33021).
                    undo = ("gen", "--abort", "-C", self.project)
                    aborted = attempt == 0 and _scaffold(*undo, cwd=self.project.parent).returncode == 0
                    if not aborted:
                        self._reset(first_before)
                    self.protos = saved_protos.copy()
                    self.write_protos()
                    if "pyproject.toml" in saved_files:
                        (self.project / "pyproject.toml").write_bytes(saved_files["pyproject.toml"])
                    found = b"".join(tree(self.project, skip_scaffold=True).values())
                    for mark in self.step_marks:
                        if mark.encode() not in found:
                            self.marks.pop(mark, None)
                before = tree(self.project)
                result = self.gen()
                continue
            self.fail("crash", f"`gen` exits {code}: {output}")
        if result.returncode == 0:
            return  # the last round's `gen` settled it (seed 42025: a conflict, a gone module, a conflict, stale blocks)
        self.fail(
            "stuck",
            f"`gen` still exits {result.returncode} after resolving 3 times: {result.stdout[-800:]}{result.stderr[-800:]}",
        )

    def _settle_gone(self, output: str, saved_protos: model.Protos, saved_files: dict[str, bytes]) -> None:
        """`gen` wrote the new tree and says which code of the user's names a module no longer generated:
        that code is kept, `check` must not call the project up to date, and the user takes the proto back."""
        self.stats.gone += 1
        self.cheap_invariants()
        if self.check() == 0:
            self.fail("check", f"`check` says up to date while gen said code names a gone module: {output}")
        if self._repoint_aliases(output):
            return  # the user's own statements named a function scaffold renamed: they change them, as asked
        if self.protos == saved_protos and self._remove_stale_blocks(output):
            return  # the edit is back already: the reported code is scaffold's own, kept by a whole-file "yours"
        self.log(f"  step {self.step_index}: code names a gone module; taking the edit back")
        self.protos = saved_protos.copy()
        self.write_protos()
        if "pyproject.toml" in saved_files:
            (self.project / "pyproject.toml").write_bytes(saved_files["pyproject.toml"])

    def _repoint_aliases(self, output: str) -> bool:
        """When every report is a `FZ_ALIAS_... = name` line of the user's (`u.statement`) reading a name the
        render no longer defines (an unrelated RPC made scaffold qualify a client function, seed 16003), the
        user points each at None, keeping the line: what "change or remove it" asks, done as a user would."""
        found = list(READS_GONE.finditer(output))
        if not found or len(found) != len(GONE.findall(output)):
            return False
        edits: dict[str, list[str]] = {}
        for match in found:
            path = match["path"]
            lines = edits.setdefault(path, re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", self.text(path)))
            number = int(match["line"]) - 1
            line = lines[number] if number < len(lines) else ""
            alias = re.match(rf"(FZ_ALIAS_\w+ = ){re.escape(match['name'])}\b", line)
            if alias is None:
                return False
            lines[number] = alias[1] + "None" + line[alias.end() :]
        for path, lines in edits.items():
            self.write(path, "".join(lines))
        self.log(
            f"  step {self.step_index}: pointed the user's aliases of renamed functions at None in {sorted(edits)}"
        )
        return True

    def _remove_stale_blocks(self, output: str) -> bool:
        """Remove, as the message asks, each top-level block a gone report points into that holds no line
        the user wrote (scaffold's class of a service renamed and back, kept by resolving a whole-file
        conflict as "yours"); False when a reported block holds one: then nothing is removed."""
        blocks: dict[str, set[tuple[int, int, str]]] = {}
        for match in LOCATED_GONE.finditer(output):
            path, line = match["path"], int(match["line"])
            text = self.text(path)
            try:
                tree_ = ast.parse(text)
            except SyntaxError:
                return False
            node = next((n for n in tree_.body if n.lineno <= line <= (n.end_lineno or n.lineno)), None)
            if node is None or isinstance(node, (ast.Import, ast.ImportFrom)):
                return False  # an import goes only with the code reading it (seed 18002): the edit is taken back
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
            if MARK.search("".join(lines[first - 1 : node.end_lineno]).encode()):
                return False
            blocks.setdefault(path, set()).add((first, node.end_lineno or node.lineno, getattr(node, "name", "")))
        if not blocks:
            return False
        edited: dict[str, str] = {}
        for path, spans in blocks.items():
            text = self.text(path)
            lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
            newline = "\r\n" if "\r\n" in text else "\r" if "\r" in text else "\n"
            recorded = _top_level_blocks(self.project / ".scaffold/base" / path)
            for first, last, name in sorted(spans, reverse=True):
                # scaffold's last recorded version of a block it still renders (`calls` under the
                # `__main__` guard, seed 37003); removed only where scaffold renders no such block
                lines[first - 1 : last] = [recorded[name].replace("\n", newline)] if name in recorded else []
            edited[path] = "".join(lines)
        for path, text in edited.items():
            self.write(path, text)
        self.log(f"  step {self.step_index}: removed scaffold's stale blocks the report names in {sorted(blocks)}")
        return True

    def _reset(self, files: dict[str, bytes]) -> None:
        """The project's tree (scaffold's record included, its caches aside) made `files` again."""
        for path in tree(self.project):
            if path not in files:
                (self.project / path).unlink()
        for path, data in files.items():
            target = self.project / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if data.startswith(b"<link>"):
                target.unlink(missing_ok=True)
                target.symlink_to(data[len(b"<link>") :].decode())
            elif not target.is_file() or target.is_symlink() or target.read_bytes() != data:
                target.unlink(missing_ok=True)
                target.write_bytes(data)

    def _undo(self, saved_protos: model.Protos, saved_files: dict[str, bytes]) -> None:
        self.protos = saved_protos
        current = tree(self.project, skip_scaffold=True)
        for path in _diff_keys(saved_files, current):
            if path in saved_files:
                (self.project / path).parent.mkdir(parents=True, exist_ok=True)
                (self.project / path).write_bytes(saved_files[path])
            elif path.startswith(("protos/", "protos" + os.sep)):
                (self.project / path).unlink()
        for mark in self.step_marks:
            self.marks.pop(mark, None)
        self.step_marks = []

    # Invariants.

    def cheap_invariants(self) -> None:
        found: set[bytes] = set()
        for data in tree(self.project, skip_scaffold=True).values():
            found.update(MARK.findall(data))
        lost = sorted(m for m in self.marks if m.encode() not in found)
        if lost:
            self.stats.lines_lost += len(lost)
            where = self._whereabouts(lost)
            self.fail("lost", "; ".join(f"{m} ({self.marks[m]}){where.get(m, '')}" for m in lost[:8]))
        if self._outside() != self.outside:
            self.fail("outside", "a file outside the project directory changed")

    def _whereabouts(self, lost: list[str]) -> dict[str, str]:
        """Where a lost mark still is, if anywhere (scaffold's record, a transaction's backup)."""
        where: dict[str, str] = {}
        everything = tree(self.project)
        for mark in lost:
            holders = [k for k, v in everything.items() if mark.encode() in v]
            where[mark] = f" [only in {holders[:3]}]" if holders else " [nowhere]"
        return where

    def expensive_invariants(self) -> None:
        self.stats.expensive += 1
        probe = (
            "import importlib, os, sys\n"
            "sys.path.insert(0, os.getcwd())\n"
            "package = 'shop'\n"
            "for directory, dirs, files in sorted(os.walk(package)):\n"
            "    dirs[:] = sorted(d for d in dirs if d != '__pycache__')\n"
            "    for name in sorted(files):\n"
            "        if name.endswith('.py'):\n"
            "            module = os.path.join(directory, name)[:-3].replace(os.sep, '.')\n"
            "            importlib.import_module(module[:-9] if module.endswith('.__init__') else module)\n"
            "import pytest\n"
            "code = pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider'])\n"
            "sys.exit(0 if code in (0, 5) else 10 + int(code))\n"
        )
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("SCAFFOLD_SEAM", None)
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=self.project,
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )
        if result.returncode != 0:
            self.fail(
                "imports",
                f"the project does not import or collect (exit {result.returncode}): "
                f"{(result.stdout + result.stderr)[-2000:]}",
            )
        ruff = Path(sys.executable).parent / "ruff"
        command = [str(ruff)] if ruff.exists() else [sys.executable, "-m", "ruff"]
        lint = subprocess.run(
            [*command, "check", "--no-cache", "--select", "F821,F811,F823", "--output-format", "concise", "."],
            cwd=self.project,
            capture_output=True,
            text=True,
            check=False,
        )
        if lint.returncode != 0:
            self.fail("names", f"ruff finds undefined or duplicated names: {lint.stdout[-2000:]}{lint.stderr[-500:]}")
        with tempfile.TemporaryDirectory(prefix="fz-clean-") as scratch:
            copy = Path(scratch) / "proj"
            shutil.copytree(self.project, copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
            shutil.rmtree(copy / ".scaffold/cache", ignore_errors=True)
            clean = _scaffold("gen", "-C", copy, cwd=Path(scratch))
            if clean.returncode != 0:
                self.fail(
                    "cache",
                    f"a gen without .scaffold/cache exits {clean.returncode}: {clean.stdout[-800:]}{clean.stderr[-800:]}",
                )
            mine, theirs = tree(self.project), tree(copy)
            differ = [k for k in _diff_keys(mine, theirs) if not k.startswith(".scaffold")]
            if differ:
                first = differ[0]
                excerpt = "".join(
                    list(
                        difflib.unified_diff(
                            mine.get(first, b"").decode(errors="replace").splitlines(True),
                            theirs.get(first, b"").decode(errors="replace").splitlines(True),
                            "project/" + first,
                            "clean-gen/" + first,
                            n=1,
                        )
                    )[:30]
                )
                self.fail("cache", f"a gen without .scaffold/cache writes a different tree: {differ[:6]}\n{excerpt}")
            if self.check() == 0:
                self._full_gen_writes_nothing(copy, Path(scratch))

    def _full_gen_writes_nothing(self, copy: Path, scratch: Path) -> None:
        """Where `check` says up to date, a `gen --full` (every file planned, nothing taken from the no-op
        path) writes no file and says so; it may refresh scaffold's record, as after a stub deleted by
        hand, which only a planning run takes out of the merge base."""
        full = _scaffold("gen", "--full", "-C", copy, cwd=scratch)
        if full.returncode != 0:
            self.fail("full", f"`gen --full` on an up-to-date project exits {full.returncode}: {full.stderr[-800:]}")
        mine, theirs = tree(self.project, skip_scaffold=True), tree(copy, skip_scaffold=True)
        differ = _diff_keys(mine, theirs)
        if differ or not full.stdout.startswith("Up to date"):
            self.fail("full", f"`check` said up to date, then `gen --full` changed {differ[:6]}: {full.stdout[-800:]}")


GONE = re.compile(r"\S+:\d+:\d+: (imports|reads) \S+, which scaffold no longer (generates|writes)")
READS_GONE = re.compile(
    r"(?m)^\s*(?P<path>\S+?):(?P<line>\d+):\d+: reads `(?P<name>\w+)`, which scaffold no longer writes"
)
LOCATED_GONE = re.compile(
    r"(?m)^\s*(?P<path>\S+?):(?P<line>\d+):\d+: (?:imports|reads) \S+, which scaffold no longer (?:generates|writes)"
)


def _parses(path: str, text: str, before: str = "") -> bool:
    """Whether a resolved file is one its tools can read (Python compiles, TOML loads), and, for Python,
    neither reads a name that nothing defines nor defines one twice where the file `before` the step did
    not: a user who keeps
    their side of a conflict (sync code across an aio toggle) fixes the imports it needs; a resolution
    that does not is the fuzzer's, not scaffold's."""
    try:
        if path.endswith(".py"):
            compile(text, path, "exec", dont_inherit=True)
            readable = _compiles(before)
            missing, twice = set(pysource.unresolved(text)), _defined_twice(text)
            if missing and missing - set(pysource.unresolved(before) if readable else ()):
                return False
            if twice and twice - (_defined_twice(before) if readable else set()):
                return False  # a union of two sides that import the same name, or keep a method twice
        elif path.endswith(".toml"):
            tomllib.loads(text)
    except (SyntaxError, ValueError):
        return False
    return True


def _defined_twice(text: str) -> set[str]:
    """Top-level names defined twice (F811), and methods a class defines twice (`Class.method`): keeping
    the user's side of a conflict whose other side moved a method keeps that method twice (seed 15020)."""
    tree = ast.parse(text)
    twice = set(pysource.redefined(text, tree))
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names = [n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            twice |= {f"{node.name}.{name}" for name in names if names.count(name) > 1}
    return twice


def _compiles(text: str) -> bool:
    try:
        compile(text, "<before>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _yours_is_the_users(text: str) -> bool:
    """Whether every conflict region's "yours" side holds a line the user wrote (a mark)."""
    regions = re.split(r"(?:\A|[\r\n])<<<<<<< [^\r\n]*", text)[1:]
    return all(
        MARK.search(re.split(r"[\r\n](?:\|{7} |={7}[\r\n])", region, maxsplit=1)[0].encode()) for region in regions
    )


def _keep_yours(text: str) -> str:
    return _resolve(text, union=False)


def _resolve(text: str, union: bool) -> str:
    """Resolve every conflict region as a user may: the user's side, then (`union`) the lines scaffold's
    new render adds that neither the user's side nor the base has (a new import, a new stub)."""
    out: list[str] = []
    state = "plain"
    yours: list[str] = []
    base: list[str] = []
    theirs: list[str] = []
    for line in re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text):
        bare = line.rstrip("\r\n")
        if line.startswith("<<<<<<< ") and state == "plain":
            state, yours, base, theirs = "yours", [], [], []
        elif line.startswith("||||||| ") and state == "yours":
            state = "base"
        elif bare == "=======" and state in ("yours", "base"):
            state = "theirs"
        elif line.startswith(">>>>>>> ") and state == "theirs":
            state = "plain"
            out += yours
            if union:
                known = {x.strip() for x in yours + base}
                out += [x for x in theirs if x.strip() not in known]
        else:
            {"plain": out, "yours": yours, "base": base, "theirs": theirs}[state].append(line)
    return "".join(out)


def _moment_of(kind: str, args: dict[str, Any]) -> dict[str, str]:
    """The seam's settings for a fault at its moment: the n-th call of it, or the first about `path` where a
    pinned step names one (`fz_seam`)."""
    where = {f"FZ_{kind}_AT": args["moment"], f"FZ_{kind}_N": str(args.get("n", 1))}
    return where | ({f"FZ_{kind}_PATH": args["path"]} if "path" in args else {})


def _named(args: dict[str, Any]) -> str:
    return f"{args['moment']}@{args['path']}" if "path" in args else f"{args['moment']}#{args['n']}"


def replay(
    root: Path,
    steps: list[Step],
    expensive_every: int = 10,
    check_every: int = 1,
    log: Callable[[str], None] | None = None,
) -> tuple[World, Violation | None]:
    """Run `steps` in a fresh workspace under `root`; the violation they end in, if any."""
    world: World | None = None
    try:
        world = World(root, expensive_every, check_every, log)
        for index, step in enumerate(steps):
            log and log(f"step {index}: {step!r}")
            world.step(index, step)
        world.step_index = len(steps)
        world.expensive_invariants()
        return world, None
    except Violation as violation:
        return world, violation  # type: ignore[return-value]
    except subprocess.TimeoutExpired as timeout:
        return world, Violation("timeout", str(timeout)[:500], world.step_index if world else -1)  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 -- a defect of the fuzzer itself, reported apart from scaffold's
        return world, Violation("fuzzer-error", traceback.format_exc()[-2000:], world.step_index if world else -1)  # type: ignore[return-value]


def _top_level_blocks(path: Path) -> dict[str, str]:
    """The text of each top-level definition of the module at `path` (none when it is missing)."""
    if not path.is_file():
        return {}
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found[node.name] = "".join(lines[first - 1 : node.end_lineno])
    return found
