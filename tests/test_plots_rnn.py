"""gradwidgets.plots.rnn: ||dL/dh_t|| per time step of a recurrent profile, on a log axis."""

import dataclasses

import numpy as np
import pytest
from bokeh.models import ColumnDataSource, LogScale
from test_plots import _check_columns
from test_plots_base import _assert_log_figure

import gradwidgets as gw
from gradwidgets import plots
from gradwidgets.plots.rnn import plot_rnn_time_norms, rnn_time_norms_columns, rnn_time_norms_figure
from gradwidgets.plots.theme import BLUE, VERMILLION


@pytest.fixture(scope="module")
def profile():
    d = gw.make_dataset("spirals", 64)
    return gw.gradient_profile(gw.build_mlp(3), d.X, d.y.float())


@pytest.fixture(scope="module")
def rnn_profile():
    d = gw.make_dataset("adding", 32, seq_len=20)
    return gw.gradient_profile(gw.build_rnn(spectral_radius=1.5), d.X, d.y)


def test_each_time_step_lands_where_a_log_axis_can_show_it(profile):
    rnn = dataclasses.replace(profile, time_grad_norm=np.array([1e-2, 0.0, np.nan, 1e4]))
    cols = rnn_time_norms_columns(rnn)
    np.testing.assert_array_equal(cols["t"], [1, 2, 3, 4])
    np.testing.assert_array_equal(cols["y"], [1e-2, np.nan, np.nan, 1e4])
    assert np.isnan(cols["y_zero"][[0, 2, 3]]).all() and cols["y_zero"][1] < 1e-2  # 0: at the bottom
    assert np.isnan(cols["y_bad"][[0, 1, 3]]).all() and cols["y_bad"][2] > 1e4  # NaN: at the top


def test_a_profile_without_time_steps_is_refused(profile):
    with pytest.raises(ValueError, match="no time_grad_norm"):
        rnn_time_norms_columns(profile)


def test_figure_draws_t_on_a_log_axis_in_the_theme_colors(profile):
    source = ColumnDataSource(rnn_time_norms_columns(dataclasses.replace(profile, time_grad_norm=[1.0, 2.0])))
    fig = rnn_time_norms_figure(source)
    assert isinstance(fig.y_scale, LogScale) and fig.xaxis[0].axis_label.startswith("time step t")
    glyphs = [r.glyph for r in fig.renderers if r.data_source is source]
    assert {g.x for g in glyphs} == {"t"}
    line = next(g for g in glyphs if type(g).__name__ == "Line")
    bad = next(g for g in glyphs if getattr(g, "y", None) == "y_bad")
    assert (line.line_color, bad.line_color) == (BLUE, VERMILLION)


def test_plot_and_face_are_this_module(profile):
    fig = plot_rnn_time_norms(dataclasses.replace(profile, time_grad_norm=[3.0]))
    assert fig.renderers[0].data_source.data["value"].tolist() == [3.0]
    assert (
        plots.plot_rnn_time_norms is plot_rnn_time_norms
        and plots.rnn_time_norms_figure is rnn_time_norms_figure
    )


def test_rnn_time_norms(rnn_profile, profile):
    cols = plots.rnn_time_norms_columns(rnn_profile)
    _check_columns(cols)
    np.testing.assert_array_equal(cols["value"], rnn_profile.time_grad_norm)
    np.testing.assert_array_equal(cols["t"], np.arange(1, 21))
    source = ColumnDataSource(cols)
    _assert_log_figure(plots.rnn_time_norms_figure(source), source)
    with pytest.raises(ValueError, match="profile has no time_grad_norm; build it with gradient_profile"):
        plots.rnn_time_norms_columns(profile)
