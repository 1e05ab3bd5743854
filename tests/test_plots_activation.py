"""gradwidgets.plots.activation: an activation function, its slope and a pre-activation histogram."""

import numpy as np
import pytest
import torch
from bokeh.models import ColumnDataSource
from test_plots import _check_columns, _fields, _glyph_renderers, _plots

import gradwidgets as gw
from gradwidgets import plots


@pytest.mark.parametrize("name", list(gw.ACTIVATIONS))
def test_activation_curve_matches_the_registry(name):
    act = gw.ACTIVATIONS[name]
    cols = plots.activation_curve_columns(act)
    _check_columns(cols)
    z = torch.tensor(cols["z"])
    assert cols["z"][0] == -6 and cols["z"][-1] == 6
    np.testing.assert_allclose(cols["df"], act.derivative(z).numpy())
    np.testing.assert_allclose(cols["f"], act(z).numpy())
    np.testing.assert_array_equal(
        cols["saturated"], cols["df"] < gw.SATURATION_THRESHOLD * act.max_derivative
    )
    assert (cols["df_max"] == act.max_derivative).all()
    # independently: the derivative column is the slope of the function column (away from kinks)
    slope = np.gradient(cols["f"], cols["z"])
    smooth = np.abs(cols["z"]) > 0.05
    np.testing.assert_allclose(slope[smooth][1:-1], cols["df"][smooth][1:-1], atol=2e-3)


def test_activation_curve_accepts_a_name():
    np.testing.assert_array_equal(
        plots.activation_curve_columns("tanh")["df"],
        plots.activation_curve_columns(gw.ACTIVATIONS["tanh"])["df"],
    )


def test_preactivation_histogram():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 2, 1000), [50.0, -np.inf, np.nan]])
    cols = plots.preactivation_hist_columns(z, bins=30)
    _check_columns(cols)
    assert len(cols["left"]) == 30 and cols["density"].max() == 1.0
    assert cols["count"].sum() == 1002  # the nan dropped, the far values kept in the end bins
    np.testing.assert_allclose(cols["density"], cols["count"] / cols["count"].max())
    np.testing.assert_array_equal(cols["right"][:-1], cols["left"][1:])
    assert cols["beyond"][0] >= 1 and cols["beyond"][-1] >= 1 and cols["beyond"][1:-1].sum() == 0
    assert cols["hatch"][0] == "/" and cols["hatch"][15] == " "
    empty = plots.preactivation_hist_columns(None)
    assert all(len(v) == 0 for v in empty.values()) and set(empty) == set(cols)


def test_activation_figure():
    curve = ColumnDataSource(plots.activation_curve_columns("sigmoid"))
    hist = ColumnDataSource(plots.preactivation_hist_columns(np.random.default_rng(0).normal(0, 3, 500)))
    layout = plots.activation_figure(curve, hist)
    figs = _plots(layout)
    assert len(figs) == 2 and figs[0].x_range is figs[1].x_range
    assert (figs[0].x_range.start, figs[0].x_range.end) == (-6, 6)
    assert {id(r.data_source) for r in _glyph_renderers(layout)} == {id(curve), id(hist)}
    fields = {f for r in _glyph_renderers(layout) for f in _fields(r)}
    assert {"f", "df", "df_max", "saturated", "density"} <= fields
    dashed = [r for r in figs[1].renderers if getattr(r.glyph, "y", None) == "df_max"]
    assert dashed and dashed[0].glyph.line_dash == [6]
    # the derivative's y range follows the curves only, not the 0..1 histogram
    assert set(figs[1].y_range.renderers) <= {r for r in figs[1].renderers if r.data_source is curve}
