"""One History, built by one function, whether train or a Watch recorded the run."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core import history, training, watcher


def _setup():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    return model, torch.randn(32, 2), torch.randn(32, 1)


def test_one_class_under_every_name():
    assert gw.History is gw.core.History is training.History is history.History
    assert gw.StepRecord is training.StepRecord is history.StepRecord
    assert gw.History.__module__ == "gradwidgets.core.history"
    assert not hasattr(training, "_history") and not hasattr(watcher.Watch, "_build")


def test_watch_of_a_hand_written_loop_gives_train_s_history():
    """The same SGD steps, taken by train and by a loop under a Watch, record the same History."""
    model, X, y = _setup()
    steps, lr = 5, 0.1
    trained = gw.train(copy.deepcopy(model), X, y, steps=steps, lr=lr)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with gw.Watch(model) as w:
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.mse_loss(model(X), y)
            loss.backward()
            w.log_loss(loss)
            opt.step()
    watched = w.history()
    assert type(watched) is type(trained)
    assert watched.layer_names == trained.layer_names == ("0", "2", "4")
    np.testing.assert_array_equal(watched.steps, trained.steps)
    np.testing.assert_allclose(watched.loss, trained.loss, rtol=1e-6)
    np.testing.assert_allclose(watched.layer_grad_norm, trained.layer_grad_norm, rtol=1e-5)
    np.testing.assert_allclose(watched.total_norm_before, trained.total_norm_before, rtol=1e-5)
    np.testing.assert_array_equal(watched.total_norm_after, watched.total_norm_before)  # clipping unseen
    assert np.isnan(watched.update_ratio).all() and watched.update_ratio.shape == trained.update_ratio.shape
    assert watched.diverged_at is trained.diverged_at is None


def test_from_records_rebuilds_what_train_returned():
    model, X, y = _setup()
    seen = []
    result = gw.train(model, X, y, steps=4, lr=0.05, callback=seen.append)
    rebuilt = gw.History.from_records(result.layer_names, seen)
    for field in (
        "loss",
        "steps",
        "layer_grad_norm",
        "total_norm_before",
        "total_norm_after",
        "update_ratio",
    ):
        np.testing.assert_array_equal(getattr(rebuilt, field), getattr(result, field))


def test_build_history_shapes_and_markers():
    rec = [
        gw.StepRecord(0, 1.0, np.array([1.0, 2.0]), 3.0, 2.0, np.array([0.1, 0.2])),
        gw.StepRecord(2, 0.5, np.array([np.inf, 2.0]), np.inf, np.inf, np.array([np.nan, np.nan])),
    ]
    h = history.build_history(("a", "b"), [1.0, 0.7, 0.5], rec, diverged_at=2, stopped_at=None)
    assert h.layer_grad_norm.shape == (2, 2) and h.steps.dtype == np.int64
    assert h.loss.tolist() == [1.0, 0.7, 0.5] and h.total_norm_after.tolist() == [2.0, np.inf]
    assert h.diverged_at == 2 and h.final_loss == 0.5
    empty = history.build_history(("a",), [], [])
    assert empty.layer_grad_norm.shape == (0, 1) and empty.diverged_at is None


def test_skipped_steps_and_a_loss_that_starts_later():
    rec = [gw.StepRecord(s, 1.0, np.array([1.0]), 1.0, 1.0, np.array([np.nan])) for s in (7, 8, 9)]
    h = history.build_history(("a",), [0.5, 0.4, 0.3], rec, skipped=[np.int64(8)], loss_start=7)
    assert h.skipped == (8,) and type(h.skipped[0]) is int and h.loss_start == 7
    assert h.loss_steps.tolist() == [7, 8, 9] and h.steps.tolist() == [7, 8, 9]
    assert repr(h) == (
        "History(3 steps from step 7, 1 layers, loss 0.5 -> 0.3, finite, 1 skipped by the scaler)"
    )
    plain = history.build_history(("a",), [0.5], rec[:1])
    assert plain.skipped == () and plain.loss_start == 0 and plain.loss_steps.tolist() == [0]
    assert repr(plain) == "History(1 steps, 1 layers, loss 0.5 -> 0.5, finite)"
    trained = gw.train(gw.build_mlp(2, in_features=1), torch.randn(8, 1), torch.randn(8, 1), steps=2, lr=0.1)
    assert trained.skipped == () and trained.loss_start == 0
