"""Shared fixtures: small seeded datasets, the built book and its server on loopback."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from _browser import close_shared_browser, serve, shared_browser

import gradwidgets as gw


@pytest.fixture(scope="module")
def browser():
    """The headless Chromium of this test module (skips when Chromium is absent)."""
    return shared_browser()


@pytest.fixture(autouse=True, scope="module")
def _no_browser_across_modules():
    """Stop Playwright after each module that started it.

    Playwright's sync API runs its event loop in a greenlet: while it is alive, that loop
    counts as running in the main thread, so a live panel made afterwards in the same thread
    would hand its results to a loop that never turns (every live test after the browser
    tests failed so).
    """
    yield
    close_shared_browser()


@pytest.fixture(autouse=True)
def _deterministic_threads():
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session")
def spirals():
    return gw.make_dataset("spirals", 256, seed=0)


@pytest.fixture(scope="session")
def regression():
    return gw.make_dataset("regression", 128, seed=0)


@pytest.fixture(scope="session")
def adding():
    return gw.make_dataset("adding", 64, seed=0, seq_len=40)


@pytest.fixture
def load_script(monkeypatch):
    """Import a script of the repository (``benchmarks/...``, ``tools/...``) as a module."""

    def load(relative: str):
        path = Path(__file__).resolve().parents[1] / relative
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, path.stem, module)
        spec.loader.exec_module(module)
        return module

    return load


# The plots tests' networks: a 6-layer profile (and one with a NaN weight), a clipped run, a
# diverged run.
@pytest.fixture(scope="module")
def data():
    d = gw.make_dataset("spirals", 128)
    return d.X, d.y.float()


@pytest.fixture(scope="module")
def profile(data):
    return gw.gradient_profile(gw.build_mlp(6), *data)


@pytest.fixture(scope="module")
def nan_profile(data):
    model = gw.build_mlp(6)
    with torch.no_grad():
        model.hidden_linears[2].weight[0, 0] = float("nan")
    return gw.gradient_profile(model, *data)


@pytest.fixture(scope="module")
def history(data):
    return gw.train(gw.build_mlp(4), *data, steps=30, lr=0.1, clip_norm=0.05, record_every=3)


@pytest.fixture(scope="module")
def diverged():
    d = gw.make_dataset("regression", 128)
    model = gw.build_mlp(4, in_features=1, activation="relu", init="normal", init_scale=3.0)
    return gw.train(model, d.X, d.y, steps=50, lr=1.0)


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book exactly as `make book` does (with forced execution when CI is set)."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed; the book is built with `make book`")
    run = subprocess.run(["make", "--no-print-directory", "book"], cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        tail = (run.stdout + run.stderr)[-12000:]  # a failing cell's traceback is in there
        pytest.fail(f"`make book` failed:\n{tail}")
    return ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def server(built_book):
    """The built site on 127.0.0.1, at a free port."""

    httpd = serve(built_book)
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
