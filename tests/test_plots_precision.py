"""gradwidgets.plots.precision: columns hold the lessons' numbers; figures bind to them."""

import numpy as np
import pytest
from bokeh.embed import json_item

import gradwidgets as gw
from gradwidgets.lessons import fp16_gradients, train_mixed
from gradwidgets.plots.precision import (
    ZONES,
    fp16_histogram_columns,
    fp16_layers_columns,
    plot_fp16_gradients,
    plot_scaling,
    scaling_columns,
)


def test_zones_are_fp16s_limits():
    assert [z[1] for z in ZONES[:3]] == [-25.0, -14.0, pytest.approx(np.log2(65504))]


def test_fp16_columns_and_figure(spirals):
    model = gw.build_mlp(4, width=8, activation="sigmoid", out_features=2)
    grads = fp16_gradients(model, spirals.X, spirals.y, scale=4.0, loss="cross_entropy")
    hist = fp16_histogram_columns(grads)
    counts, _ = np.histogram(grads.log2_abs + 2, np.arange(-40, 41))
    np.testing.assert_allclose(hist["share"], counts / counts.sum())
    layers = fp16_layers_columns(grads)
    np.testing.assert_array_equal(layers["zero"], grads.zero)
    assert layers["layer"].tolist() == [1, 2, 3, 4]
    assert json_item(plot_fp16_gradients(grads))


def test_scaling_columns_mark_the_skipped_steps(spirals):
    run = train_mixed(gw.build_mlp(3, width=8, activation="sigmoid", out_features=2), spirals.X, spirals.y, 6,
                      0.01, "float16", "dynamic", 2.0**30, loss="cross_entropy")  # fmt: skip
    cols = scaling_columns(run)
    np.testing.assert_array_equal(cols["skipped"]["x"], run.skipped)
    np.testing.assert_array_equal(cols["skipped"]["y"], run.scale[list(run.skipped)])
    np.testing.assert_array_equal(cols["reference"]["value"], run.loss)
    assert json_item(plot_scaling(run))
