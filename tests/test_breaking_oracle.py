"""`scaffold breaking` against buf itself, on a few hundred seeded mutations of real protos.

For every mutation, the multiset of (rule ID, file, line, column) scaffold
finds equals the one `buf breaking` (1.75) finds with every rule on (the
union of FILE, PACKAGE, WIRE_JSON and WIRE), and again under one category
alone (FILE, PACKAGE, WIRE_JSON, WIRE in turn, buf configured with just
that one); each rule's categories are also compared with buf's own listing.
buf comes from npm, as `.ci/run` installs it; a machine without it and
without npm fails here with the reason, rather than passing untested.

The corpora: route_guide and helloworld; qdrant's flat directory of protos
(oneofs, maps, proto3 optional); googleapis' google/type and google/rpc
from googleapis-common-protos; and proto2 and editions files (required
fields, defaults, groups, extensions, features) from tests/protos.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import hashlib
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import progress
from mutations import Corpus, mutate, sweep

from scaffold.breaking import rules as breaking_rules
from scaffold.breaking import selection
from scaffold.breaking.protosource import Side
from scaffold.core.errors import ScaffoldError
from scaffold.generation import protoc

BUF_VERSION = "1.75.0"
HERE = Path(__file__).parent
REPO = HERE.parent
BUF_CONFIG = "version: v2\nbreaking:\n  use: [FILE, PACKAGE, WIRE_JSON, WIRE]\n"
SEEDS = {"route_guide": 80, "qdrant": 90, "google": 70, "legacy": 140}
MIN_RULES_SEEN = len(breaking_rules.RULES)
CATEGORIES = ("FILE", "PACKAGE", "WIRE_JSON", "WIRE")


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.submodule_search_locations, f"{module} is not installed; see the test extra"
    return Path(next(iter(spec.submodule_search_locations)))


def _corpus_files(name: str) -> dict[str, Path]:
    if name == "route_guide":
        return {p.name: p for p in (REPO / "protos").glob("*.proto")}
    if name == "qdrant":
        return {p.name: p for p in (_package_dir("qdrant_client") / "proto").glob("*.proto")}
    if name == "google":
        site = _package_dir("google.type").parent
        return {p.relative_to(site).as_posix(): p for d in ("type", "rpc") for p in (site / d).glob("*.proto")}
    protos = HERE / "protos"
    found = {p.relative_to(protos / "editions").as_posix(): p for p in (protos / "editions").rglob("*.proto")}
    return found | {p.name: p for p in (protos / "breaking").glob("*.proto")}


@pytest.fixture(scope="session")
def buf() -> str:
    """buf 1.75: on PATH (`.ci/run` puts it there), else installed once from npm into a cache."""
    found = shutil.which("buf")
    if (
        found
        and BUF_VERSION in subprocess.run([found, "--version"], capture_output=True, text=True, check=False).stdout
    ):
        return found
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scaffold-tests" / f"buf-{BUF_VERSION}"
    binary = cache / "node_modules" / ".bin" / "buf"
    if not binary.exists():
        npm = shutil.which("npm")
        assert npm, "buf is the oracle of this test: install it (npm install -g @bufbuild/buf@1.75.0) or npm"
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--silent", "--prefix", str(cache), f"@bufbuild/buf@{BUF_VERSION}"], check=True)
    return str(binary)


def _write(directory: Path, texts: dict[str, str | None]) -> None:
    directory.mkdir(parents=True)
    (directory / "buf.yaml").write_text(BUF_CONFIG)
    for name, text in texts.items():
        if text is not None:
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(text)


def _side(directory: Path, names: list[str]) -> Side:
    inputs = protoc.resolve_inputs([directory / name for name in names], [directory])
    descriptors = protoc.descriptors_only(inputs, [directory])
    return Side(descriptors.file, names, texts={name: (directory / name).read_text() for name in names})


def _ours(current: Side, previous: Side, category: str | None = None) -> collections.Counter[tuple[str, str, int, int]]:
    rules = tuple(r.id for r in breaking_rules.RULES.values() if category is None or category in r.categories)
    found: collections.Counter[tuple[str, str, int, int]] = collections.Counter()
    for item in breaking_rules.find(current, previous, rules):
        if item.location is not None:
            found[(item.rule, item.location.file, item.location.line, item.location.col)] += 1
        else:
            found[(item.rule, item.file or "", 1, 1)] += 1
    return found


BUF_ANSWERS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scaffold-tests" / "buf-answers"


def _bufs_cached(
    buf: str, directory: Path, against: Path, category: str | None = None
) -> collections.Counter[tuple[str, str, int, int]] | str:
    """buf's answer for these exact protos, image and rules: from the cache when this machine asked before
    (buf is the oracle's slow half, and its answer to the same bytes does not change), else asked and kept.
    scaffold's side is computed on every run."""
    key = hashlib.sha256(f"{BUF_VERSION}\0{category}\0".encode() + against.read_bytes())
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        key.update(f"\0{path.relative_to(directory).as_posix()}\0".encode() + path.read_bytes())
    kept = BUF_ANSWERS / f"{key.hexdigest()}.json"
    try:
        answer = json.loads(kept.read_text())
        return answer if isinstance(answer, str) else collections.Counter({tuple(k): n for k, n in answer})
    except (OSError, ValueError):
        pass
    found = _bufs(buf, directory, against, category)
    BUF_ANSWERS.mkdir(parents=True, exist_ok=True)
    scratch = kept.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps(found if isinstance(found, str) else sorted(found.items())))
    scratch.replace(kept)  # whole or absent, whichever worker or run wrote it
    return found


def _bufs(
    buf: str, directory: Path, against: Path, category: str | None = None
) -> collections.Counter[tuple[str, str, int, int]] | str:
    config = ["--config", json.dumps({"version": "v2", "breaking": {"use": [category]}})] if category else []
    done = subprocess.run(
        [buf, "breaking", ".", "--against", str(against), "--error-format", "json", *config],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 100):
        return done.stderr.strip() or done.stdout.strip()
    found: collections.Counter[tuple[str, str, int, int]] = collections.Counter()
    for line in done.stdout.splitlines():
        item = json.loads(line)
        if _imports_compared(item["message"]):
            continue
        found[(item["type"], item.get("path", ""), item["start_line"], item["start_column"])] += 1
    return found


def _imports_compared(message: str) -> bool:
    """buf's quirk: it checks the imported well-known types too (bufbuild/buf#2142: "technically, it's part of
    your build"), so a file that stops importing google/protobuf/wrappers.proto reads to buf as that file and its
    package deleted. scaffold checks the project's own protos; these findings are left out of the comparison."""
    return '"google/protobuf/' in message or 'package "google.protobuf"' in message


def _mutations(name: str, base: Path) -> Iterator[tuple[int, str, dict[str, str | None]]]:
    files = _corpus_files(name)
    texts = {n: p.read_text().expandtabs(8) for n, p in sorted(files.items())}
    _write(base, texts)
    corpus = Corpus(texts, _side(base, sorted(texts)))
    for seed in range(SEEDS[name]):
        made = mutate(random.Random(f"{name}:{seed}"), corpus)
        if made is not None:
            yield seed, made[0], made[1]
    for number, (description, texts) in enumerate(sweep(corpus), start=SEEDS[name]):
        yield number, description, texts


def test_rule_categories_are_bufs(buf: str) -> None:
    listed = subprocess.run(
        [buf, "config", "ls-breaking-rules", "--format", "json", "--configured-only=false", "--version", "v2"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs = {rule["id"]: sorted(rule["categories"]) for rule in map(json.loads, listed.splitlines())}
    ours = {rule.id: sorted(rule.categories) for rule in breaking_rules.RULES.values()}
    assert ours == theirs


def _configs() -> Iterator[tuple[str, list[str], list[str]]]:
    """(version, use, except): every category alone, and seeded mixes of categories, rule IDs, IDs buf
    deprecated and names a version does not know."""
    rng = random.Random(27)
    for version in selection.VERSIONS:
        names = [*selection.CATEGORIES[version], *selection.categories(version), *selection.DEPRECATED]
        names += ["CSR", "DEFAULT", "FIELD_SAME_DEFAULT", "MESSAGE_SAME_MESSAGE_SET_WIRE_FORMAT"]
        yield version, [], []
        for category in selection.CATEGORIES[version]:
            yield version, [category], []
        for _ in range(12):
            yield version, rng.sample(names, rng.randint(0, 3)), rng.sample(names, rng.randint(0, 2))


def test_a_config_selects_the_rules_buf_selects(buf: str) -> None:
    """`use` and `except` under buf.yaml v1beta1, v1 and v2, compared with `buf config ls-breaking-rules
    --configured-only`: the same rules, or both refuse the config."""
    compared = refused = 0
    for version, use, leave_out in _configs():
        config = f"version: {version}\nbreaking:\n  use: {json.dumps(use)}\n  except: {json.dumps(leave_out)}\n"
        listed = subprocess.run(
            [buf, "config", "ls-breaking-rules", "--configured-only", "--format", "json", "--config", config],
            capture_output=True,
            text=True,
            check=False,
        )
        ours = selection.select(version, use, leave_out)
        if listed.returncode != 0:
            assert isinstance(ours, str), (config, listed.stderr, ours)
            refused += 1
            continue
        theirs = {json.loads(line)["id"] for line in listed.stdout.splitlines()}
        assert not isinstance(ours, str) and set(ours) == theirs, (config, ours, sorted(theirs))
        compared += 1
    assert compared >= 30 and refused >= 5, (compared, refused)


@pytest.mark.parametrize(
    ("package", "unstable"),
    [("foo.v1alpha1", True), ("foo.v1p1beta2", True), ("foo.v1test", True), ("foo.v2beta", True)]
    + [("foo.v1", False), ("v1alpha1", False), ("foo.v0alpha1", False), ("foo.v1alpha0", False)]
    + [("foo.v1p0alpha1", False), ("foo.v1p1test", False), ("foo.V1alpha1", False), ("foo.v1alpha1.bar", False)],
)
def test_unstable_packages_are_bufs(buf: str, tmp_path: Path, package: str, unstable: bool) -> None:
    """A field deleted in `package`, checked by buf with ignore_unstable_packages: ignored exactly when
    scaffold calls the package unstable."""
    for side, fields in (("old", "string a = 1; string b = 2;"), ("new", "string a = 1;")):
        (tmp_path / side).mkdir()
        (tmp_path / side / "buf.yaml").write_text("version: v2\nbreaking:\n  ignore_unstable_packages: true\n")
        (tmp_path / side / "p.proto").write_text(f'syntax = "proto3";\npackage {package};\nmessage M {{ {fields} }}\n')
    found = subprocess.run(
        [buf, "breaking", "--against", "../old"], cwd=tmp_path / "new", capture_output=True, text=True, check=False
    )
    assert (found.returncode == 0) == unstable == selection.unstable(package), found.stdout + found.stderr


@dataclasses.dataclass
class Comparison:
    compared: int = 0
    skipped: list[str] = dataclasses.field(default_factory=list)
    differences: list[str] = dataclasses.field(default_factory=list)
    rules: set[str] = dataclasses.field(default_factory=set)
    categories: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    """Mutations also compared under one category alone, buf configured with just it (a rotation)."""


@pytest.fixture(scope="session")
def comparisons(
    buf: str, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> dict[str, Comparison]:
    """Every corpus's mutations, checked by both tools (buf two at a time, alongside scaffold's own checks)."""
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for name in sorted(SEEDS):
            started = time.monotonic()
            progress(
                pytestconfig, f"breaking oracle: {name}: mutating the corpus, each mutation checked by scaffold and buf"
            )
            results[name] = _compare(name, buf, tmp_path_factory.mktemp(name), pool)
            result = results[name]
            progress(
                pytestconfig,
                f"breaking oracle: {name}: {result.compared} compared, {len(result.skipped)} skipped,"
                f" {len(result.differences)} differences, in {time.monotonic() - started:.0f} s",
            )
    return results


def _compare(name: str, buf: str, tmp_path: Path, pool: concurrent.futures.Executor) -> Comparison:
    base = tmp_path / "base"
    jobs = list(_mutations(name, base))
    image = tmp_path / "base.binpb"
    subprocess.run([buf, "build", str(base), "-o", str(image)], check=True)
    previous = _side(base, sorted(_corpus_files(name)))
    result = Comparison()
    pending = []
    for seed, description, texts in jobs:
        directory = tmp_path / f"m{seed}"
        _write(directory, texts)
        names = sorted(n for n, t in texts.items() if t is not None)
        try:
            current = _side(directory, names)
        except ScaffoldError as error:
            result.skipped.append(f"{seed} {description}: protoc: {error}")
            continue
        category = CATEGORIES[seed % len(CATEGORIES)]
        for rules in (None, category):
            ours = _ours(current, previous, rules)
            pending.append((seed, description, rules, ours, pool.submit(_bufs_cached, buf, directory, image, rules)))
    for seed, description, category, ours, future in pending:
        theirs = future.result()
        if isinstance(theirs, str):
            result.skipped.append(f"{seed} {description}: buf: {theirs}")
            continue
        if category is None:
            result.compared += 1
            result.rules |= {key[0] for key in theirs}
        else:
            result.categories[category] += 1
        if ours != theirs:
            result.differences.append(
                f"seed {seed} ({description}, {category or 'every rule'}):"
                f"\n  only scaffold: {sorted((ours - theirs).elements())}"
                f"\n  only buf: {sorted((theirs - ours).elements())}"
            )
    return result


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_same_breaks_as_buf(name: str, comparisons: dict[str, Comparison]) -> None:
    result = comparisons[name]
    print(
        f"{name}: {result.compared} mutations compared, {len(result.skipped)} skipped, {len(result.rules)} rules;"
        f" by category: {dict(result.categories)}"
    )
    for line in result.skipped:
        print("skipped:", line[:300])
    assert not result.differences, "\n".join(result.differences)
    assert result.compared >= SEEDS[name] * 0.6, (
        f"only {result.compared} of {SEEDS[name]} compiled: {result.skipped[:5]}"
    )


def test_the_mutations_reach_most_rules(comparisons: dict[str, Comparison]) -> None:
    """Agreement means little on rules no mutation triggers: most of buf's 64 must have fired somewhere."""
    seen = set().union(*(result.rules for result in comparisons.values()))
    missing = sorted(set(breaking_rules.RULES) - seen)
    print(f"{len(seen)} of {len(breaking_rules.RULES)} rules fired; never: {', '.join(missing)}")
    assert len(seen) >= MIN_RULES_SEEN, missing


_BREAKING = """  use: [WIRE_JSON, FIELD_SAME_NAME]
  except: [FIELD_SAME_JSON_NAME]
  ignore_only:
    FIELD_NO_DELETE_UNLESS_NAME_RESERVED: [{a}]
  ignore_unstable_packages: true
"""
BUF_YAMLS = {  # version: (where the buf.yaml goes, its text, where buf runs), paths as each version reads them
    "v1beta1": (
        "buf.yaml",
        "version: v1beta1\nbuild:\n  roots: [protos]\n  excludes: [protos/d]\nbreaking:\n" + _BREAKING.format(a="a/v1"),
        ".",
    ),
    "v1": (
        "protos/buf.yaml",
        "version: v1\nbuild:\n  excludes: [d]\nbreaking:\n" + _BREAKING.format(a="a/v1"),
        "protos",
    ),
    "v2": (
        "buf.yaml",
        "version: v2\nmodules:\n  - path: protos\n    excludes: [protos/d]\nbreaking:\n"
        + _BREAKING.format(a="protos/a/v1"),
        ".",
    ),
}
_LAB = {
    "a/v1/a.proto": "package a.v1;\nmessage M {\n  string a = 1;\n  int32 c = 3;\n}\n",
    "b/v1beta1/b.proto": "package b.v1beta1;\nmessage N {\n  string a = 1;\n  string b = 2;\n}\n",
    "c/v1/c.proto": "package c.v1;\nmessage O {\n  string a = 1;\n  string b = 2;\n}\n",
    "d/v1/d.proto": "package d.v1;\nmessage P {\n  string a = 1;\n  string b = 2;\n}\n",
}


@pytest.mark.parametrize("version", BUF_YAMLS)
def test_a_buf_yaml_is_read_as_buf_reads_it(buf: str, tmp_path: Path, version: str) -> None:
    """The same tree and buf.yaml (use, except, ignore_only by path, unstable packages) under buf and
    `scaffold breaking`: the same breaks. A key of `[tool.scaffold.breaking]` then overrides the buf.yaml's."""
    source = tmp_path / "src"
    for name, text in _LAB.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text('syntax = "proto3";\n' + text)
    project = tmp_path / "p"
    made = subprocess.run(
        [sys.executable, "-m", "scaffold", "new", *(source / n for n in _LAB), "-I", source, "-o", project]
        + ["--name", "lab"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    place, config, runs_in = BUF_YAMLS[version]
    old = tmp_path / "old"
    shutil.copytree(project / "protos", old / "protos")
    for root in (project, old):
        (root / place).write_text(config)
    protos = project / "protos"
    for name, old_text, new_text in [
        ("a/v1/a.proto", "string a = 1;\n  int32 c = 3;", "string x = 1;"),
        ("b/v1beta1/b.proto", "  string b = 2;\n", ""),
        ("c/v1/c.proto", "  string b = 2;\n", ""),
        ("d/v1/d.proto", "  string b = 2;\n", ""),  # in what the module excludes: nobody's to check
    ]:
        (protos / name).write_text((protos / name).read_text().replace(old_text, new_text))
    theirs = subprocess.run(
        [buf, "breaking", "--against", str(old / runs_in), "--error-format", "json"],
        cwd=project / runs_in,
        capture_output=True,
        text=True,
        check=False,
    )
    found = {
        (b["type"], Path(b["path"]).name, b["start_line"], b["start_column"])
        for b in map(json.loads, theirs.stdout.splitlines())
    }
    mine = _scaffold_breaks(project, old / "protos")
    assert mine == found, (mine, found, theirs.stderr)
    assert {(rule, name) for rule, name, _, _ in mine} == {
        ("FIELD_SAME_NAME", "a.proto"),
        ("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED", "a.proto"),  # its NAME_RESERVED twin ignored only there
        ("FIELD_NO_DELETE_UNLESS_NAME_RESERVED", "c.proto"),
        ("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED", "c.proto"),
    }
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.scaffold.breaking]\nuse = ["FILE"]\n')
    rules = {(rule, name) for rule, name, _, _ in _scaffold_breaks(project, old / "protos")}
    assert ("FIELD_NO_DELETE", "a.proto") in rules and ("FIELD_SAME_JSON_NAME", "a.proto") not in rules, rules
    assert not any(name in ("b.proto", "d.proto") for _, name in rules)  # unstable, and excluded: still left out


def _scaffold_breaks(project: Path, against: Path) -> set[tuple[str, str, int, int]]:
    """(rule, file name, line, column) of what `scaffold breaking --format json` finds, run as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "scaffold", "breaking", "--against", str(against), "--format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return {
        (b["rule"], Path(b["path"]).name, b["line"], b["column"]) for b in map(json.loads, done.stdout.splitlines())
    }


def _trees(buf: str, tmp_path: Path, old: dict[str, str], new: dict[str, str]) -> Path:
    """The two trees of protos written under `tmp_path`, and the old one built into buf's image there."""
    _write(tmp_path / "old", old)
    _write(tmp_path / "new", new)
    subprocess.run([buf, "build", str(tmp_path / "old"), "-o", str(tmp_path / "old.binpb")], check=True)
    return tmp_path


def _both(
    buf: str, trees: Path, old: dict[str, str], new: dict[str, str], category: str | None = None
) -> tuple[collections.Counter[tuple[str, str, int, int]], collections.Counter[tuple[str, str, int, int]]]:
    """What scaffold's rules and buf find between the two trees `_trees` wrote: (ours, buf's)."""
    theirs = _bufs(buf, trees / "new", trees / "old.binpb", category)
    assert not isinstance(theirs, str), theirs
    return _ours(_side(trees / "new", sorted(new)), _side(trees / "old", sorted(old)), category), theirs


LANG = HERE / "protos/langfeatures/lang.proto"
LANG_EDITS: dict[str, tuple[str, str] | tuple[str, str, tuple[str, str]]] = {
    "a field's C++ string type CORD -> STRING": ("(pb.cpp).string_type = CORD]", "(pb.cpp).string_type = STRING]"),
    "a field's C++ string type CORD -> VIEW": ("(pb.cpp).string_type = CORD]", "(pb.cpp).string_type = VIEW]"),
    "a field's C++ string type unset": (" [features.(pb.cpp).string_type = CORD]", ""),
    "a field's C++ string type set": ("string title = 1;", "string title = 1 [features.(pb.cpp).string_type = CORD];"),
    "bytes made a VIEW": ("bytes blob = 2;", "bytes blob = 2 [features.(pb.cpp).string_type = VIEW];"),
    "the file's C++ string type": (
        "option features.utf8",
        "option features.(pb.cpp).string_type = CORD;\noption features.utf8",
    ),
    "ctype CORD as a feature": ("[ctype = CORD]", "[features.(pb.cpp).string_type = CORD]"),
    "a field's Java validation unset": (" [features.(pb.java).utf8_validation = VERIFY]", ""),
    "a field's Java validation set": (
        "string title = 1;",
        "string title = 1 [features.(pb.java).utf8_validation = VERIFY];",
    ),
    "the file's UTF-8 validation NONE": ("utf8_validation = VERIFY;\n\nmessage", "utf8_validation = NONE;\n\nmessage"),
    "edition 2024 (VIEW by default)": ('edition = "2023";', 'edition = "2024";', (" [ctype = CORD]", "")),
    "the file's Java validation": (
        "option features.utf8",
        "option features.(pb.java).utf8_validation = VERIFY;\noption features.utf8",
    ),
}


@pytest.mark.parametrize("edit", LANG_EDITS)
def test_language_features_of_editions_are_read_as_buf_reads_them(buf: str, tmp_path: Path, edit: str) -> None:
    """`features.(pb.cpp).string_type` and `features.(pb.java).utf8_validation`, set on a file, a message or
    a field and changed, unset or inherited: the same breaks, at the same places, as buf finds."""
    text = LANG.read_text()
    old, new, *before = LANG_EDITS[edit]
    for was, now in before:  # what the old side changes first (2024 has no ctype)
        text = text.replace(was, now)
    assert old in text, old
    sides = {"lang.proto": text}, {"lang.proto": text.replace(old, new, 1)}
    ours, theirs = _both(buf, _trees(buf, tmp_path, *sides), *sides)
    assert ours == theirs, (sorted(ours.elements()), sorted(theirs.elements()))


def test_an_element_deleted_beside_its_moved_parent_is_placed_as_buf_places_it(buf: str, tmp_path: Path) -> None:
    """A message moves to another file of its package and loses a nested message on the way:
    the package rules place each deletion at the closest enclosing message left anywhere in the package,
    as buf does; the file rules at the old file."""
    outer = "message Outer {\n  message Mid {\n    message Deep { string z = 1; }\n    string y = 1;\n  }\n  string keep = 2;\n}\n"
    head = 'syntax = "proto3";\npackage p.v1;\n'
    old = {
        "a.proto": head + outer + "message Other { string a = 1; }\n",
        "b.proto": head + "message Side { string s = 1; }\n",
    }
    moved = outer.replace("    message Deep { string z = 1; }\n", "")
    new = {"a.proto": head + "message Other { string a = 1; }\n", "b.proto": old["b.proto"] + "\n" + moved}
    ours, theirs = _both(buf, _trees(buf, tmp_path, old, new), old, new)
    assert ours == theirs, (sorted(ours.elements()), sorted(theirs.elements()))
    assert ("PACKAGE_MESSAGE_NO_DELETE", "b.proto", 6, 3) in ours


_P = 'syntax = "proto3";\npackage p.v1;\n'
PACKAGE_DELETIONS = {
    "the package's last enum": (
        {"a.proto": _P + "enum Kind { KIND_UNSPECIFIED = 0; }\nmessage Keep {}\n"},
        {"a.proto": _P + "message Keep {}\n"},
    ),
    "one of two enums": (
        {
            "a.proto": _P + "enum Kind { KIND_UNSPECIFIED = 0; }\n",
            "b.proto": _P + "enum Side { SIDE_UNSPECIFIED = 0; }\n",
        },
        {"a.proto": _P, "b.proto": _P + "enum Side { SIDE_UNSPECIFIED = 0; }\n"},
    ),
    "the package's last message": (
        {"a.proto": _P + "message Gone {}\nenum Kind { KIND_UNSPECIFIED = 0; }\n"},
        {"a.proto": _P + "enum Kind { KIND_UNSPECIFIED = 0; }\n"},
    ),
    "the package's last service": (
        {"a.proto": _P + "message M {}\nservice S { rpc R (M) returns (M); }\n"},
        {"a.proto": _P + "message M {}\n"},
    ),
    "one of two services": (
        {"a.proto": _P + "message M {}\nservice S { rpc R (M) returns (M); }\nservice T { rpc R (M) returns (M); }\n"},
        {"a.proto": _P + "message M {}\nservice T { rpc R (M) returns (M); }\n"},
    ),
}


@pytest.mark.parametrize("case", PACKAGE_DELETIONS)
def test_a_package_rule_compares_what_the_package_still_has_of_its_kind(buf: str, tmp_path: Path, case: str) -> None:
    """buf compares a package's enums (messages, services) only while the package still has one: deleting
    its last enum is no PACKAGE_ENUM_NO_DELETE, deleting one of two is."""
    old, new = PACKAGE_DELETIONS[case]
    trees = _trees(buf, tmp_path, old, new)
    for category in ("PACKAGE", None):
        ours, theirs = _both(buf, trees, old, new, category)
        assert ours == theirs, (category, sorted(ours.elements()), sorted(theirs.elements()))
