"""A Sphinx extension that keeps Sphinx's search index on the search page.

pydata-sphinx-theme's layout loads ``searchindex.js`` (90 kB here, and growing with the book),
``searchtools.js`` and ``language_data.js`` on every page, for its search-as-you-type dialog.
The book leaves that option off (the theme's default): the search field of every page submits
to ``search.html``, which loads the three scripts itself, and the theme's script uses them
nowhere else. Once the site is written this removes them from every other page. With
``search_as_you_type`` turned on they would be needed everywhere, so then it removes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

SCRIPT = re.compile(
    r'[ \t]*<script src="[^"]*?(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)'
    r'(?:\?[^"]*)?"></script>\n?'
)


def without_search_scripts(html: str) -> str:
    """``html`` without the tags that load the search index and the tools that read it."""
    return SCRIPT.sub("", html)


def drop_search_scripts(app: Sphinx, exception: Exception | None) -> None:
    """Remove the search scripts from every written page but ``search.html``."""
    if exception is not None or app.builder.format != "html":
        return
    if str(app.config.html_theme_options.get("search_as_you_type", False)).lower() == "true":
        return
    outdir = Path(app.outdir)
    changed = 0
    for page in outdir.rglob("*.html"):
        if page == outdir / "search.html" or "_static" in page.relative_to(outdir).parts:
            continue
        html = page.read_text(encoding="utf8")
        lighter = without_search_scripts(html)
        if lighter != html:
            page.write_text(lighter, encoding="utf8")
            changed += 1
    logger.info("search_scripts: the search index is loaded by search.html alone (%d pages)", changed)


def setup(app: Sphinx) -> dict:
    """Register the step that runs once the site is written."""
    app.connect("build-finished", drop_search_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
