"""The plots layer: columns against the dataclasses they come from, figures inspected without a browser."""

import dataclasses
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from bokeh.core.property.vectorization import Field, Value
from bokeh.embed import file_html, json_item
from bokeh.models import (
    BoxAnnotation,
    ColorBar,
    ColumnDataSource,
    GlyphRenderer,
    HoverTool,
    LabelSet,
    LinearColorMapper,
    LogScale,
    Plot,
)
from bokeh.resources import INLINE

import gradwidgets as gw
from gradwidgets import plots
from gradwidgets.plots.theme import PALETTE, style

# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def data():
    d = gw.make_dataset("spirals", 128)
    return d.X, d.y.float()


@pytest.fixture(scope="module")
def profile(data):
    return gw.gradient_profile(gw.build_mlp(6), *data)


@pytest.fixture(scope="module")
def nan_profile(data):
    model = gw.build_mlp(6)
    with torch.no_grad():
        model.hidden_linears[2].weight[0, 0] = float("nan")
    return gw.gradient_profile(model, *data)


@pytest.fixture(scope="module")
def mixed_profile(profile):
    """One layer of each kind a log axis must handle: normal, nan, inf, exactly 0, huge."""
    return dataclasses.replace(profile, weight_grad_norm=np.array([1e-3, np.nan, np.inf, 0.0, 1e5, 2e-9]))


@pytest.fixture(scope="module")
def history(data):
    return gw.train(gw.build_mlp(4), *data, steps=30, lr=0.1, clip_norm=0.05, record_every=3)


@pytest.fixture(scope="module")
def diverged():
    d = gw.make_dataset("regression", 128)
    model = gw.build_mlp(4, in_features=1, activation="relu", init="normal", init_scale=3.0)
    return gw.train(model, d.X, d.y, steps=50, lr=1.0)


@pytest.fixture(scope="module")
def rnn_profile():
    d = gw.make_dataset("adding", 32, seq_len=20)
    return gw.gradient_profile(gw.build_rnn(spectral_radius=1.5), d.X, d.y)


def _plots(obj):
    """The figures of a figure or a column, top to bottom."""
    return [obj] if isinstance(obj, Plot) else list(obj.children)


def _glyph_renderers(obj):
    return [r for p in _plots(obj) for r in p.renderers if isinstance(r, GlyphRenderer)]


def _fields(renderer):
    """Column names a glyph is bound to."""
    props = renderer.glyph.properties_with_values(include_defaults=False).values()
    return {v.field for v in props if isinstance(v, Field)} | {
        v for v in props if isinstance(v, str) and v in renderer.data_source.data
    }


def _check_columns(cols):
    lengths = {len(v) for v in cols.values()}
    assert len(lengths) <= 1, {k: len(v) for k, v in cols.items()}
    for v in cols.values():
        assert isinstance(v, np.ndarray)
        assert v.dtype == np.float64 or v.dtype == object or v.dtype.kind == "U"


def _fingerprint(obj):
    """What a figure is made of, apart from its data: glyphs, their bindings and styles, ranges."""
    out = []
    for p in _plots(obj):
        out.append((type(p.x_range).__name__, type(p.y_range).__name__, p.y_range.start, p.y_range.end))
        for r in p.renderers:
            props = r.glyph.properties_with_values(include_defaults=False)
            text = repr(sorted(props.items(), key=lambda kv: kv[0]))
            out.append((type(r.glyph).__name__, re.sub(r"id='p\d+'", "", text)))
    return out


# ---------------------------------------------------------------- 1. gradient norms


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


def test_figure_structure_does_not_depend_on_the_data(profile, nan_profile, mixed_profile):
    prints = [
        _fingerprint(plots.gradient_norms_figure(ColumnDataSource(plots.gradient_norms_columns(p))))
        for p in (profile, nan_profile, mixed_profile)
    ]
    assert prints[0] == prints[1] == prints[2]
    prints = [
        _fingerprint(plots.plot_activation_distribution(p)) for p in (profile, nan_profile, mixed_profile)
    ]
    assert prints[0] == prints[1] == prints[2]


def test_replacing_source_data_keeps_the_figure_valid(profile, nan_profile):
    source = ColumnDataSource(plots.gradient_norms_columns(profile))
    fig = plots.gradient_norms_figure(source)
    source.data = plots.gradient_norms_columns(nan_profile)
    json_item(fig)


# ---------------------------------------------------------------- 2. activation distribution


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


# ---------------------------------------------------------------- 3. activation function


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


# ---------------------------------------------------------------- 4. training curves


def test_training_columns_equal_the_history(history):
    loss, norms, div = plots.training_columns(history)
    for cols in (loss, norms, div):
        _check_columns(cols)
    np.testing.assert_array_equal(loss["loss"], history.loss)
    np.testing.assert_array_equal(loss["step"], np.arange(len(history.loss)))
    np.testing.assert_array_equal(norms["rec_step"], history.steps)
    np.testing.assert_array_equal(norms["norm_before"], history.total_norm_before)
    np.testing.assert_array_equal(norms["norm_after"], history.total_norm_after)
    assert (norms["norm_after"] <= 0.05 + 1e-6).all() and (norms["norm_before"] > 0.05).any()  # clipping
    assert history.diverged_at is None and len(div["step"]) == 0


def test_diverging_run_marks_the_step(diverged):
    assert diverged.diverged_at is not None
    div = plots.divergence_columns(diverged)
    np.testing.assert_array_equal(div["step"], [diverged.diverged_at])
    assert str(diverged.diverged_at) in div["label"][0]
    loss = plots.loss_columns(diverged)
    bad = ~np.isfinite(diverged.loss)
    assert bad.any() and np.isnan(loss["y"][bad]).all()


def test_training_figure(diverged):
    sources = [ColumnDataSource(c) for c in plots.training_columns(diverged)]
    layout = plots.training_figure(*sources)
    top, bottom = _plots(layout)
    assert top.x_range is bottom.x_range
    assert isinstance(top.y_scale, LogScale) and isinstance(bottom.y_scale, LogScale)
    assert all(f.sizing_mode == "stretch_width" for f in (top, bottom))
    ids = {id(s) for s in sources}
    assert all(id(r.data_source) in ids for r in _glyph_renderers(layout))
    for fig in (top, bottom):  # the divergence line and its label are data, not model properties
        assert any(r.data_source is sources[2] and r.glyph.x == "step" for r in fig.renderers)
        assert any(isinstance(a, LabelSet) and a.source is sources[2] for a in fig.center)


# ---------------------------------------------------------------- 5. heatmap


def test_heatmap_columns(history):
    cols = plots.gradient_heatmap_columns(history)
    _check_columns(cols)
    records, layers = history.layer_grad_norm.shape
    assert len(cols["step"]) == records * layers
    np.testing.assert_allclose(cols["log10_norm"], np.log10(history.layer_grad_norm).reshape(-1))
    np.testing.assert_array_equal(cols["value"].reshape(records, layers), history.layer_grad_norm)
    k = layers + 2  # second record, third layer
    assert cols["step"][k] == history.steps[1] and cols["layer"][k] == 3
    assert cols["name"][k] == history.layer_names[2]
    assert (cols["width"] == 3).all()


def test_heatmap_non_finite_cells(diverged):
    cols = plots.gradient_heatmap_columns(diverged)
    v = diverged.layer_grad_norm.reshape(-1)
    assert np.isnan(cols["log10_norm"][~np.isfinite(v)]).all()


def test_heatmap_figure_has_a_fixed_color_scale(history):
    source = ColumnDataSource(plots.gradient_heatmap_columns(history))
    fig = plots.gradient_heatmap_figure(source)
    mapper = fig.select_one({"type": LinearColorMapper})
    assert (mapper.low, mapper.high) == (plots.HEATMAP_LOW, plots.HEATMAP_HIGH) == (-8, 4)
    assert mapper.nan_color in PALETTE
    assert any(isinstance(a, ColorBar) for a in fig.right)
    assert all(r.data_source is source for r in fig.renderers)
    assert any("@name" in str(h.tooltips) for h in fig.select({"type": HoverTool}))


# ---------------------------------------------------------------- 6. RNN


def test_rnn_time_norms(rnn_profile, profile):
    cols = plots.rnn_time_norms_columns(rnn_profile)
    _check_columns(cols)
    np.testing.assert_array_equal(cols["value"], rnn_profile.time_grad_norm)
    np.testing.assert_array_equal(cols["t"], np.arange(1, 21))
    source = ColumnDataSource(cols)
    _assert_log_figure(plots.rnn_time_norms_figure(source), source)
    with pytest.raises(ValueError, match="profile has no time_grad_norm; build it with gradient_profile"):
        plots.rnn_time_norms_columns(profile)


# ---------------------------------------------------------------- every figure


@pytest.fixture(scope="module")
def every_figure(profile, nan_profile, history, diverged, rnn_profile):
    return {
        "norms": plots.plot_gradient_norms(profile),
        "norms_nan": plots.plot_gradient_norms(nan_profile),
        "compare": plots.plot_compare(profile, nan_profile),
        "distribution": plots.plot_activation_distribution(nan_profile),
        "activation": plots.plot_activation_function("relu", np.linspace(-10, 10, 200)),
        "activation_empty": plots.plot_activation_function("selu"),
        "training": plots.plot_training_curves(diverged),
        "training_ok": plots.plot_training_curves(history),
        "heatmap": plots.plot_gradient_heatmap(diverged),
        "rnn": plots.plot_rnn_time_norms(rnn_profile),
    }


def test_every_figure_serializes_with_inline_resources(every_figure):
    for name, obj in every_figure.items():
        json_item(obj)
        html = file_html(obj, resources=INLINE, title=name)
        assert "cdn.bokeh.org" not in html


def test_every_figure_uses_the_theme(every_figure):
    for name, obj in every_figure.items():
        assert obj.sizing_mode == "stretch_width", name
        for p in _plots(obj):
            assert p.sizing_mode == "stretch_width" and p.toolbar.logo is None, name
            assert p.xaxis[0].axis_label or p is not _plots(obj)[-1], name  # the bottom panel is labelled
            assert p.yaxis[0].axis_label, name


def _colors(model):
    """The fixed colors a model sets (mapped colors are fields, not fixed)."""
    for key, v in model.properties_with_values(include_defaults=False).items():
        v = v.value if isinstance(v, Value) else v
        if key.endswith("_color") and isinstance(v, str):
            yield v


def test_every_color_comes_from_the_palette(every_figure):
    palette = {c.lower() for c in PALETTE}
    checked = 0
    for name, obj in every_figure.items():
        for p in _plots(obj):
            models = [r.glyph for r in p.renderers] + list(p.center)
            for color in (c for m in models for c in _colors(m)):
                assert color.lower() in palette, (name, color)
                checked += 1
    assert checked > 50


def test_plots_layer_imports_no_widgets():
    code = "import sys, gradwidgets.plots; sys.exit(bool({'ipywidgets', 'jupyter_bokeh'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_style_is_idempotent_and_returns_the_figure():
    from bokeh.plotting import figure

    fig = figure()
    assert style(style(fig, height=200)) is fig
    assert fig.height == 280 and fig.sizing_mode == "stretch_width" and fig.toolbar.logo is None
    assert len(PALETTE) == 8 and len(set(PALETTE)) == 8
