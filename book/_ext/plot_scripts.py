"""A Sphinx extension that gives BokehJS only to the pages that draw a Bokeh plot.

``_config.yml`` names the BokehJS files in ``html_js_files`` (``tools/copy_bokehjs.py`` copies
exactly those from the installed bokeh), and Sphinx adds them to every page: 1.65 MB that a
page without a plot (the introduction, the glossary, the references, the search page) never
runs. A plot in a page is what ``gradwidgets.widgets.embed.html_fragment`` writes, a
``<script type="application/gzip" id="gradwidgets-plot-...">`` with a queue that waits for
``window.Bokeh``, or the ``data-root-id`` element of Bokeh's own embedding; a page whose body
holds neither loses the BokehJS scripts.
"""

from __future__ import annotations

import os
import re

from sphinx.application import Sphinx

BOKEHJS = re.compile(r"bokeh(?:-[a-z]+)?-\d+\.\d+\.\d+(?:\.min)?\.js")
PLOT_MARKS = ('id="gradwidgets-plot-', "data-root-id=")


def has_plot(body: str) -> bool:
    """Whether a page body holds a Bokeh plot that needs BokehJS."""
    return any(mark in body for mark in PLOT_MARKS)


def _is_bokehjs(asset) -> bool:
    name = os.fspath(getattr(asset, "filename", asset) or "")
    return bool(BOKEHJS.fullmatch(os.path.basename(name.split("?")[0])))


def drop_bokehjs_without_plots(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Remove the BokehJS scripts from a page with no Bokeh plot in its body."""
    if "script_files" in context and not has_plot(context.get("body") or ""):
        context["script_files"] = [a for a in context["script_files"] if not _is_bokehjs(a)]


def setup(app: Sphinx) -> dict:
    """Register the page hook."""
    app.connect("html-page-context", drop_bokehjs_without_plots, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
