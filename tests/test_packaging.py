"""pyproject.toml, environment.yml and the lock file agree, so Binder meets what was tested."""

import re
import tomllib
from pathlib import Path

import yaml

import gradwidgets as gw

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAME = {"torch": "pytorch-cpu"}


def _pins(requirements):
    pins = {}
    for req in requirements:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9][^;\s]*)", req.strip())
        assert m, f"{req!r} is not an exact pin"
        pins[m.group(1).lower().replace("-", "_")] = m.group(2)
    return pins


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _conda():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and "=" in dep:
            name, version = dep.split("=", 1)
            out[name.lower().replace("-", "_")] = version
    return out, env


def test_every_runtime_pin_is_in_environment_yml_with_the_same_version():
    conda, env = _conda()
    assert env["channels"][0] == "conda-forge"
    for name, version in _pins(_pyproject()["project"]["dependencies"]).items():
        conda_name = CONDA_NAME.get(name, name).replace("-", "_")
        assert conda.get(conda_name) == version, f"{conda_name} in environment.yml should be {version}"


def test_binder_gets_cpu_pytorch_and_jupytext():
    conda, _ = _conda()
    assert "pytorch_cpu" in conda and "cpuonly" not in conda and "pytorch" not in conda
    book = _pins(_pyproject()["project"]["optional-dependencies"]["book"])
    assert conda["jupytext"] == book["jupytext"]


def test_lock_file_agrees_with_pyproject():
    lock = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==")
            lock[name.lower().replace("-", "_")] = version
    extras = _pyproject()["project"]["optional-dependencies"]
    for group in [_pyproject()["project"]["dependencies"], *extras.values()]:
        for name, version in _pins(group).items():
            assert lock.get(name) == version, f"constraints.txt pins {name}=={lock.get(name)}, not {version}"


def test_installed_versions_are_the_pinned_ones():
    import bokeh
    import numpy
    import torch

    pins = _pins(_pyproject()["project"]["dependencies"])
    assert torch.__version__.split("+")[0] == pins["torch"]
    assert numpy.__version__ == pins["numpy"]
    assert bokeh.__version__ == pins["bokeh"]
    assert gw.__version__ == _pyproject()["project"]["version"]
