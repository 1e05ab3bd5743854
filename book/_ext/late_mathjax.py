"""A Sphinx extension that loads MathJax once the page has loaded, not before it is shown.

Sphinx loads MathJax 3 with ``defer``: its 1.1 MB script runs before ``DOMContentLoaded``,
and nothing else on the page (the Bokeh plots included) starts before it has. On the book's
pages that held back the first plot by about a second (measured with
``benchmarks/bench_site.py``). Here the page gets a small inline script instead, which adds
MathJax's script when the ``load`` event fires: the text and the first plots come first, the
formulas are typeset a moment later.

It also loads MathJax by its components instead of the combined ``tex-chtml.js`` (1.16 MB)
that sphinx-mathjax-offline names: ``startup.js`` with TeX input (base, AMS and the
extensions TeX loads on first use), CommonHTML output and the assistive MathML that screen
readers read, about 0.7 MB, leaving out the 0.43 MB context menu. myst-nb has Sphinx add
MathJax to every page (a notebook output may hold LaTeX); a page whose body holds no math
(no ``class="math``, no ``\\(``, ``\\[`` or ``$$``) gets neither MathJax nor its config.
"""

from __future__ import annotations

import json
import re

from sphinx.application import Sphinx

COMPONENTS = ["input/tex", "output/chtml", "a11y/assistive-mml"]
LOADER = (
    'window.addEventListener("load", function () {{'
    " var c = (window.MathJax = window.MathJax || {{}});"
    " c.loader = Object.assign({{load: {components}}}, c.loader);"
    ' var s = document.createElement("script"); s.src = {url}; document.head.appendChild(s);'
    " }});"
)


MATH = re.compile(r'class="[^"]*\bmath\b|\\\(|\\\[|\$\$')


def has_math(body: str) -> bool:
    """Whether a page body holds anything MathJax would typeset."""
    return bool(MATH.search(body))


def _is_config(asset) -> bool:
    body = getattr(asset, "attributes", {}).get("body") or ""
    return body.lstrip().startswith("window.MathJax")


def _is_mathjax(app: Sphinx, asset) -> bool:
    name = str(getattr(asset, "filename", asset) or "")
    return bool(name) and name.split("?")[0].endswith(str(app.config.mathjax_path))


def load_mathjax_late(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Replace the page's MathJax script by a loader of its components, or drop it without math."""
    scripts = context.get("script_files", [])
    if not has_math(context.get("body") or ""):
        context["script_files"] = [a for a in scripts if not (_is_mathjax(app, a) or _is_config(a))]
        return
    for i, asset in enumerate(scripts):
        if _is_mathjax(app, asset):
            startup = str(asset.filename).split("?")[0].rsplit("/", 1)[0] + "/startup.js"
            url = context["pathto"](startup, resource=True)
            body = LOADER.format(url=json.dumps(url), components=json.dumps(COMPONENTS))
            scripts[i] = type(asset)("", priority=asset.priority, body=body)


def setup(app: Sphinx) -> dict:
    """Register the page hook after the MathJax extension has added its script."""
    app.connect("html-page-context", load_mathjax_late, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
