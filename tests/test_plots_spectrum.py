"""gradwidgets.plots.spectrum: the Jacobian-spectrum columns and figure, against the spectrum they show."""

import numpy as np
import pytest
from bokeh.core.property.vectorization import Field
from bokeh.embed import json_item
from bokeh.models import ColumnDataSource, GlyphRenderer, HoverTool, LogScale, Span

from gradwidgets import plots
from gradwidgets.explorers import spectrum as spectrum_explorer
from gradwidgets.lessons import JacobianSpectrum
from gradwidgets.plots.spectrum import plot_spectrum, spectrum_columns, spectrum_figure
from gradwidgets.plots.theme import LEGEND_ROW, PALETTE, TOOLS


@pytest.fixture
def spectrum():
    """Three layers from layer 4; the product at layer 5 has a zero singular value."""
    return JacobianSpectrum(
        layer_values=(np.array([2.0, 0.5]), np.array([3.0, 1.0]), np.array([0.5, 0.25])),
        product_values=(np.array([3.0, 0.1]), np.array([1.5, 0.0]), np.array([0.5, 0.25])),
        gradient_gain=np.array([0.2, 0.4, 0.3]),
        first_layer=4,
    )


def test_cloud_holds_every_nonzero_singular_value_at_its_layer(spectrum):
    cloud = spectrum_columns(spectrum)["cloud"]
    np.testing.assert_array_equal(cloud["layer"], [4, 4, 5, 6, 6])
    np.testing.assert_array_equal(cloud["sigma"], [3.0, 0.1, 1.5, 0.5, 0.25])
    assert cloud["layer"].dtype == np.float64


def test_lines_hold_the_extremes_the_bound_and_the_gain(spectrum):
    lines = spectrum_columns(spectrum)["lines"]
    np.testing.assert_array_equal(lines["layer"], [4, 5, 6])
    np.testing.assert_array_equal(lines["smax"], [3.0, 1.5, 0.5])
    np.testing.assert_array_equal(lines["smin"], [0.1, np.nan, 0.25])  # 0 cannot go on a log axis
    np.testing.assert_allclose(lines["srms"], spectrum.sigma_rms)
    np.testing.assert_allclose(lines["bound"], [2.0 * 3.0 * 0.5, 3.0 * 0.5, 0.5])  # ∏ σmax(J_k), k >= l
    np.testing.assert_array_equal(lines["gain"], [0.2, 0.4, 0.3])
    np.testing.assert_array_equal(lines["one"], [1, 1, 1])
    assert len({len(v) for v in lines.values()}) == 1


def test_without_a_gradient_the_gain_is_nan(spectrum):
    bare = JacobianSpectrum(spectrum.layer_values, spectrum.product_values, first_layer=4)
    assert np.isnan(spectrum_columns(bare)["lines"]["gain"]).all()


def test_figure_binds_both_sources_on_a_log_axis(spectrum):
    cols = spectrum_columns(spectrum)
    cloud, lines = ColumnDataSource(cols["cloud"]), ColumnDataSource(cols["lines"])
    fig = spectrum_figure(cloud, lines)
    assert isinstance(fig.y_scale, LogScale)
    renderers = [r for r in fig.renderers if isinstance(r, GlyphRenderer)]
    bound = {
        (id(r.data_source), v.field)
        for r in renderers
        for v in r.glyph.properties_with_values(include_defaults=False).values()
        if isinstance(v, Field)
    }
    fields = {f for _, f in bound}
    assert {"sigma", "smax", "srms", "smin", "bound", "gain", "one"} <= fields
    assert {s for s, _ in bound} == {id(cloud), id(lines)}
    assert any(isinstance(a, Span) and a.location == 1.0 for a in fig.center)  # 1 marked
    assert "@gain{%.3e}" in str(fig.select_one({"type": HoverTool}).tooltips)
    assert [type(t).__name__ for t in fig.toolbar.tools][:5] == [
        "PanTool",
        "WheelZoomTool",
        "BoxZoomTool",
        "ResetTool",
        "SaveTool",
    ]
    assert TOOLS == "pan,wheel_zoom,box_zoom,reset,save"
    colors = {r.glyph.line_color for r in renderers if r.glyph.line_color is not None}
    assert colors <= set(PALETTE)


def test_plot_spectrum_serializes_and_replacing_data_keeps_it_valid(spectrum):
    fig = plot_spectrum(spectrum)
    json_item(fig)
    rows = -(-len(fig.legend[0].items) // fig.legend[0].ncols)  # wrapped to a phone's width
    assert fig.sizing_mode == "stretch_width" and fig.height == 380 + (rows - 1) * LEGEND_ROW
    cloud = next(r.data_source for r in fig.renderers if "sigma" in r.data_source.data)
    cloud.data = {"layer": np.zeros(0), "sigma": np.zeros(0)}  # another spectrum's (empty) cloud
    json_item(fig)


def test_the_face_and_the_explorer_use_these_functions():
    assert plots.spectrum_columns is spectrum_columns and plots.spectrum_figure is spectrum_figure
    assert plots.plot_spectrum is plot_spectrum
    assert spectrum_explorer.spectrum_columns is spectrum_columns
    assert spectrum_explorer.spectrum_figure is spectrum_figure
