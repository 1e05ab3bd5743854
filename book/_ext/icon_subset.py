"""A Sphinx extension that ships only the Font Awesome icons the site shows.

pydata-sphinx-theme loads ``_static/scripts/fontawesome.js`` on every page: Font Awesome's
SVG core with all of its free icons, 1.49 MB, for the 20 or so icons of the header and the
buttons. Once the site is written this replaces that file by the same script with every icon
pack cut down to the icons some page or theme script names (``fa-github``,
``fa-magnifying-glass``: a class in a written page, or a ``fa-*`` name in the theme's other
scripts, which add the search dialog's icons). Font Awesome's own code is kept as it is, so
the icons are drawn, restyled and replaced exactly as before. The theme's file is read from
the theme, never from the output, so every build starts from the whole set.

The theme's stylesheet also carries one ``.fa-NAME:before{content:"..."}`` rule per icon
(86 kB) for drawing them with the web fonts, which the SVG script makes unneeded; the rules
of icons no page shows are dropped from the output copy the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

SCRIPT = Path("_static") / "scripts" / "fontawesome.js"
STYLESHEET = Path("_static") / "styles" / "pydata-sphinx-theme.css"
GLYPH_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:before,)*\.fa-[a-z0-9-]+:before)\{content:"[^"]*"\}')
PACK = re.compile(r"var p=\{")  # each icon pack is `var p={name:[w,h,[aliases],"code","path"],...}`
KEY = re.compile(r'\s*(?:"([^"]+)"|([A-Za-z0-9_$]+))\s*:')
CLASS = re.compile(r'class="([^"]*)"')
NAME = re.compile(r"\bfa-([a-z0-9-]+)")


def _closing(text: str, start: int, open_: str, close: str) -> int:
    """Index just past the bracket that closes the one at ``start`` (strings skipped)."""
    depth, i, quote = 0, start, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == open_:
            depth += 1
        elif ch == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced Font Awesome icon pack")


def _entries(pack: str):
    """(name, aliases, text) of each icon in a pack's object literal (without its braces)."""
    i = 0
    while i < len(pack):
        key = KEY.match(pack, i)
        if key is None:
            break
        start = pack.index("[", key.end())
        end = _closing(pack, start, "[", "]")
        value = pack[start:end]
        aliases = re.findall(r'"([^"]+)"', value[: value.index("]") + 1])
        yield key.group(1) or key.group(2), aliases, pack[i:end].strip()
        i = end + 1  # past the comma


def subset_script(script: str, wanted: set[str]) -> tuple[str, set[str]]:
    """``script`` with only the ``wanted`` icons in its packs; also the names it kept."""
    out, kept, last = [], set(), 0
    for match in PACK.finditer(script):
        start = match.end() - 1
        end = _closing(script, start, "{", "}")
        entries = [
            (name, text)
            for name, aliases, text in _entries(script[start + 1 : end - 1])
            if name in wanted or wanted.intersection(aliases)
        ]
        kept.update(name for name, _ in entries)
        out += [script[last : start + 1], ",".join(text for _, text in entries), "}"]
        last = end
    out.append(script[last:])
    text = "".join(out)
    return re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", text), kept


def subset_stylesheet(css: str, wanted: set[str]) -> str:
    """``css`` without the glyph rules of icons that are not ``wanted``."""

    def keep(match: re.Match) -> str:
        names = re.findall(r"\.fa-([a-z0-9-]+):before", match.group(1))
        return match.group(0) if wanted.intersection(names) else ""

    return GLYPH_RULE.sub(keep, css)


def used_icons(outdir: Path) -> set[str]:
    """The ``fa-*`` names in the written pages' classes and in the theme's other scripts."""
    names: set[str] = set()
    for page in outdir.rglob("*.html"):
        for classes in CLASS.findall(page.read_text(encoding="utf8", errors="replace")):
            names.update(NAME.findall(classes))
    for script in (outdir / "_static").rglob("*.js"):
        if script.name != "fontawesome.js" and "bokeh" not in script.name:
            names.update(NAME.findall(script.read_text(encoding="utf8", errors="replace")))
    return names


def _theme_file(app: Sphinx, relative: Path) -> Path | None:
    for directory in app.builder.theme.get_theme_dirs():
        path = Path(directory) / "static" / relative.relative_to("_static")
        if path.is_file():
            return path
    return None


def subset_fontawesome(app: Sphinx, exception: Exception | None) -> None:
    """Write the cut-down ``fontawesome.js`` and stylesheet over the theme's copies in the output."""
    if exception is not None or app.builder.format != "html":
        return
    source, target = _theme_file(app, SCRIPT), Path(app.outdir) / SCRIPT
    if source is None or not target.exists():
        return
    wanted = used_icons(Path(app.outdir))
    text, kept = subset_script(source.read_text(encoding="utf8"), wanted)
    if not kept:
        logger.warning("icon_subset: no Font Awesome icon found for the site", type="icon_subset")
        return
    target.write_text(text, encoding="utf8")
    logger.info("icon_subset: %s kept %d icons (%d bytes)", SCRIPT, len(kept), len(text.encode()))
    css, css_target = _theme_file(app, STYLESHEET), Path(app.outdir) / STYLESHEET
    if css is not None and css_target.exists():
        css_target.write_text(subset_stylesheet(css.read_text(encoding="utf8"), wanted), encoding="utf8")


def setup(app: Sphinx) -> dict:
    """Register the step that runs once the site is written."""
    app.connect("build-finished", subset_fontawesome)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
