"""One norms module: batched norms with a float64 fallback, used alike by profile, train and watch."""

from __future__ import annotations

import copy
import pathlib

import numpy as np
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.norms import group_norms, norms, tensor_norms


def test_float32_overflow_and_underflow_fall_back_to_float64():
    big, tiny = torch.full((4,), 1e19), torch.full((4,), 1e-25)
    assert not torch.isfinite(torch.linalg.vector_norm(big)) and torch.linalg.vector_norm(tiny) == 0
    np.testing.assert_allclose(tensor_norms([big, tiny, torch.zeros(3)]), [2e19, 2e-25, 0.0], rtol=1e-6)
    assert np.isinf(tensor_norms([torch.tensor([np.inf, 1.0])]))[0]
    assert tensor_norms([]).shape == (0,)


def test_groups_none_and_empty():
    a, b = torch.tensor([3.0]), torch.tensor([4.0])
    np.testing.assert_allclose(norms([[a, b], [None], [a]]), [5.0, 0.0, 3.0])
    out = group_norms(np.array([3.0, 4.0]), [2, 0], empty=np.nan)
    assert out[0] == 5.0 and np.isnan(out[1])


def test_profile_train_and_watch_agree_beyond_float32_range():
    """A gradient of norm ~1e20 with finite float32 entries: finite for all three, and the same."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        model[0].weight.fill_(1e-12)
    X, y = torch.full((8, 4), 1e19), torch.zeros(8, 1)

    def loss(out, _):
        return out.sum()

    expected = 8 * 1e19 * 2  # dL/dW = sum of X's rows: 4 entries of 8e19
    profile = gw.gradient_profile(model, X, y, loss=loss)
    history = gw.train(copy.deepcopy(model), X, y, steps=1, lr=1e-30, loss=loss)
    with gw.Watch(model) as w:
        model(X).sum().backward()
    for got in (
        profile.weight_grad_norm[0],
        history.layer_grad_norm[0, 0],
        w.history().layer_grad_norm[0, 0],
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert history.diverged_at is None and np.isfinite(history.total_norm_before[0])


def test_batched_norms_have_one_home():
    core = pathlib.Path(gw.__file__).parent / "core"
    users = sorted(p.name for p in core.glob("*.py") if "_foreach_norm" in p.read_text())
    assert users == ["norms.py"]
