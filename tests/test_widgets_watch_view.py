"""watch() in a notebook: the live view follows the user's own loop; hooks go on close."""

import numpy as np
import torch

import gradwidgets as gw
from gradwidgets.plots import gradient_heatmap_columns, loss_columns
from gradwidgets.widgets import watch_view


def _loop(model, w, steps, data):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(data.X), data.y)
        loss.backward()
        w.log_loss(loss)
        opt.step()


def test_live_view_redraws_from_the_records(monkeypatch, regression):
    monkeypatch.setattr(watch_view, "REDRAW_INTERVAL", 0.0)
    model = gw.build_mlp(4, in_features=1)
    w = gw.watch(model, live=True)
    assert isinstance(w, watch_view.LiveWatch)
    _loop(model, w, 6, regression)
    w.close()
    history = w.history()
    heat = w.view.sources["heat"].data
    np.testing.assert_array_equal(heat["value"], gradient_heatmap_columns(history)["value"])
    np.testing.assert_array_equal(w.view.sources["loss"].data["loss"], loss_columns(history)["loss"])
    assert len(history.loss) == 6 and history.layer_grad_norm.shape == (6, 4)
    assert "6 steps" in w.view.status.value
    assert all(not p._post_accumulate_grad_hooks for p in model.parameters())


def test_not_live_outside_a_notebook_or_while_baking(monkeypatch, regression):
    model = gw.build_mlp(2, in_features=1)
    w = gw.watch(model)
    assert type(w) is gw.Watch
    w.close()
    monkeypatch.setattr(watch_view, "_in_notebook", lambda: True)
    monkeypatch.setenv("GRADWIDGETS_BAKE", "1")
    w = gw.watch(model)
    assert type(w) is gw.Watch
    w.close()
