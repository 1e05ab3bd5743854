"""gradwidgets.plots.profile: ||dL/dW|| per layer on a log axis, and two profiles A/B."""

import numpy as np
import pytest
from bokeh.embed import json_item
from bokeh.models import ColumnDataSource, HoverTool, LogScale
from test_plots import _check_columns, _fields
from test_plots_base import _assert_log_figure

from gradwidgets import plots


def test_gradient_norm_columns_equal_the_profile(profile):
    cols = plots.gradient_norms_columns(profile)
    _check_columns(cols)
    np.testing.assert_array_equal(cols["value"], profile.weight_grad_norm)
    np.testing.assert_array_equal(cols["y"], profile.weight_grad_norm)  # all finite and > 0 here
    np.testing.assert_array_equal(cols["act_grad"], profile.act_grad_norm)
    np.testing.assert_array_equal(cols["ratio"], profile.grad_to_weight)
    np.testing.assert_array_equal(cols["layer"], np.arange(1, 7))
    assert list(cols["name"]) == list(profile.layer_names)
    assert np.isnan(cols["y_bad"]).all() and np.isnan(cols["y_zero"]).all()


def test_nan_weight_gives_a_marker_not_a_gap(nan_profile):
    cols = plots.gradient_norms_columns(nan_profile)
    bad = ~np.isfinite(nan_profile.weight_grad_norm)
    assert bad[2]  # the poisoned layer, at least
    assert np.isnan(cols["y"][bad]).all()
    assert np.isfinite(cols["y_bad"][bad]).all() and np.isnan(cols["y_bad"][~bad]).all()
    fig = plots.gradient_norms_figure(ColumnDataSource(cols))
    bound = [r for r in fig.renderers if getattr(r.glyph, "y", None) == "y_bad"]
    assert bound and bound[0].glyph.marker == "x"
    labels = [item.label["value"] for item in fig.legend[0].items]
    assert any("non-finite" in label for label in labels)


def test_gradient_norms_figure(profile):
    source = ColumnDataSource(plots.gradient_norms_columns(profile))
    fig = plots.gradient_norms_figure(source)
    _assert_log_figure(fig, source)
    hovers = fig.select({"type": HoverTool})
    assert any("@name" in str(h.tooltips) and "@value" in str(h.tooltips) for h in hovers)
    assert {"y", "y_bad", "y_zero"} <= {f for r in fig.renderers for f in _fields(r)}


def test_compare_figure_draws_both_sources_in_two_colors(profile, nan_profile):
    a = ColumnDataSource(plots.gradient_norms_columns(profile))
    b = ColumnDataSource(plots.gradient_norms_columns(nan_profile))
    fig = plots.compare_figure(a, b, labels=("tanh", "poisoned"))
    assert isinstance(fig.y_scale, LogScale)
    assert {id(r.data_source) for r in fig.renderers} == {id(a), id(b)}
    colors = {
        src: {r.glyph.line_color for r in fig.renderers if r.data_source is src} - {None} for src in (a, b)
    }
    assert len(colors[a]) == 1 and len(colors[b]) == 1 and colors[a] != colors[b]
    labels = [item.label["value"] for item in fig.legend[0].items]
    assert "tanh" in labels and "poisoned" in labels
    with pytest.raises(ValueError, match="two labels"):
        plots.compare_figure(a, b, labels=("only one",))


def test_replacing_source_data_keeps_the_figure_valid(profile, nan_profile):
    source = ColumnDataSource(plots.gradient_norms_columns(profile))
    fig = plots.gradient_norms_figure(source)
    source.data = plots.gradient_norms_columns(nan_profile)
    json_item(fig)
