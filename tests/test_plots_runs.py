"""gradwidgets.plots.runs: several runs on one set of axes."""

import numpy as np
import pytest
from bokeh.models import ColumnDataSource, GlyphRenderer, Legend, Line, Scatter

import gradwidgets as gw
from gradwidgets.plots.runs import curves_columns, curves_figure, plot_curves, plot_losses


def test_curves_columns_keep_values_and_drop_what_the_axis_cannot_show():
    cols = curves_columns([0, 1, 2, 3], [1.0, 0.0, np.inf, -2.0])
    np.testing.assert_array_equal(cols["value"], [1.0, 0.0, np.inf, -2.0])
    np.testing.assert_array_equal(cols["y"], [1.0, np.nan, np.nan, np.nan])
    linear = curves_columns([0, 1, 2, 3], [1.0, 0.0, np.nan, -2.0], log_y=False)
    np.testing.assert_array_equal(linear["y"], [1.0, 0.0, np.nan, -2.0])
    with pytest.raises(ValueError, match="same length"):
        curves_columns([0, 1], [1.0])


def test_one_line_per_curve_with_its_label():
    fig = plot_curves({"a": ([0, 1], [1, 2]), "b": ([0, 1], [3, 4])}, "t", "x", "y")
    lines = [r for r in fig.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, Line)]
    assert len(lines) == 2
    # and a dot per point, so a run of one step (diverged at once) still shows
    assert sum(isinstance(r.glyph, Scatter) for r in fig.renderers) == 2
    legend = next(obj for obj in fig.above if isinstance(obj, Legend))
    assert [item.label.value for item in legend.items] == ["a", "b"]
    np.testing.assert_array_equal(lines[1].data_source.data["value"], [3, 4])


def test_curves_figure_checks_its_arguments():
    src = ColumnDataSource(curves_columns([0], [1.0]))
    with pytest.raises(ValueError, match="one label per source"):
        curves_figure([src], ["a", "b"], "t", "x", "y")
    with pytest.raises(ValueError, match="1 to"):
        curves_figure([src] * 8, list("abcdefgh"), "t", "x", "y")


def test_plot_losses_draws_each_history(regression):
    runs = {
        lr: gw.train(gw.build_mlp(2, in_features=1), regression.X, regression.y, 4, lr) for lr in (0.01, 0.1)
    }
    fig = plot_losses({f"lr {lr}": h for lr, h in runs.items()})
    lines = [r for r in fig.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, Line)]
    for line, h in zip(lines, runs.values(), strict=True):
        np.testing.assert_array_equal(line.data_source.data["value"], h.loss)
