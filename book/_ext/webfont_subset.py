"""A Sphinx extension that cuts Font Awesome's web fonts down to the glyphs the stylesheets draw.

The theme's icons in the page are SVGs (``fontawesome.js``, cut down by ``icon_subset.py``),
but a few are drawn by stylesheets with the web font: the admonitions' title icons
(``.admonition-title:after``, with ``--pst-icon-*``), the breadcrumbs' divider, the secondary
sidebar's arrow, sphinx-exercise's pencil. Any page with an admonition therefore downloaded
``fa-solid-900.woff2`` (156 kB) for a handful of glyphs. Once the site is written this replaces
each of the theme's three ``.woff2`` fonts in the output by the same font holding only the
characters some stylesheet of the output names (Font Awesome's code points lie in Unicode's
private use area, so any such character in a stylesheet is an icon). The fonts are read from
the theme, never from the output, so every build starts from the whole font.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

FONTS = Path("_static") / "vendor" / "fontawesome" / "webfonts"
ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})")
PRIVATE_USE = range(0xE000, 0xF900)


def stylesheet_icons(css: str) -> set[int]:
    """The private-use code points ``css`` names, as characters or as ``\\f107`` escapes."""
    found = {ord(ch) for ch in css if ord(ch) in PRIVATE_USE}
    found |= {int(code, 16) for code in ESCAPE.findall(css)}
    return {c for c in found if c in PRIVATE_USE}


def subset_font(source: Path, target: Path, codepoints: set[int]) -> int:
    """Write ``source`` holding only ``codepoints`` to ``target`` as WOFF2; return its size."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff2"
    options.ignore_missing_unicodes = True
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codepoints))
    subsetter.subset(font)
    subset.save_font(font, str(target), options)
    return target.stat().st_size


def _theme_fonts(app: Sphinx) -> dict[str, Path]:
    fonts: dict[str, Path] = {}
    for directory in reversed(app.builder.theme.get_theme_dirs()):  # the child theme wins
        folder = Path(directory) / "static" / FONTS.relative_to("_static")
        fonts.update({path.name: path for path in sorted(folder.glob("*.woff2"))})
    return fonts


def subset_webfonts(app: Sphinx, exception: Exception | None) -> None:
    """Replace the output's Font Awesome ``.woff2`` fonts by their cut-down copies."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    codepoints: set[int] = set()
    for css in (outdir / "_static").rglob("*.css"):
        codepoints |= stylesheet_icons(css.read_text(encoding="utf8", errors="replace"))
    if not codepoints:
        logger.warning("webfont_subset: no stylesheet names a Font Awesome glyph", type="webfont_subset")
        return
    for name, source in _theme_fonts(app).items():
        target = outdir / FONTS / name
        if target.exists():
            size = subset_font(source, target, codepoints)
            logger.info("webfont_subset: %s cut to %d code points (%d bytes)", name, len(codepoints), size)


def setup(app: Sphinx) -> dict:
    """Register the step that runs once the site is written, after icon_subset cut the stylesheet."""
    app.connect("build-finished", subset_webfonts, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
