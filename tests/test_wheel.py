"""The package people install: the wheel and sdist hold every module, and the wheel works alone.

The wheel is built from a copy of the repository's packaging inputs (pyproject.toml, README.md
and gradwidgets/): an in-tree build would leave build/ and an egg-info in the working tree, and a
stale build/lib could slip a deleted module into the wheel. It is installed with --no-deps into a
fresh virtual environment that sees this machine's torch, numpy, Bokeh and ipywidgets (through a
.pth line naming .venv's site-packages) but not the editable install, whose finder only runs from
a real site directory. Every public name and every module is then imported from outside the
repository. Also: ``import gradwidgets`` loads neither Bokeh nor ipywidgets.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gradwidgets"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
PACKAGING_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "setup.cfg", "setup.py")
HEAVY = ("bokeh", "ipywidgets", "jupyter_bokeh", "IPython")
"""The plotting and widget stacks: ``import gradwidgets`` must not load them."""
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


def source_files() -> set[str]:
    """Every file of the package in the working tree, as a path like ``gradwidgets/core/x.py``."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    }


def missing_from(names: list[str], prefix: str = "") -> list[str]:
    """The package's files absent from an archive listing (``prefix``: the sdist's top folder)."""
    held = {n.removeprefix(prefix) for n in names}
    return sorted(source_files() - held)


def _copy_sources(dest: Path, packages_override: str | None = None) -> Path:
    dest.mkdir()
    for name in PACKAGING_INPUTS:
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(PACKAGE, dest / "gradwidgets", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if packages_override is not None:  # only to prove the check catches a broken wheel
        text = (dest / "pyproject.toml").read_text()
        start = text.index("[tool.setuptools.packages.find]")
        end = text.index("[tool.setuptools.package-data]")
        (dest / "pyproject.toml").write_text(
            text[:start] + f"[tool.setuptools]\npackages = {packages_override}\n\n" + text[end:]
        )
    return dest


def _run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def build_wheel(src: Path, out: Path) -> Path:
    """pip's PEP 517 build with .venv's setuptools: no build isolation, so no network."""
    _run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), str(src)])
    (wheel,) = out.glob("gradwidgets-*.whl")
    return wheel


def build_sdist(src: Path, out: Path) -> Path:
    """setuptools' own PEP 517 hook (pip cannot build an sdist, and `build` is not needed)."""
    code = f"from setuptools import build_meta; print(build_meta.build_sdist({str(out)!r}))"
    _run([sys.executable, "-c", code], cwd=src)
    (sdist,) = out.glob("gradwidgets-*.tar.gz")
    return sdist


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    src = _copy_sources(tmp / "src")
    return build_wheel(src, tmp / "wheel"), build_sdist(src, tmp / "sdist")


@pytest.fixture(scope="module")
def fresh_env(built, tmp_path_factory):
    """A virtual environment holding only the wheel, plus .venv's third-party packages."""
    wheel, _ = built
    tmp = tmp_path_factory.mktemp("env")
    env = tmp / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", str(env)])
    python = env / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout
    # a path line only: .venv's own .pth files (the editable finder among them) are not run
    (Path(site.strip()) / "machine_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([*PIP, "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)])
    return python, tmp


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_data_file(built):
    wheel, _ = built
    names = zipfile.ZipFile(wheel).namelist()
    assert missing_from(names) == []
    assert "gradwidgets/py.typed" in names
    assert len([n for n in names if n.endswith(".py")]) == len(
        [f for f in source_files() if f.endswith(".py")]
    )


@pytest.mark.slow
def test_the_sdist_holds_every_module_and_data_file(built):
    _, sdist = built
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    top = sdist.name.removesuffix(".tar.gz") + "/"
    assert missing_from(names, top) == []
    assert top + "pyproject.toml" in names and top + "README.md" in names


@pytest.mark.slow
def test_the_check_catches_a_wheel_without_the_subpackages(tmp_path):
    src = _copy_sources(tmp_path / "src", packages_override='["gradwidgets"]')
    wheel = build_wheel(src, tmp_path / "wheel")
    missing = missing_from(zipfile.ZipFile(wheel).namelist())
    assert "gradwidgets/core/__init__.py" in missing and "gradwidgets/explorers/flow.py" in missing
    assert "gradwidgets/__init__.py" not in missing


INSTALLED_CHECK = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    import torch
    from torch import nn

    import gradwidgets as gw

    faces = ["core", "lessons", "plots", "widgets", "explorers"]
    names = [f"gradwidgets.{n}" for n in gw.__all__]
    for face in faces:
        module = importlib.import_module(f"gradwidgets.{face}")
        names += [f"gradwidgets.{face}.{n}" for n in module.__all__]
        for n in module.__all__:
            getattr(module, n)
    for n in gw.__all__:
        getattr(gw, n)
    modules = [m.name for m in pkgutil.walk_packages(gw.__path__, "gradwidgets.")]
    for m in modules:
        importlib.import_module(m)

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    report = gw.diagnose(model, torch.randn(32, 4), torch.randn(32, 1))

    from gradwidgets.explorers import gradient_flow
    from gradwidgets.widgets import static_html

    explorer = gradient_flow(depths=(3,), activations=("tanh",), inits=("xavier_normal",),
                             norms=(None,), residual=(False,), width=8)
    html = static_html(explorer.static())
    print(json.dumps({"file": gw.__file__, "names": len(names), "modules": modules,
                      "report": type(report).__name__, "html": len(html), "bokeh": "Bokeh" in html}))
    """
)


@pytest.mark.slow
def test_the_installed_wheel_works_outside_the_repository(fresh_env):
    python, tmp = fresh_env
    # -I: no cwd, PYTHONPATH or user site on sys.path; cwd outside the repository anyway
    result = _run([str(python), "-I", "-c", INSTALLED_CHECK], cwd=tmp, env=ONE_THREAD)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(out["file"]).is_relative_to(tmp / "env"), f"imported {out['file']}, not the wheel"
    assert not Path(out["file"]).is_relative_to(ROOT)
    expected = {
        f.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for f in source_files()
        if f.endswith(".py") and f != "gradwidgets/__init__.py"
    }
    assert set(out["modules"]) == expected
    assert out["names"] > 100 and out["report"] == "Report"
    assert out["html"] > 10_000 and out["bokeh"]


LAZY_CHECK = textwrap.dedent(
    """
    import json, sys

    import torch
    from torch import nn

    HEAVY = {heavy!r}
    loaded = lambda: sorted({{m.split(".")[0] for m in sys.modules}} & set(HEAVY))
    steps = {{}}
    import gradwidgets as gw
    steps["import gradwidgets"] = loaded()
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    X, y = torch.randn(8, 3), torch.randn(8, 1)
    gw.diagnose(model, X, y)
    gw.gradient_profile(model, X, y)
    with gw.watch(model, live=False) as w:
        torch.nn.functional.mse_loss(model(X), y).backward()
    assert w.history() is not None
    steps["diagnose, gradient_profile, watch(live=False)"] = loaded()
    {access}
    steps["access"] = loaded()
    print(json.dumps(steps))
    """
)


@pytest.mark.parametrize("access", ["gw.plots", "gw.Explorer"])
def test_import_gradwidgets_leaves_bokeh_and_ipywidgets_out_until_asked(access, tmp_path):
    code = LAZY_CHECK.format(heavy=HEAVY, access=access)
    result = _run([sys.executable, "-c", code], cwd=tmp_path, env=ONE_THREAD)
    steps = json.loads(result.stdout.strip().splitlines()[-1])
    assert steps["import gradwidgets"] == []
    assert steps["diagnose, gradient_profile, watch(live=False)"] == []
    if access == "gw.plots":
        assert steps["access"] == ["bokeh"]
    else:  # the Explorer's live face: ipywidgets (which imports IPython) and jupyter_bokeh
        assert steps["access"] == sorted(HEAVY)
