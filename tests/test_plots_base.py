"""gradwidgets.plots.base: the log-scale columns and the log-scale figure the plots share."""

import dataclasses

import numpy as np
import pytest
from bokeh.models import BoxAnnotation, ColumnDataSource, Label, LogScale

from gradwidgets import plots
from gradwidgets.plots.base import _LOG_HEIGHT, _log_columns, _log_figure, _log_series, _pow10
from gradwidgets.plots.theme import BLUE, VERMILLION, style


@pytest.fixture(scope="module")
def mixed_profile(profile):
    """One layer of each kind a log axis must handle: normal, nan, inf, exactly 0, huge."""
    return dataclasses.replace(profile, weight_grad_norm=np.array([1e-3, np.nan, np.inf, 0.0, 1e5, 2e-9]))


def _num(x):
    return x if isinstance(x, float) else None


def _assert_log_figure(fig, source):
    assert isinstance(fig.y_scale, LogScale)
    assert fig.sizing_mode == "stretch_width"
    assert fig.toolbar.logo is None
    boxes = [a for a in fig.center if isinstance(a, BoxAnnotation)]
    zones = {(_num(b.bottom), _num(b.top)) for b in boxes}  # an open side is a Node: the frame edge
    assert zones == {(None, plots.VANISHING_BELOW), (plots.EXPLODING_ABOVE, None)}
    for r in fig.renderers:
        assert r.data_source is source


def test_log_columns_put_each_unplottable_value_where_it_shows(mixed_profile):
    cols = plots.gradient_norms_columns(mixed_profile)
    v = mixed_profile.weight_grad_norm
    shown = np.isfinite(v) & (v > 0)
    np.testing.assert_array_equal(cols["y"][shown], v[shown])
    assert np.isnan(cols["y"][~shown]).all()
    # non-finite: above every finite value and inside the exploding zone
    top = cols["y_bad"][~np.isfinite(v)]
    assert (top > np.nanmax(cols["y"])).all() and (top > plots.EXPLODING_ABOVE).all()
    # exactly zero: below every finite value and inside the vanishing zone
    assert np.isnan(cols["y_zero"][[0, 1, 2, 4, 5]]).all()
    assert cols["y_zero"][3] < np.nanmin(cols["y"]) and cols["y_zero"][3] < plots.VANISHING_BELOW
    # both zone thresholds stay inside the auto-range
    assert (cols["zone_lo"] < plots.VANISHING_BELOW).all() and (cols["zone_hi"] > plots.EXPLODING_ABOVE).all()


def test_a_log_figure_shades_and_names_both_zones_in_powers_of_ten():
    assert (_pow10(1e-6), _pow10(1e3), _pow10(2.5)) == ("10⁻⁶", "10³", "2.5")
    source = ColumnDataSource({"x": np.array([1.0, 2.0, 3.0]), **_log_columns([0.5, 0.0, np.nan])})
    fig = style(_log_figure("title", "x", "norm"), height=_LOG_HEIGHT)
    line, _dots, bad, zero = _log_series(fig, source, "x", BLUE, VERMILLION)
    _assert_log_figure(fig, source)
    labels = {a.text: a for a in fig.center if isinstance(a, Label)}
    assert sorted(labels) == ["exploding: above 10³", "vanishing: below 10⁻⁶"]
    # in the right-hand corners: exploding on its zone's edge, vanishing at the frame's bottom,
    # off a line that crosses 10⁻⁶ near the right (the data rises toward the output's end)
    exploding, vanishing = labels["exploding: above 10³"], labels["vanishing: below 10⁻⁶"]
    assert exploding.y == plots.EXPLODING_ABOVE and exploding.text_baseline == "bottom"
    assert (vanishing.y.target, vanishing.y.symbol, vanishing.text_baseline) == ("frame", "bottom", "bottom")
    assert all((a.x.target, a.x.symbol, a.text_align) == ("frame", "right", "right") for a in labels.values())
    assert (line.glyph.y, bad.glyph.y, zero.glyph.y) == ("y", "y_bad", "y_zero")
    assert bad.glyph.marker == "x" and bad.glyph.line_color == VERMILLION and line.glyph.line_color == BLUE
