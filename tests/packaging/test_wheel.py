"""The wheel a user installs: it holds every module and data file of the source tree, and it runs.

The wheel is built from a copy of the source tree (no stale `build/` can leak into it), then installed
with its dependencies in a fresh virtualenv outside the repository, where `progres demo` and
`progres bilan report` must work: a forgotten subpackage fails here, not on a user's machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Top-level folders that are the project's, not the package's: they must not be shipped.
NOT_SHIPPED = {"tests", "bench", "deploy", "docs", "scripts"}
# What a working tree holds beside the sources (virtualenvs, caches, build output, demo data).
NOT_SOURCE = {"__pycache__", "build", "dist", "progres-data", "node_modules"}
PROJECT_FILES = {"setup.py"}  # the build script at the root is not a module of `progres`


def ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.name in NOT_SOURCE or path.name.endswith(".egg-info")


def tree_files(root: Path) -> list[Path]:
    """The files of the source tree: what git tracks or would track (its ignore rules leave out virtualenvs,
    caches, build output, mutation-testing copies…); a copy without git is walked instead."""
    if (root / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(["git", "-C", str(root), "ls-files", "--cached", "--others", "--exclude-standard",
                                 "-z"], capture_output=True, text=True, check=True, timeout=60).stdout
        return [Path(name) for name in listed.split("\0") if name and (root / name).is_file()]
    found = []
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        subdirectories[:] = [d for d in subdirectories if not ignored(here / d)]
        found += [(here / name).relative_to(root) for name in files if not ignored(here / name)]
    return found


def source_files(root: Path = ROOT) -> set[str]:
    """Every file of the package as the wheel should name it (progres/<path>), from the source tree."""
    found: set[str] = set()
    for relative in tree_files(root):
        parts = relative.parts
        if len(parts) == 1:  # the root folder is the package `progres`: its modules only
            if relative.suffix == ".py" and relative.name not in PROJECT_FILES:
                found.add(f"progres/{relative.as_posix()}")
        elif parts[0] not in NOT_SHIPPED and not any(ignored(Path(p)) for p in parts) \
                and relative.suffix not in (".pyc", ".pyo"):
            found.add(f"progres/{relative.as_posix()}")
    return found


def copy_source(target: Path) -> Path:
    shutil.copytree(ROOT, target, ignore=lambda directory, names: [n for n in names if ignored(Path(directory) / n)])
    return target


def build_wheel(source: Path, out: Path) -> Path:
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                             "--wheel-dir", str(out), str(source)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    [built] = out.glob("progres-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    return build_wheel(copy_source(work / "source"), work / "dist")


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {n for n in archive.namelist() if not n.endswith("/") and ".dist-info/" not in n}


def test_the_wheel_holds_every_module_and_data_file_of_the_source_tree_and_nothing_else(wheel):
    expected = source_files()
    shipped = wheel_names(wheel)
    assert "progres/services/reports/bilan.py" in expected, "the source walk must see the subpackages"
    assert "progres/graphql/schema.graphql" in expected
    assert sorted(expected - shipped) == [], "in the source tree but not in the wheel"
    assert sorted(shipped - expected) == [], "in the wheel but not in the source tree"
    modules = {n.removesuffix(".py").replace("/", ".") for n in shipped if n.endswith(".py")}
    assert "progres.services.reports.bilan" in modules
    assert not [m for m in modules if m.split(".")[1] in NOT_SHIPPED or m == "progres.setup"]
    assert not [n for n in shipped if not n.startswith("progres/")], "one import root only"
    assert not [n for n in shipped if n.startswith("progres/graphql/__init__")], "graphql/ stays a namespace portion"


def test_a_new_subpackage_and_its_data_are_shipped_without_touching_the_packaging(tmp_path):
    """Discovery, not a list: a subpackage folder (with a template) added to the source is in the wheel."""
    source = copy_source(tmp_path / "source")
    extra = source / "services" / "reports" / "extra"
    extra.mkdir()
    (extra / "__init__.py").write_text('"""A new subpackage."""\n')
    (extra / "page.html").write_text("<p>modèle</p>\n")
    shipped = wheel_names(build_wheel(source, tmp_path / "dist"))
    assert {"progres/services/reports/extra/__init__.py", "progres/services/reports/extra/page.html"} <= shipped
    assert shipped == source_files(source)


def fresh_env(**extra: str) -> dict[str, str]:
    """The user's environment, without anything that points back at this repository or its .venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
           and not k.startswith("PROGRES_")}
    return {**env, "PROGRES_STORE": "sqlite", "COLUMNS": "200", **extra}


def test_the_wheel_installed_in_a_fresh_virtualenv_runs_the_demo_and_the_bilan_report(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # The same pip and index as .venv, installing into the new environment: the wheel and its dependencies.
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                                "--disable-pip-version-check", str(wheel)],
                               capture_output=True, text=True, timeout=900, check=False, env=fresh_env())
    assert installed.returncode == 0, installed.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, check=False,
                              cwd=work, env=fresh_env())

    where = run(python, "-c", "import progres.services.reports.bilan as m; print(m.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), "progres must come from the installed wheel"
    demo = run(venv / "bin" / "progres", "demo", "--data-dir", work / "data")
    assert demo.returncode == 0, demo.stderr
    plan = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", demo.stdout)[-1]
    for fmt, marker in (("html", "Plan de progrès BOF des lycées de Lens"), ("csv", "Lycée Auguste Béhal (Lens)")):
        target = work / ("bilan.zip" if fmt == "csv" else f"bilan.{fmt}")  # CSV: a zip of one file per table
        report = run(venv / "bin" / "progres", "bilan", "report", "--plan", plan, "--format", fmt,
                     "--output", target, "--data-dir", work / "data")
        assert report.returncode == 0, report.stderr
        assert "Traceback" not in report.stderr
        if fmt == "csv":
            with zipfile.ZipFile(target) as archive:
                assert marker in archive.read("gains.csv").decode("utf-8-sig")
        else:
            assert marker in target.read_text(encoding="utf-8")
