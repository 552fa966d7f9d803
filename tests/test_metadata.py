"""The package's metadata: one version, written once; the licence shipped and declared."""

import importlib.metadata
import re
from pathlib import Path

import pytest

import netprop

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parent.parent


def test_installed_metadata_version_is_the_package_version():
    # the distribution's metadata is written at install time from netprop/_version.py; a second,
    # hand-written version anywhere would let the two drift apart
    assert importlib.metadata.version("netprop") == netprop.__version__


def test_version_is_written_in_one_place():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assignments = [path.relative_to(ROOT).as_posix() for path in (ROOT / "src").rglob("*.py")
                   if re.search(r"^__version__\s*=", path.read_text(encoding="utf-8"), re.M)]
    assert assignments == ["src/netprop/_version.py"]


def test_licence_file_matches_the_declared_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "BSD-3-Clause"
    licence = (ROOT / project["license-files"][0]).read_text()
    assert licence.startswith("BSD 3-Clause License")
    assert "the netprop developers" in licence
