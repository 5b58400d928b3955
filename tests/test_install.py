"""Packaging as a user meets it: a non-editable install of the wheel finds its
templates, and a generated project installs with `pip install -e .`.

Each check runs in a throwaway virtual environment that borrows the test
environment's dependencies (grpcio, setuptools, ...) through a .pth file, so
nothing is downloaded and the test environment is never modified.
"""

from __future__ import annotations

import site
import subprocess
import sysconfig
import venv
import zipfile
from pathlib import Path

from conftest import REPO


def borrowing_venv(path: Path) -> Path:
    """A venv at `path` that sees the test environment's packages, but not its editable scaffold."""
    venv.create(path, with_pip=False)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(path), "platbase": str(path)}))
    (purelib / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return path / "bin" / "python"


def run(python: Path, *args: str, cwd: Path) -> str:
    result = subprocess.run([str(python), *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_wheel_ships_templates_and_generates_an_installable_project(tmp_path: Path) -> None:
    python = borrowing_venv(tmp_path / "venv")
    run(
        python,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(tmp_path),
        str(REPO),
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("scaffold-*.whl")
    assert "scaffold/templates/__package__/servicer.py.jinja" in zipfile.ZipFile(wheel).namelist()

    run(python, "-m", "pip", "install", "-q", "--no-deps", str(wheel), cwd=tmp_path)
    where = run(python, "-c", "import scaffold; print(scaffold.__file__)", cwd=tmp_path)
    assert where.startswith(str(tmp_path / "venv")), where  # the wheel, not the source checkout
    run(python, "-m", "scaffold", "new", str(REPO / "protos/route_guide.proto"), "-o", "project", cwd=tmp_path)

    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", "project", cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    imported = run(
        python, "-c", "import route_guide.generated.route_guide_pb2_grpc as m; print(m.__file__)", cwd=elsewhere
    )
    assert imported.startswith(str(tmp_path / "project"))
    tests = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path / "project")
    assert "4 passed" in tests
