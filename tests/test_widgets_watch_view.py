"""watch() in a notebook: the live view follows the user's own loop; hooks go on close."""

import numpy as np
import pytest
import torch
from bokeh.models import Legend

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


def test_a_window_shows_the_loss_at_its_own_steps(monkeypatch, regression):
    monkeypatch.setattr(watch_view, "REDRAW_INTERVAL", 0.0)
    model = gw.build_mlp(2, in_features=1)
    w = gw.watch(model, live=True, window=3)
    _loop(model, w, 7, regression)
    w.close()
    history = w.history()
    assert history.steps.tolist() == [4, 5, 6] and history.loss_start == 4
    np.testing.assert_array_equal(w.view.sources["loss"].data["step"], [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(w.view.sources["norms"].data["rec_step"], [4.0, 5.0, 6.0])
    assert "(showing those from step 4)" in w.view.status.value


def test_a_scaler_is_passed_on_and_its_skips_shown(monkeypatch, regression):
    monkeypatch.setattr(watch_view, "REDRAW_INTERVAL", 0.0)
    model = gw.build_mlp(2, in_features=1)
    scaler = torch.amp.GradScaler("cpu", init_scale=4.0)
    w = gw.watch(model, live=True, scaler=scaler)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for step in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(regression.X), regression.y) * (np.inf if step == 1 else 1)
        scaler.scale(loss).backward()
        w.log_loss(loss)
        scaler.step(opt)
        scaler.update()
    w.close()
    assert w.history().skipped == (1,) and w.history().diverged_at is None
    assert "1 skipped by the scaler" in w.view.status.value
    with pytest.raises(ValueError, match=r"^window=0 is not allowed"):
        gw.watch(model, live=True, window=0)
    assert all(not p._post_accumulate_grad_hooks for p in model.parameters())


def test_no_hook_is_left_when_the_view_or_its_display_fails(monkeypatch):
    model = gw.build_mlp(2, in_features=1)

    def broken(history):
        raise ImportError("no widgets here")

    monkeypatch.setattr(watch_view, "WatchView", broken)
    with pytest.raises(ImportError, match="no widgets here"):
        gw.watch(model, live=True)
    assert all(not p._post_accumulate_grad_hooks for p in model.parameters())
    monkeypatch.undo()
    import IPython.display

    def refuse(*args, **kwargs):
        raise RuntimeError("no display")

    monkeypatch.setattr(IPython.display, "display", refuse)
    with pytest.raises(RuntimeError, match="no display"):
        gw.watch(model, live=True)
    assert all(not p._post_accumulate_grad_hooks for p in model.parameters())


def test_a_large_model_shows_a_row_per_block_and_no_clipping_line(monkeypatch, regression):
    monkeypatch.setattr(watch_view, "REDRAW_INTERVAL", 0.0)
    torch.manual_seed(0)
    blocks = [
        torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8)) for _ in range(40)
    ]
    model = torch.nn.Sequential(torch.nn.Linear(1, 8), *blocks, torch.nn.Linear(8, 1))  # 82 layers
    w = gw.watch(model, live=True)
    _loop(model, w, 3, regression)
    w.close()
    names = w.history().layer_names
    assert len(names) == 42 and names[1] == "1" and names[-1] == "41"  # a row per top-level block
    assert set(w.view.sources["heat"].data["name"]) == set(names)
    labels = [i.label.value for legend in w.view.layout.select({"type": Legend}) for i in legend.items]
    assert "after clipping" not in labels and "total gradient norm" in labels
    assert (
        "42 blocks of 82 layers" in repr(w)
        and "watching 42 blocks of 82 layers: 3 steps" in w.view.status.value
    )
