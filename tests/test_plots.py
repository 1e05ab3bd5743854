"""The plots face as a whole: every figure serialises offline and wears the theme, one figure
structure whatever the data; and the helpers the per-module tests (test_plots_<module>.py) share."""

import dataclasses
import re
import subprocess
import sys

import numpy as np
import pytest
from bokeh.core.property.vectorization import Field, Value
from bokeh.embed import file_html, json_item
from bokeh.models import ColumnDataSource, GlyphRenderer, Plot
from bokeh.resources import INLINE

import gradwidgets as gw
from gradwidgets import plots
from gradwidgets.plots.theme import PALETTE

# ---------------------------------------------------------------- fixtures and shared helpers


@pytest.fixture(scope="module")
def mixed_profile(profile):
    """One layer of each kind a log axis must handle: normal, nan, inf, exactly 0, huge."""
    return dataclasses.replace(profile, weight_grad_norm=np.array([1e-3, np.nan, np.inf, 0.0, 1e5, 2e-9]))


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


# ---------------------------------------------------------------- K_figure never reads the data


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
