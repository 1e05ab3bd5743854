"""pyproject.toml's ranges admit the lock file's pins, and environment.yml (Binder) pins the same.

pyproject.toml states ranges (what the library works with), constraints.txt the exact versions
`make` installs (the book and CI), environment.yml the same versions for Binder's conda.
"""

import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

import gradwidgets as gw

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAME = {"torch": "pytorch-cpu"}
"""conda-forge's name for a PyPI package, where they differ."""
NOT_LOCKED_IN_CONDA = {"python", "pip"}


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _runtime():
    return [Requirement(r) for r in _pyproject()["project"]["dependencies"]]


def _lock():
    lock = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not an exact pin"
            lock[canonicalize_name(name)] = version
    return lock


def _conda():
    """environment.yml's pinned packages, by PyPI name, and the whole file."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pypi_name = {conda: pypi for pypi, conda in CONDA_NAME.items()}
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, _, version = dep.partition("=")
            out[canonicalize_name(pypi_name.get(name, name))] = version
    return out, env


def _exact_pin(req: Requirement) -> str:
    specs = list(req.specifier)
    assert len(specs) == 1 and specs[0].operator == "==", f"{req} is not an exact pin"
    return specs[0].version


def test_every_runtime_dependency_is_a_range_that_admits_the_locked_version():
    lock = _lock()
    for req in _runtime():
        name = canonicalize_name(req.name)
        assert name in lock, f"constraints.txt does not pin {req.name}"
        assert any(s.operator == ">=" for s in req.specifier), f"{req}: state the oldest version that works"
        assert not any(s.operator in ("==", "===") for s in req.specifier), f"{req}: a range, not a pin"
        assert req.specifier.contains(lock[name]), f"{req} does not admit constraints.txt's {lock[name]}"


def test_the_optional_groups_make_installs_are_exact_pins_of_the_lock_file():
    lock = _lock()
    for group, requirements in _pyproject()["project"]["optional-dependencies"].items():
        for req in map(Requirement, requirements):
            version = _exact_pin(req)
            assert lock.get(canonicalize_name(req.name)) == version, f"[{group}] {req} vs constraints.txt"


def test_environment_yml_pins_the_lock_files_versions():
    conda, env = _conda()
    lock = _lock()
    assert env["channels"][0] == "conda-forge"
    for req in _runtime():
        name = canonicalize_name(req.name)
        assert name in conda, f"environment.yml lacks {CONDA_NAME.get(req.name, req.name)}"
    # every package it pins (runtime and notebook alike: jupyterlab, ipykernel, jupytext, myst-nb)
    for name, version in conda.items():
        if name not in NOT_LOCKED_IN_CONDA:
            assert lock.get(name) == version, f"environment.yml pins {name}={version}, lock {lock.get(name)}"


def test_binder_python_is_the_one_tested_and_is_admitted():
    conda, _ = _conda()
    assert conda["python"] == "3.11" == f"{sys.version_info.major}.{sys.version_info.minor}"
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert requires.contains("3.11") and requires.contains("3.10")


def test_binder_gets_cpu_pytorch_and_jupytext():
    _, env = _conda()
    names = {re.split("[=<>]", d)[0] for d in env["dependencies"] if isinstance(d, str)}
    assert "pytorch-cpu" in names and "pytorch" not in names and "cpuonly" not in names
    conda, _ = _conda()
    book = {canonicalize_name(r.name): _exact_pin(r) for r in map(Requirement, _book())}
    assert conda["jupytext"] == book["jupytext"]
    # postBuild installs the package alone: pip must not replace conda's CPU torch with PyPI's
    post_build = (ROOT / "postBuild").read_text()
    assert re.search(r"pip install .*--no-deps", post_build)


def _book():
    return _pyproject()["project"]["optional-dependencies"]["book"]


@pytest.mark.parametrize("req", _runtime(), ids=lambda r: r.name)
def test_installed_versions_are_the_locked_ones(req):
    installed = Version(importlib.metadata.version(req.name)).public  # torch's "+cpu" dropped
    assert installed == _lock()[canonicalize_name(req.name)]


def test_version_is_pyprojects():
    version = _pyproject()["project"]["version"]
    assert gw.__version__ == version == importlib.metadata.version("gradwidgets")
