"""A Sphinx extension that keeps every page's scripts and stylesheets on the site itself.

Jupyter Book 1 always loads sphinx-thebe, which adds to every page ``sphinx-thebe.js`` and an
inline script declaring ``const THEBE_JS_URL = "https://unpkg.com/..."``. This book has no
thebe button (``launch_buttons.thebe: false``), so they are removed. Jupyter Book 1.0.4 also
registers some extensions' inline scripts twice (a repeated ``const`` is a console
SyntaxError), so identical scripts are kept once. myst-nb embeds the notebook's ipywidgets
state (100-250 kB a page here) for a widget manager the book does not load
(``nb_ipywidgets_js: {}``: explorers show their baked Bokeh face), so it is dropped. Any
script or stylesheet left with an absolute URL is a warning, which fails the ``-W`` build:
the site must work offline.
"""

from __future__ import annotations

import os

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

THEBE_FILES = {"sphinx-thebe.js", "sphinx-thebe.css"}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _filename(asset) -> str:
    return os.fspath(getattr(asset, "filename", asset) or "")


def _key(asset) -> tuple:
    # a script registered twice has None as its file name once and "" the other time
    return _filename(asset), tuple(sorted(getattr(asset, "attributes", {}).items()))


def _is_thebe(asset) -> bool:
    body = getattr(asset, "attributes", {}).get("body") or ""
    return os.path.basename(_filename(asset)) in THEBE_FILES or "THEBE_JS_URL" in body


def _is_widget_state(asset) -> bool:
    return getattr(asset, "attributes", {}).get("type") == WIDGET_STATE


def clean_page_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Drop thebe, widget state and duplicated assets from one page; warn about other sites."""
    for key in ("script_files", "css_files"):
        if key not in context:
            continue
        first = {}
        for asset in context[key]:
            first.setdefault(_key(asset), asset)
        kept = [
            a for a in context[key] if first[_key(a)] is a and not _is_thebe(a) and not _is_widget_state(a)
        ]
        for asset in kept:
            name = _filename(asset)
            if "://" in name or name.startswith("//"):
                logger.warning(
                    "%s loads %s from another site; the book must work offline",
                    pagename,
                    name,
                    type="offline_assets",
                    location=pagename,
                )
        context[key] = kept


def setup(app: Sphinx) -> dict:
    """Register the page hook, late so that the other extensions have added their assets."""
    app.connect("html-page-context", clean_page_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
