"""A Sphinx extension that loads MathJax once the page has loaded, not before it is shown.

Sphinx loads MathJax 3 with ``defer``: its 1.1 MB script runs before ``DOMContentLoaded``,
and nothing else on the page (the Bokeh plots included) starts before it has. On the book's
pages that held back the first plot by about a second (measured with
``benchmarks/bench_site.py``). Here the page gets a small inline script instead, which adds
MathJax's script when the ``load`` event fires: the text and the first plots come first, the
formulas are typeset a moment later.
"""

from __future__ import annotations

import json

from sphinx.application import Sphinx

LOADER = (
    'window.addEventListener("load", function () {{'
    ' var s = document.createElement("script"); s.src = {url}; document.head.appendChild(s);'
    " }});"
)


def _is_mathjax(app: Sphinx, asset) -> bool:
    name = str(getattr(asset, "filename", asset) or "")
    return bool(name) and name.split("?")[0].endswith(str(app.config.mathjax_path))


def load_mathjax_late(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Replace the page's MathJax script by a loader that adds it on ``load``."""
    scripts = context.get("script_files", [])
    for i, asset in enumerate(scripts):
        if _is_mathjax(app, asset):
            url = context["pathto"](str(asset.filename), resource=True)
            body = LOADER.format(url=json.dumps(url))
            scripts[i] = type(asset)("", priority=asset.priority, body=body)


def setup(app: Sphinx) -> dict:
    """Register the page hook after the MathJax extension has added its script."""
    app.connect("html-page-context", load_mathjax_late, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
