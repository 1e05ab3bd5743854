"""The Explorer: a declaration shown two ways; and the small explorer the widgets tests share.

``make``, ``_compute`` and ``_figures`` are imported by test_widgets_spec.py, test_widgets_live.py
and test_widgets_static.py.
"""

import numpy as np
from bokeh.plotting import figure

import gradwidgets as gw
from gradwidgets.widgets.explorer import Control, Explorer, Result

DATA = gw.make_dataset("spirals", 64)


def _compute(cfg, emit):
    if cfg["activation"] == "boom":
        raise RuntimeError("kaboom")
    prof = gw.gradient_profile(
        gw.build_mlp(cfg["depth"], activation=cfg["activation"]), DATA.X, DATA.y.float()
    )
    cols = {"layer": np.arange(1.0, len(prof) + 1), "value": prof.weight_grad_norm}
    return Result({"g": cols}, status=f"first/last {prof.first_last_ratio:.1e}")


def _figures(sources):
    fig = figure(y_axis_type="log")
    fig.line("layer", "value", source=sources["g"])
    return fig


def make(**kw):
    controls = (
        Control("depth", "Depth", (2, 4, 8, 16), 4),
        Control("activation", "Activation", ("tanh", "sigmoid", "relu", "boom")),
    )
    return Explorer("test", "Test", controls, _compute, _figures, **kw)


def test_mimebundle_has_the_widget_and_html_only_when_baking(monkeypatch):
    ex = make()
    monkeypatch.delenv("GRADWIDGETS_BAKE", raising=False)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/html" not in bundle
    monkeypatch.setenv("GRADWIDGETS_BAKE", "1")
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "Bokeh" in bundle["text/html"] and "cdn.bokeh.org" not in bundle["text/html"]
