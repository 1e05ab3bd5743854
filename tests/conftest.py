"""Shared fixtures: small seeded datasets."""

import pytest
import torch

import gradwidgets as gw


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
