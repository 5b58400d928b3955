"""Issue 25, fuzzer seed 36007: a module of the user's at a path scaffold renders, which scaffold has no
record of (`new --force` into a directory, a module the user wrote where a service added later puts its
own). The rest of the project imports the render's names from it: kept as it was, the project did not
import while `check` called it up to date. It gets what it lacks of the render; every line of the
user's stays, in its order."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO, TEST_PROTOS, check_project, run_python, run_scaffold

HELPERS = '''# Licence: mine.
"""Ledger helpers of my own, written before the service existed."""

import math

RATE = 1.5


def balance(amount: int) -> int:
    """Rounded down, as the books want it."""
    return math.floor(amount * RATE)
'''

TESTS = """import math


def test_my_rounding() -> None:
    assert math.floor(2.5) == 2
"""


def _in_order(mine: str, merged: str) -> bool:
    """Every line of `mine` is in `merged`, in the same order."""
    rest = iter(merged.splitlines())
    return all(any(line == other for other in rest) for line in mine.splitlines())


def _shop(tmp_path: Path) -> Path:
    made = run_scaffold("new", TEST_PROTOS / "multi/shop.proto", "-I", TEST_PROTOS / "multi", "-o", tmp_path / "shop")
    assert made.returncode == 0, made.stderr
    return tmp_path / "shop"


@pytest.mark.parametrize("service", ["Ledger", "AuditTrail"])
def test_a_module_of_the_users_where_a_new_service_goes_gets_the_servicer_and_keeps_every_line(
    tmp_path: Path, service: str
) -> None:
    project = _shop(tmp_path)
    module = "ledger" if service == "Ledger" else "audit_trail"
    servicer = project / f"shop/services/{module}.py"
    assert not servicer.exists() and (project / "shop/services/__init__.py").is_file()  # per-service layout
    mine = HELPERS if service == "Ledger" else "def balance(amount: int) -> int:\r\n    return amount * 2\r\n"
    servicer.write_bytes(mine.encode())  # the second: CRLF, no imports of its own
    (project / f"tests/test_{module}.py").write_text(TESTS)
    proto = next((project / "protos").rglob("shop.proto"))
    request = "ItemQuery"
    added = f"\nservice {service} {{\n  rpc Post({request}) returns ({request});\n}}\n"
    proto.write_text(proto.read_text() + added)

    done = run_scaffold("gen", "-C", project)
    assert done.returncode == 0, done.stderr
    assert f"merge     shop/services/{module}.py  (scaffold had no record of it" in done.stdout
    merged = servicer.read_bytes().decode()
    assert _in_order(mine, merged) and f"class {service}Servicer(" in merged
    assert merged.count("\n") == merged.count("\r\n" if "\r" in mine else "\n")  # in the file's own endings
    assert _in_order(TESTS, (project / f"tests/test_{module}.py").read_text())
    checked = check_project(project, "shop")
    assert f"{service}Servicer" in checked.docs[f"shop.services.{module}"]
    mine = run_python(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/test_{module}.py", "-k", "my_", cwd=project
    )
    assert "1 passed" in mine.stdout, mine.stdout
    assert run_scaffold("check", "-C", project).returncode == 0

    # Recorded from now on: a later RPC's stub goes into the class, the helpers stay where they are.
    proto.write_text(
        proto.read_text().replace(added, added.replace("}\n", f"  rpc Undo({request}) returns ({request});\n}}\n"))
    )
    again = run_scaffold("gen", "-C", project)
    assert again.returncode == 0, again.stderr
    grown = servicer.read_bytes().decode()
    assert "def Undo(" in grown and _in_order(merged, grown)
    check_project(project, "shop")


@pytest.mark.parametrize("layout", ["single", "per-service"])
def test_new_force_over_modules_of_the_users_at_every_path_gives_a_project_that_works(
    tmp_path: Path, layout: str
) -> None:
    proto = tmp_path / "src/route_guide.proto"
    proto.parent.mkdir()
    proto.write_text((REPO / "protos/route_guide.proto").read_text())
    reference = run_scaffold("new", proto, "-o", tmp_path / "reference", "--layout", layout)
    assert reference.returncode == 0, reference.stderr
    files = json.loads((tmp_path / "reference/.scaffold/manifest.json").read_text())["files"]
    users = [path for path, entry in sorted(files.items()) if entry["owner"] == "user" and path.endswith(".py")]
    assert "route_guide/server.py" in users and "tests/test_route_guide.py" in users
    target = tmp_path / "mine"
    for path in users:
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_text(HELPERS)

    created = run_scaffold("new", "--force", proto, "-o", target, "--layout", layout)
    assert created.returncode == 0, created.stderr
    for path in users:
        assert _in_order(HELPERS, (target / path).read_text()), path
    assert "merge     route_guide/server.py  (scaffold had no record of it" in created.stdout
    check_project(target, "route_guide")
    assert run_scaffold("check", "-C", target).returncode == 0


def test_a_module_of_the_users_that_does_not_parse_is_left_as_it_is_with_where(tmp_path: Path) -> None:
    project = _shop(tmp_path)
    broken = b"def balance(:\n    pass\n"
    (project / "shop/services/ledger.py").write_bytes(broken)
    proto = next((project / "protos").rglob("shop.proto"))
    proto.write_text(proto.read_text() + "\nservice Ledger {\n  rpc Post(ItemQuery) returns (ItemQuery);\n}\n")
    done = run_scaffold("gen", "-C", project)
    assert done.returncode == 0, done.stderr
    assert (
        "kept      shop/services/ledger.py  (exists but scaffold has no record of it; left as is"
        " (line 1: does not parse: invalid syntax))"
    ) in done.stdout
    assert (project / "shop/services/ledger.py").read_bytes() == broken
    assert run_scaffold("check", "-C", project).returncode == 0  # the user's to mend: nothing of scaffold's is stale
    record = (project / ".scaffold/manifest.json").read_bytes()
    full = run_scaffold("gen", "--full", "-C", project)  # a full run finds the record as the last one left it
    assert full.returncode == 0 and full.stdout.startswith("Up to date ("), full.stdout
    assert (project / ".scaffold/manifest.json").read_bytes() == record
    assert (project / "shop/services/ledger.py").read_bytes() == broken


@pytest.mark.parametrize("layout", ["single", "per-service"])
def test_a_package_module_of_the_users_kept_by_new_force_is_recorded_as_a_full_gen_would(
    tmp_path: Path, layout: str
) -> None:
    """`new --force` kept a `PKG/__init__.py` of the user's that defines all scaffold's would, and recorded
    it with no merge base; `check` said up to date, but a full `gen` rebuilt the base and said the record
    was refreshed. `new` records what `gen` would: the full run changes nothing."""
    proto = tmp_path / "helloworld.proto"
    proto.write_text((REPO / "protos/helloworld.proto").read_text())
    reference = run_scaffold("new", proto, "-o", tmp_path / "reference", "--layout", layout)
    assert reference.returncode == 0, reference.stderr
    mine = (tmp_path / "reference/helloworld/__init__.py").read_text() + "\nVERSION = '1.0'  # MINE\n"
    (tmp_path / "mine/helloworld").mkdir(parents=True)
    (tmp_path / "mine/helloworld/__init__.py").write_text(mine)

    created = run_scaffold("new", "--force", proto, "-o", tmp_path / "mine", "--layout", layout)
    assert created.returncode == 0, created.stderr
    assert "kept      helloworld/__init__.py  (exists but scaffold has no record of it; left as is" in created.stdout
    assert run_scaffold("check", "-C", tmp_path / "mine").stdout == "Up to date.\n"
    record = (tmp_path / "mine/.scaffold/manifest.json").read_bytes()
    full = run_scaffold("gen", "--full", "-C", tmp_path / "mine")
    assert full.returncode == 0 and full.stdout.startswith("Up to date ("), full.stdout
    assert (tmp_path / "mine/.scaffold/manifest.json").read_bytes() == record
    assert (tmp_path / "mine/helloworld/__init__.py").read_text() == mine
    check_project(tmp_path / "mine", "helloworld")


def _without_class(text: str, name: str) -> str:
    """`text` without the top-level class `name` (its lines up to the next top-level statement)."""
    lines, kept, skipping = text.splitlines(keepends=True), [], False
    for line in lines:
        if line.startswith(f"class {name}"):
            skipping = True
        elif skipping and line.strip() and not line[0].isspace():
            skipping = False
        if not skipping:
            kept.append(line)
    return re.sub(r"\n{4,}", "\n\n\n", "".join(kept))  # two blank lines where the class was, as ruff wants


@pytest.mark.parametrize("layout", ["single", "per-service"])
def test_a_servicer_class_dropped_from_a_recorded_module_is_put_back_and_check_says_so(
    tmp_path: Path, layout: str
) -> None:
    """Fuzzer seed 47032: a conflict resolved by keeping only "yours" dropped the class of a service the
    same run added; the merge, seeing the user delete what the render still had, kept it deleted, the server
    could not import it, and `check` said up to date. A dropped method stays dropped (the generated base
    class answers UNIMPLEMENTED); a dropped class is put back, around every line of the user's."""
    made = run_scaffold(
        "new",
        TEST_PROTOS / "multi/shop.proto",
        "-I",
        TEST_PROTOS / "multi",
        "-o",
        tmp_path / "shop",
        "--layout",
        layout,
    )
    assert made.returncode == 0, made.stderr
    project = tmp_path / "shop"
    module = project / ("shop/servicer.py" if layout == "single" else "shop/services/catalog.py")
    text = module.read_text()
    name = next(line.split()[1].split("(")[0] for line in text.splitlines() if line.startswith("class "))
    mine = _without_class(text, name).rstrip("\n") + "\n\n\ndef my_helper() -> int:  # MINE\n    return 1\n"
    assert f"class {name}" not in mine
    module.write_text(mine)

    stale = run_scaffold("check", "-C", project)
    assert stale.returncode == 1 and f"stale: {module.relative_to(project).as_posix()} (merge)" in stale.stderr
    done = run_scaffold("gen", "-C", project)
    assert done.returncode == 0, done.stderr
    assert f"put back {name}, which the project imports from it and it lacked" in done.stdout
    again = module.read_text()
    assert f"class {name}(" in again and _in_order(mine, again)
    check_project(project, "shop")
    assert run_scaffold("check", "-C", project).stdout == "Up to date.\n"

    # The class defined another way (imported under its name) is the user's: left as it is.
    (module.parent / "elsewhere.py").write_text(f"from {_module_of(module, project)} import *  # noqa\n")
    aliased = _without_class(again, name) + f"\n\n{name} = type('{name}', (), {{}})  # MINE too\n"
    module.write_text(aliased)
    assert run_scaffold("gen", "-C", project).returncode == 0
    assert module.read_text() == aliased
    assert run_scaffold("check", "-C", project).returncode == 0


def _module_of(path: Path, project: Path) -> str:
    return path.relative_to(project).with_suffix("").as_posix().replace("/", ".")
