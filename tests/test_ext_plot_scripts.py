"""book/_ext/plot_scripts.py and the book's BokehJS (tools/bokehjs/): the bundle is the installed
bokeh's BokehJS with the models models.txt names, draws the book's kinds of figure, and a page
whose plot needs another model fails the build."""

from pathlib import Path
from types import SimpleNamespace

import bokeh
import pytest
from _browser import browser_page, page_file
from bokeh.models import ColorBar, HoverTool, LinearColorMapper
from bokeh.plotting import figure
from sphinx.errors import ExtensionError

from gradwidgets.widgets.embed import html_fragment

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "tools" / "bokehjs" / "bokeh-plots.min.js"


@pytest.fixture
def ext(load_script):
    return load_script("book/_ext/plot_scripts.py")


def _listed() -> set[str]:
    lines = (ROOT / "tools" / "bokehjs" / "models.txt").read_text(encoding="utf8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def _book_like_figure():
    """A figure with what the book's plots hold: log axis, legend, hover, spans, a color bar."""
    fig = figure(title="gain per layer", y_axis_type="log", width=400, height=250, name="book-like")
    fig.line([1, 2, 3], [1e-3, 1, 1e3], legend_label="sigmoid")
    fig.scatter([1, 2, 3], [1e-2, 1e-1, 1], legend_label="relu")
    fig.vspan(x=[2])
    fig.add_tools(HoverTool())
    fig.add_layout(ColorBar(color_mapper=LinearColorMapper(palette="Viridis256", low=0, high=1)), "right")
    return fig


def test_the_committed_bundle_is_the_installed_bokehs_with_the_listed_models(ext):
    version, models = ext.bundle_header(BUNDLE)
    assert version == bokeh.__version__, "rebuild tools/bokehjs/bokeh-plots.min.js for this bokeh"
    assert models == _listed(), "models.txt changed since the bundle was built: rebuild it"


def test_bokehjs_own_files_have_no_header(ext, tmp_path):
    plain = tmp_path / "bokeh-3.9.2.min.js"
    plain.write_text("'use strict';\n/*!\n * Copyright (c) Anaconda\n */", encoding="utf8")
    assert ext.bundle_header(plain) is None


def test_the_models_of_a_pages_plots_are_read_from_their_fragments(ext):
    body = "<p>text</p>" + html_fragment(_book_like_figure())
    used = ext.plot_models(body)
    assert {"Figure", "Line", "Scatter", "LogAxis", "Legend", "HoverTool", "ColorBar", "VSpan"} <= used
    assert ext.plot_models("<p>no plot</p>") == set()


def _context(body: str) -> dict:
    return {"body": body, "script_files": ["_static/bokeh-plots-3.9.2.min.js?v=1", "_static/doctools.js"]}


def test_a_plot_with_a_model_the_bundle_lacks_fails_the_page(ext):
    fig = figure(width=200, height=200)
    fig.hex_tile(q=[0, 1], r=[1, 0])
    app = SimpleNamespace(gw_bokeh_models=frozenset(_listed()))
    assert "HexTile" not in app.gw_bokeh_models
    with pytest.raises(ExtensionError, match=r"chapter: .*HexTile.*tools/bokehjs/models.txt"):
        ext.drop_bokehjs_without_plots(app, "chapter", "page.html", _context(html_fragment(fig)), None)


def test_bokehjs_stays_on_plot_pages_and_leaves_the_others(ext):
    app = SimpleNamespace(gw_bokeh_models=frozenset(_listed()))
    with_plot = _context(html_fragment(_book_like_figure()))
    ext.drop_bokehjs_without_plots(app, "chapter", "page.html", with_plot, None)
    assert len(with_plot["script_files"]) == 2
    without = _context("<p>glossary</p>")
    ext.drop_bokehjs_without_plots(app, "glossary", "page.html", without, None)
    assert without["script_files"] == ["_static/doctools.js"]


@pytest.mark.browser
def test_the_bundle_registers_its_models_and_draws_a_book_like_figure(tmp_path):
    url = page_file(tmp_path / "page.html", html_fragment(_book_like_figure()), [BUNDLE])
    with browser_page() as bp:
        bp.page.goto(url)
        bp.page.wait_for_function(
            "() => window.Bokeh && Bokeh.documents.length === 1 && !window.gradwidgetsPlots.busy"
        )
        assert bp.page.evaluate("() => Bokeh.version") == bokeh.__version__
        registered = set(bp.page.evaluate("() => Object.keys(Bokeh.Models)"))
        assert _listed() <= registered
        bp.page.wait_for_function(  # painted: the color bar, the legend and the log axis with it
            """() => { const fig = Bokeh.documents[0].get_model_by_name("book-like");
                       const view = Bokeh.index.find_one(fig);
                       return view != null && view.has_finished(); }""",
            timeout=10000,
        )
        assert bp.console_errors == [] and bp.blocked == []
