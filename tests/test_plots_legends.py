"""gradwidgets.plots.legends: legends list only what is drawn, now and after the data is replaced,
and wrap to a phone's width."""

import numpy as np
import pytest
from _browser import browser_page
from bokeh.embed import file_html
from bokeh.models import ColumnDataSource, Legend
from bokeh.resources import INLINE

import gradwidgets as gw
from gradwidgets import plots
from gradwidgets.explorers import CATALOG
from gradwidgets.plots.base import _log_columns
from gradwidgets.plots.legends import CHAR_WIDTH, PHONE_FRAME, drawn, follow_data

LEGEND_VISIBLE_JS = """(name) => {
  for (const doc of Bokeh.documents) {
    const legend = doc.get_model_by_name(name);
    if (legend) { return legend.items.map((i) => [i.label.value, i.visible]); }
  }
  return null;
}"""
SET_DATA_JS = """([name, data]) => {
  for (const doc of Bokeh.documents) {
    const s = doc.get_model_by_name(name);
    const nan = (v) => v.map((x) => (x === null ? NaN : x));  // JSON's null back to NaN
    if (s) { s.data = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, nan(v)])); }
  }
}"""


def _norms(values) -> dict:
    """Columns of a 3-layer profile whose ‖dL/dW‖ are replaced by ``values``."""
    return {**plots.gradient_norms_columns(_profile()), **_log_columns(values)}


def _profile():
    d = gw.make_dataset("spirals", 32)
    return gw.gradient_profile(gw.build_mlp(3), d.X, d.y.float())


def _shown(fig) -> dict[str, bool]:
    return {item.label.value: item.visible for legend in fig.legend for item in legend.items}


def test_items_with_nothing_to_draw_are_hidden_and_the_rest_listed():
    fig = plots.gradient_norms_figure(ColumnDataSource(_norms([1.0, 0.5, 0.2])))
    assert _shown(fig) == {"‖dL/dW‖": True, "non-finite (NaN, ∞)": False, "exactly 0": False}
    fig = plots.gradient_norms_figure(ColumnDataSource(_norms([np.nan, 0.0, 0.2])))
    assert _shown(fig) == {"‖dL/dW‖": True, "non-finite (NaN, ∞)": True, "exactly 0": True}


def test_a_run_with_nothing_clipped_lists_no_after_clipping_line():
    d = gw.make_dataset("spirals", 64)
    loose = gw.train(gw.build_mlp(3), d.X, d.y.float(), steps=5, lr=0.1, clip_norm=1e6)
    tight = gw.train(gw.build_mlp(3), d.X, d.y.float(), steps=5, lr=0.1, clip_norm=1e-3)
    for history, clipped in ((loose, False), (tight, True)):
        sources = [ColumnDataSource(c) for c in plots.training_columns(history)]
        bottom = plots.training_figure(*sources).children[1]
        assert _shown(bottom)["after clipping"] is clipped
        assert bool(np.isfinite(sources[1].data["y_after"]).any()) is clipped  # nor is the line drawn


def test_bars_of_height_zero_draw_nothing():
    fig = plots.activation_distribution_figure(
        ColumnDataSource(plots.activation_distribution_columns(_profile()))
    )
    bottom = fig.children[1]
    dead = next(i for i in bottom.legend[0].items if i.label.value.startswith("dead"))
    assert drawn(dead.renderers[0]) == bool(np.any(dead.renderers[0].data_source.data["dead"] > 0))


def test_the_browser_updates_the_legend_when_the_data_is_replaced(tmp_path):
    source = ColumnDataSource(_norms([1.0, 0.5, 0.2]), name="t:grads")
    fig = plots.gradient_norms_figure(source)
    fig.legend[0].name = "t:legend"
    path = tmp_path / "legend.html"
    path.write_text(file_html(fig, resources=INLINE, title="t"), encoding="utf-8")
    with browser_page() as bp:
        bp.page.goto(path.as_uri())
        bp.page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
        assert dict(bp.page.evaluate(LEGEND_VISIBLE_JS, "t:legend"))["non-finite (NaN, ∞)"] is False
        cols = _norms([np.inf, 0.5, 0.2])
        bad = {
            k: [None if np.isnan(x) else x for x in v.tolist()]  # JSON has no NaN: null, read back as NaN
            for k, v in cols.items()
            if np.asarray(v).dtype.kind == "f"
        }
        bp.page.evaluate(SET_DATA_JS, ["t:grads", bad])
        shown = dict(bp.page.evaluate(LEGEND_VISIBLE_JS, "t:legend"))
        assert shown["non-finite (NaN, ∞)"] is True and shown["exactly 0"] is False
        assert not bp.console_errors


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_explorer_legend_fits_a_phone(name):
    """Every horizontal legend, at the columns style() chose, is at most PHONE_FRAME wide."""
    ex = CATALOG[name]()
    sources = {k: ColumnDataSource({}) for k in _source_names(ex)}
    layout = ex.figures(sources)
    legends = list(layout.select({"type": Legend}))
    assert legends
    for legend in (g for g in legends if g.orientation == "horizontal"):
        n = legend.ncols
        widths = [
            legend.glyph_width + legend.label_standoff + CHAR_WIDTH * len(i.label.value) for i in legend.items
        ]
        row = sum(max(widths[c::n]) for c in range(n)) + legend.spacing * (n - 1) + 2 * legend.padding
        assert row <= PHONE_FRAME or n == 1, (name, [i.label.value for i in legend.items])


def _source_names(ex) -> list[str]:
    return list(_SOURCES.get(ex.name, ()))


_SOURCES = {
    "gradient-flow": ("grads", "acts"),
    "init-variance": ("grads", "acts"),
    "compare": ("a", "b"),
    "saturation": ("curve", "hist", "acts"),
    "norm-training": ("loss", "norms", "diverged", "heat"),
    "clipping": ("time", "loss", "norms", "diverged"),
    "weight-decay": ("loss", "params", "decay"),
    "learning-rate": ("curve", "path", "loss", "norms", "diverged", "exit"),
    "jacobian-spectrum": ("cloud", "lines"),
    "cnn-flow": ("grads", "acts"),
    "sequence-memory": ("time",),
    "fp16-range": ("hist", "layers"),
    "loss-scaling": ("loss", "reference", "scale", "skipped", "zeros"),
    "layer-norm-placement": ("post-LN", "pre-LN"),
    "warmup-training": ("loss", "norms", "diverged", "heat"),
}


def test_follow_data_attaches_one_callback_per_source():
    source = ColumnDataSource(_norms([1.0, 0.5, 0.2]))
    fig = plots.gradient_norms_figure(source)
    assert len(source.js_property_callbacks["change:data"]) == 1
    follow_data(fig, [])
    assert len(source.js_property_callbacks["change:data"]) == 1
