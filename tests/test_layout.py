"""The package's layout: the built-in problems install as ``sciml.problems``, never as a top-level package,
and the core never imports the problems or the registry that serve it."""

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
#: modules allowed to import the built-in problems: the edge of the package (command line and its registry)
EDGE = ("sciml/cli/", "sciml/registry.py")


def imported_modules(path: Path) -> set[str]:
    """Every module name an ``import`` or ``from ... import`` statement in ``path`` names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_nothing_imports_a_top_level_problems_package():
    offenders = [str(path.relative_to(ROOT)) for path in python_files("sciml", "problems", "tests", "examples", "benchmarks")
                 if any(name == "problems" or name.startswith("problems.") for name in imported_modules(path))]
    assert not offenders, f"import sciml.problems instead of problems in {offenders}"


def test_the_core_does_not_import_the_problems_or_the_registry_it_serves():
    offenders = [str(path.relative_to(ROOT)) for path in python_files("sciml")
                 if not str(path.relative_to(ROOT)).startswith(EDGE)
                 and any(name.startswith(("sciml.problems", "sciml.registry")) for name in imported_modules(path))]
    assert not offenders, f"core modules import the built-in problems or the registry: {offenders}"


def test_problems_import_as_sciml_problems_even_beside_a_users_problems_py(tmp_path):
    (tmp_path / "problems.py").write_text("raise ImportError('the user\\'s own problems.py was imported')\n")
    script = ("from sciml.problems import Burgers, Darcy, NavierStokes, Poisson\n"
              "import sciml.registry\n"
              "assert sciml.registry.PROBLEMS['burgers'] is Burgers\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (tmp_path / "problems.py").unlink()
    result = subprocess.run([sys.executable, "-c", "import problems"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0 and "No module named 'problems'" in result.stderr


def test_pyproject_lists_every_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "sciml").rglob("__init__.py")}
    found.add("sciml.problems")  # installed from problems/
    assert set(config["packages"]) == found
    assert config["package-dir"] == {"sciml.problems": "problems"}


def test_a_built_wheel_contains_only_sciml(tmp_path):
    pytest.importorskip("setuptools")
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("sciml", "problems"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(source),
                             "-w", str(tmp_path / "wheel")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")} == {"sciml"}
    assert "sciml/problems/burgers.py" in names
