"""gradwidgets.plots.heatmap: log10 ||dL/dW|| per layer and recorded step on a fixed color scale."""

import dataclasses

import numpy as np
import pytest
from bokeh.models import ColorBar, ColumnDataSource, HoverTool, LinearColorMapper
from test_plots import _check_columns

import gradwidgets as gw
from gradwidgets import plots
from gradwidgets.plots.heatmap import (
    HEATMAP_HIGH,
    HEATMAP_LOW,
    gradient_heatmap_columns,
    gradient_heatmap_figure,
    plot_gradient_heatmap,
)
from gradwidgets.plots.theme import PALETTE, VERMILLION


@pytest.fixture(scope="module")
def history():
    d = gw.make_dataset("spirals", 64)
    return gw.train(gw.build_mlp(3), d.X, d.y.float(), steps=8, lr=0.1, record_every=2)


@pytest.fixture(scope="module")
def clipped_history():
    d = gw.make_dataset("spirals", 128)
    return gw.train(gw.build_mlp(4), d.X, d.y.float(), steps=30, lr=0.1, clip_norm=0.05, record_every=3)


def test_cells_go_record_by_record_with_log10_of_each_norm(history):
    norms = np.array([[1.0, 100.0, 0.0], [np.inf, 1e-3, 10.0]])
    h = dataclasses.replace(
        history, layer_grad_norm=norms, steps=np.array([0, 4]), layer_names=["a", "b", "c"]
    )
    cols = gradient_heatmap_columns(h)
    np.testing.assert_array_equal(cols["step"], [0, 0, 0, 4, 4, 4])
    np.testing.assert_array_equal(cols["layer"], [1, 2, 3, 1, 2, 3])
    assert list(cols["name"]) == ["a", "b", "c"] * 2
    np.testing.assert_array_equal(cols["log10_norm"], [0, 2, -np.inf, np.nan, -3, 1])
    np.testing.assert_array_equal(cols["width"], np.full(6, 4.0))  # the spacing of recorded steps


def test_a_single_record_gets_unit_width(history):
    h = dataclasses.replace(
        history, layer_grad_norm=np.ones((1, 2)), steps=np.array([7]), layer_names=["a", "b"]
    )
    np.testing.assert_array_equal(gradient_heatmap_columns(h)["width"], [1.0, 1.0])


def test_figure_colors_cells_on_the_fixed_scale(history):
    source = ColumnDataSource(gradient_heatmap_columns(history))
    fig = gradient_heatmap_figure(source)
    mapper = fig.select_one({"type": LinearColorMapper})
    assert (mapper.low, mapper.high, mapper.nan_color) == (HEATMAP_LOW, HEATMAP_HIGH, VERMILLION)
    (cells,) = fig.renderers
    assert cells.data_source is source and cells.glyph.fill_color.field == "log10_norm"


def test_plot_and_face_are_this_module(history):
    fig = plot_gradient_heatmap(history)
    np.testing.assert_array_equal(
        fig.renderers[0].data_source.data["value"], history.layer_grad_norm.reshape(-1)
    )
    assert plots.HEATMAP_LOW is HEATMAP_LOW and plots.gradient_heatmap_figure is gradient_heatmap_figure


def test_heatmap_columns(clipped_history):
    cols = plots.gradient_heatmap_columns(clipped_history)
    _check_columns(cols)
    records, layers = clipped_history.layer_grad_norm.shape
    assert len(cols["step"]) == records * layers
    np.testing.assert_allclose(cols["log10_norm"], np.log10(clipped_history.layer_grad_norm).reshape(-1))
    np.testing.assert_array_equal(cols["value"].reshape(records, layers), clipped_history.layer_grad_norm)
    k = layers + 2  # second record, third layer
    assert cols["step"][k] == clipped_history.steps[1] and cols["layer"][k] == 3
    assert cols["name"][k] == clipped_history.layer_names[2]
    assert (cols["width"] == 3).all()


def test_heatmap_non_finite_cells(diverged):
    cols = plots.gradient_heatmap_columns(diverged)
    v = diverged.layer_grad_norm.reshape(-1)
    assert np.isnan(cols["log10_norm"][~np.isfinite(v)]).all()


def test_heatmap_figure_has_a_fixed_color_scale(clipped_history):
    source = ColumnDataSource(plots.gradient_heatmap_columns(clipped_history))
    fig = plots.gradient_heatmap_figure(source)
    mapper = fig.select_one({"type": LinearColorMapper})
    assert (mapper.low, mapper.high) == (plots.HEATMAP_LOW, plots.HEATMAP_HIGH) == (-8, 4)
    assert mapper.nan_color in PALETTE
    # above, not right: the frame keeps the width of the training plots stacked above it
    assert any(isinstance(a, ColorBar) for a in fig.above) and not fig.right
    assert all(r.data_source is source for r in fig.renderers)
    assert any("@name" in str(h.tooltips) for h in fig.select({"type": HoverTool}))
