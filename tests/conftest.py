"""Shared fixtures: small seeded datasets."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch
from _browser import close_shared_browser, shared_browser

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
