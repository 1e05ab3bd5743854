"""A Sphinx extension that gives BokehJS only to the pages that draw a Bokeh plot, and checks
that the book's BokehJS can draw every plot.

``_config.yml`` names the BokehJS files in ``html_js_files`` (``tools/copy_bokehjs.py`` copies
exactly those), and Sphinx adds them to every page: 0.83 MB that a page without a plot (the
introduction, the glossary, the references, the search page) never runs. A plot in a page is
what ``gradwidgets.widgets.embed.html_fragment`` writes, a
``<script type="application/gzip" id="gradwidgets-plot-...">`` with a queue that waits for
``window.Bokeh``, or the ``data-root-id`` element of Bokeh's own embedding; a page whose body
holds neither loses the BokehJS scripts.

The book's BokehJS is a bundle with only the models its plots use (``tools/bokehjs/``); its
first line names its BokehJS version and models. The build fails when that version is not the
installed bokeh's, or when a page's plot uses a model the bundle lacks (in the browser, that
plot would not be drawn).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
from pathlib import Path

import bokeh
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

BOKEHJS = re.compile(r"bokeh(?:-[a-z]+)?-\d+\.\d+\.\d+(?:\.min)?\.js")
PLOT_MARKS = ('id="gradwidgets-plot-', "data-root-id=")
HEADER = re.compile(r"/\* bokeh-plots: BokehJS (?P<version>[\w.]+); models: (?P<models>[\w ]+) \*/")
FRAGMENT = re.compile(r'<script type="application/gzip" id="gradwidgets-plot-[^"]*">([^<]*)</script>')


def has_plot(body: str) -> bool:
    """Whether a page body holds a Bokeh plot that needs BokehJS."""
    return any(mark in body for mark in PLOT_MARKS)


def bundle_header(path: Path) -> tuple[str, frozenset[str]] | None:
    """The BokehJS version and model names a ``tools/bokehjs`` bundle says it holds, or None
    for a file without that first line (BokehJS's own files, which hold every model)."""
    with open(path, encoding="utf8") as f:
        match = HEADER.match(f.readline())
    return (match["version"], frozenset(match["models"].split())) if match else None


def plot_models(body: str) -> set[str]:
    """The names of the Bokeh models in every plot document of a page body."""
    names: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, dict):
            if value.get("type") == "object" and isinstance(value.get("name"), str):
                names.add(value["name"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for packed in FRAGMENT.findall(body):
        walk(json.loads(gzip.decompress(base64.b64decode(packed))))
    return names


def _is_bokehjs(asset) -> bool:
    name = os.fspath(getattr(asset, "filename", asset) or "")
    return bool(BOKEHJS.fullmatch(os.path.basename(name.split("?")[0])))


def find_bundle(app: Sphinx) -> None:
    """Read the header of the book's BokehJS bundle, if ``html_js_files`` loads one."""
    app.gw_bokeh_models = None
    for asset in app.config.html_js_files:
        name = asset[0] if isinstance(asset, tuple) else asset
        for static in app.config.html_static_path:
            path = Path(app.confdir, static, name)
            header = bundle_header(path) if _is_bokehjs(name) and path.is_file() else None
            if header is None:
                continue
            if header[0] != bokeh.__version__:
                raise ExtensionError(
                    f"{path} is BokehJS {header[0]} but bokeh {bokeh.__version__} is installed: "
                    "rebuild it (README: the book's BokehJS)"
                )
            app.gw_bokeh_models = header[1]


def drop_bokehjs_without_plots(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Remove the BokehJS scripts from a page with no Bokeh plot in its body; fail on a plot
    that uses a model the book's BokehJS lacks."""
    body = context.get("body") or ""
    if getattr(app, "gw_bokeh_models", None) is not None:
        missing = plot_models(body) - app.gw_bokeh_models
        if missing:
            raise ExtensionError(
                f"{pagename}: its plots use Bokeh models the book's BokehJS lacks: "
                f"{', '.join(sorted(missing))}. Add them to tools/bokehjs/models.txt and rebuild "
                "the bundle (README: the book's BokehJS)"
            )
    if "script_files" in context and not has_plot(body):
        context["script_files"] = [a for a in context["script_files"] if not _is_bokehjs(a)]


def setup(app: Sphinx) -> dict:
    """Register the hooks."""
    app.connect("builder-inited", find_bundle)
    app.connect("html-page-context", drop_bokehjs_without_plots, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
