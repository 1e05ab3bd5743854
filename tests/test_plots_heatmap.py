"""gradwidgets.plots.heatmap: log10 ||dL/dW|| per layer and recorded step on a fixed color scale."""

import dataclasses

import numpy as np
import pytest
from bokeh.models import ColumnDataSource, LinearColorMapper

import gradwidgets as gw
from gradwidgets import plots
from gradwidgets.plots.heatmap import (
    HEATMAP_HIGH,
    HEATMAP_LOW,
    gradient_heatmap_columns,
    gradient_heatmap_figure,
    plot_gradient_heatmap,
)
from gradwidgets.plots.theme import VERMILLION


@pytest.fixture(scope="module")
def history():
    d = gw.make_dataset("spirals", 64)
    return gw.train(gw.build_mlp(3), d.X, d.y.float(), steps=8, lr=0.1, record_every=2)


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
