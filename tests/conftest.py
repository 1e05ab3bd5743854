"""Shared fixtures: small seeded datasets."""

import pytest
import torch
from _browser import close_shared_browser, shared_browser

import gradwidgets as gw


@pytest.fixture(scope="session")
def browser():
    """The one headless Chromium of this test run (skips when Chromium is absent)."""
    yield shared_browser()
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
