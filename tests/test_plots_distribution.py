"""gradwidgets.plots.distribution: activation mean ± std, saturated and dead fractions per layer."""

import dataclasses

import numpy as np
import pytest
from bokeh.models import ColumnDataSource, HoverTool, Text, VBar
from test_plots import _check_columns, _fields, _glyph_renderers, _plots

import gradwidgets as gw
from gradwidgets import plots
from gradwidgets.plots.distribution import (
    NO_BARS,
    activation_distribution_columns,
    activation_distribution_figure,
    plot_activation_distribution,
)
from gradwidgets.plots.theme import BLACK, ORANGE


@pytest.fixture(scope="module")
def profile():
    d = gw.make_dataset("spirals", 64)
    return gw.gradient_profile(gw.build_mlp(4), d.X, d.y.float())


def test_band_is_mean_plus_minus_std_and_broken_layers_get_a_marker_above_it(profile):
    mean = np.array([0.1, np.nan, -0.2, 0.0])
    std = np.array([0.5, 0.3, np.inf, 0.25])
    cols = activation_distribution_columns(dataclasses.replace(profile, act_mean=mean, act_std=std))
    np.testing.assert_allclose(cols["upper"], [0.6, np.nan, np.nan, 0.25])
    np.testing.assert_allclose(cols["lower"], [-0.4, np.nan, np.nan, -0.25])
    span = 0.6 - (-0.4)
    np.testing.assert_allclose(cols["y_bad"], [np.nan, 0.6 + 0.15 * span, 0.6 + 0.15 * span, np.nan])
    np.testing.assert_array_equal(cols["layer"], [1, 2, 3, 4])
    assert list(cols["name"]) == list(profile.layer_names)


def test_figure_has_shared_layers_and_fixed_fraction_axis(profile):
    source = ColumnDataSource(activation_distribution_columns(profile))
    top, bottom = activation_distribution_figure(source).children
    assert top.x_range is bottom.x_range and (bottom.y_range.start, bottom.y_range.end) == (0, 1)
    assert "saturated" in bottom.title.text.lower() and "dead" in bottom.title.text.lower()
    bars = [r.glyph for r in bottom.renderers if isinstance(r.glyph, VBar)]
    assert [(g.top, g.fill_color) for g in bars] == [("saturation", ORANGE), ("dead", BLACK)]
    # when no unit is saturated or dead, the bars and their legend draw nothing: the note says why
    [note] = [r.glyph for r in bottom.renderers if isinstance(r.glyph, Text)]
    assert note.text == "note" and note.y == 0.5 and note.x == "layer"
    hover = bottom.select_one({"type": HoverTool})
    assert ("saturated", "@saturation{0.0%}") in hover.tooltips


def test_plot_and_face_are_this_module(profile):
    layout = plot_activation_distribution(profile)
    source = layout.children[0].renderers[0].data_source
    np.testing.assert_array_equal(source.data["mean"], profile.act_mean)
    assert plots.plot_activation_distribution is plot_activation_distribution
    assert plots.activation_distribution_columns is activation_distribution_columns


def test_activation_distribution_columns(profile, nan_profile):
    cols = plots.activation_distribution_columns(profile)
    _check_columns(cols)
    np.testing.assert_array_equal(cols["mean"], profile.act_mean)
    np.testing.assert_allclose(cols["lower"], profile.act_mean - profile.act_std)
    np.testing.assert_allclose(cols["upper"], profile.act_mean + profile.act_std)
    np.testing.assert_array_equal(cols["saturation"], profile.saturation)
    np.testing.assert_array_equal(cols["dead"], profile.dead_fraction)
    assert np.isnan(cols["y_bad"]).all()
    bad = plots.activation_distribution_columns(nan_profile)
    broken = ~np.isfinite(nan_profile.act_mean)
    assert broken.any() and np.isfinite(bad["y_bad"][broken]).all()
    assert (bad["y_bad"][broken] > np.nanmax(bad["upper"])).all()


def test_activation_distribution_figure(profile):
    source = ColumnDataSource(plots.activation_distribution_columns(profile))
    layout = plots.activation_distribution_figure(source)
    top, bottom = _plots(layout)
    assert top.x_range is bottom.x_range
    assert (bottom.y_range.start, bottom.y_range.end) == (0, 1)  # fractions: a fixed range
    assert all(r.data_source is source for r in _glyph_renderers(layout))
    fields = {f for r in _glyph_renderers(layout) for f in _fields(r)}
    assert {"lower", "upper", "mean", "saturation", "dead", "y_bad"} <= fields


@pytest.mark.parametrize(
    ("saturation", "dead", "said"),
    [
        ([0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], NO_BARS["none"]),
        ([0.0, np.nan, 0.0, 0.0], [np.nan, 0.0, 0.0, 0.0], NO_BARS["none"]),  # known ones all 0
        ([np.nan] * 4, [np.nan] * 4, NO_BARS["unmeasured"]),
        ([0.0, 0.0, 0.3, 0.0], [0.0, 0.0, 0.0, 0.0], None),  # a bar is drawn: no note
        ([0.0, 0.0, 0.0, 0.0], [0.0, 0.01, 0.0, 0.0], None),
    ],
)
def test_the_frame_says_why_when_it_draws_no_bar(profile, saturation, dead, said):
    cols = activation_distribution_columns(
        dataclasses.replace(profile, saturation=np.array(saturation), dead_fraction=np.array(dead))
    )
    if said is None:
        assert list(cols["note"]) == ["", "", "", ""]
    else:  # at the middle layer, where the text glyph centers it in the frame
        assert list(cols["note"]) == ["", said, "", ""]


def test_the_note_follows_a_real_profile(profile):
    cols = activation_distribution_columns(profile)
    drawn = np.any(np.isfinite(cols["saturation"]) & (cols["saturation"] > 0)) or np.any(cols["dead"] > 0)
    assert (set(cols["note"]) == {""}) == bool(drawn)
