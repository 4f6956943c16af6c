"""Project metadata: one version everywhere, the licence pyproject names, typed package data."""

import re
import sys
from pathlib import Path

from typer.testing import CliRunner

import fieldlab
from fieldlab.cli import app

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_has_one_source():
    assert fieldlab.__version__ == PYPROJECT["project"]["version"]
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^version:\s*(\S+)", cff, re.MULTILINE).group(1) == fieldlab.__version__


def test_cli_version_option():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"fieldlab {fieldlab.__version__}"


def test_licence_file_matches_pyproject():
    assert PYPROJECT["project"]["license"] == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "the fieldlab authors" in text


def test_package_is_typed_and_ships_the_marker():
    assert (Path(fieldlab.__file__).parent / "py.typed").exists()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["fieldlab"]


def test_changelog_names_the_current_version():
    assert f"## [{fieldlab.__version__}]" in (ROOT / "CHANGELOG.md").read_text()


def _other_test_files():
    return [p for p in (ROOT / "tests").glob("test_*.py") if p.name != Path(__file__).name]


def test_no_test_switches_64_bit_jax_for_the_whole_process():
    offenders = [p.name for p in _other_test_files() if 'config.update("jax_enable_x64"' in p.read_text()]
    assert not offenders, f"use the x64 fixture (tests/conftest.py) instead: {offenders}"


def test_tests_do_not_depend_on_files_outside_the_repository():
    offenders = [p.name for p in _other_test_files()
                 if "reference-data" in p.read_text() or "parents[2]" in p.read_text()]
    assert not offenders, f"ship a small copy under tests/data/ instead: {offenders}"
