"""show(): a figure displays as a widget in a kernel and as HTML with its script in a book build."""

import base64
import gzip
import re

import pytest
from bokeh.plotting import figure

import gradwidgets as gw
from gradwidgets.widgets.display import Shown, show


def _profile_figure(spirals):
    profile = gw.gradient_profile(gw.build_mlp(3), spirals.X, spirals.y.float())
    return gw.plots.plot_gradient_norms(profile)


def test_book_build_gets_html_with_the_figure_script(spirals, monkeypatch):
    monkeypatch.setenv("GRADWIDGETS_BAKE", "1")
    bundle = show(_profile_figure(spirals))._repr_mimebundle_()
    html = bundle["text/html"]
    assert "<script" in html and "Bokeh" in html and 'class="gradwidgets-explorer"' in html
    packed = re.search(r'<script type="application/gzip" id="[^"]+">([^<]+)<', html).group(1)
    assert "Gradient norm per layer" in gzip.decompress(base64.b64decode(packed)).decode("utf8")
    assert "application/vnd.jupyter.widget-view+json" not in bundle


def test_kernel_gets_a_jupyter_bokeh_widget(spirals, monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_BAKE", raising=False)
    bundle = show(_profile_figure(spirals))._repr_mimebundle_()
    assert "model_id" in bundle["application/vnd.jupyter.widget-view+json"]
    assert bundle["text/plain"] == "Shown(figure)"


def test_only_bokeh_models():
    with pytest.raises(ValueError, match="Bokeh figure"):
        show("not a figure")
    assert repr(Shown(figure())) == "Shown(figure)"
