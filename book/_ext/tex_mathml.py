"""TeX to MathML Core at build time: latex2mathml, with what browsers need around it.

latex2mathml converts TeX to MathML in pure Python. A few inputs it misreads: ``\\Big\\|``
comes out as text, ``aligned`` on one line, ``\\mathrm{d}`` in italics. :func:`to_mathml`
rewrites the TeX it reads for those, has :mod:`mathml_core` make what it writes MathML Core,
and raises :class:`ValueError` naming what is left that it cannot draw (an unknown command
passed through as text, a line break outside an alignment), so that no formula shows raw TeX
or a silently wrong result.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert
from mathml_core import NS, check, make_core, split_inline

# A delimiter command after \big, \Big, \bigl, ...: latex2mathml takes only a literal character.
SIZED = re.compile(r"(\\[bB]igg?[lrm]?)\s*(\\\||\\[lr]?Vert\b|\\[lr]?vert\b|\\\{|\\\}|\\langle\b|\\rangle\b)")
DELIMITERS = {"\\|": "‖", "\\{": "{", "\\}": "}", "\\langle": "⟨", "\\rangle": "⟩"}
ENVIRONMENT = re.compile(r"\\(begin|end)\{(aligned|equation\*?|align)\}")
RENAMED = {"aligned": "align*", "align": "align*"}  # Sphinx numbers the whole block, not rows


def _rewrite_tex(tex: str) -> str:
    """The TeX with what latex2mathml misreads put in a form it reads."""
    tex = SIZED.sub(lambda m: m.group(1) + DELIMITERS.get(m.group(2), _fence(m.group(2))), tex)
    tex = re.sub(r"\\label\{[^}]*\}", "", tex)  # Sphinx keeps labels outside the formula
    tex = re.sub(r"\\mathrm\{(\w)\}", r"\\text{\1}", tex)  # one letter would come out italic
    return ENVIRONMENT.sub(lambda m: f"\\{m.group(1)}{{{RENAMED.get(m.group(2), m.group(2))}}}", tex)


def _fence(command: str) -> str:
    return "‖" if "Vert" in command else "|"


def _unwrap_equation(tex: str) -> str:
    """An amsmath ``equation`` block's content: MathML has nothing to number it by itself."""
    match = re.fullmatch(r"\s*\\begin\{equation\*?\}(.*)\\end\{equation\*?\}\s*", tex, re.S)
    return match.group(1) if match else tex


def _has_top_level_break(tex: str) -> bool:
    """Whether ``tex`` breaks a line (``\\\\``) outside every environment."""
    previous = None
    while previous != tex:
        previous, tex = tex, re.sub(r"\\begin\{([^}]*)\}(?:(?!\\begin\{).)*?\\end\{\1\}", "", tex, flags=re.S)
    return "\\\\" in tex


def display_tex(text: str, nowrap: bool = False) -> str:
    """The TeX of a display block, as Sphinx's MathJax renderer would pass it on.

    Parameters
    ----------
    text : str
        The block's source: one or more equations separated by blank lines.
    nowrap : bool
        Whether the block is already a complete environment (myst's amsmath blocks).

    Returns
    -------
    str
        One formula: equations separated by blank lines are rows of an ``align*``, and an
        equation that breaks lines is a ``split``.
    """
    if nowrap:
        return _unwrap_equation(text)
    parts = [part for part in text.split("\n\n") if part.strip()]
    parts = [f"\\begin{{split}}{p}\\end{{split}}" if _has_top_level_break(p) else p for p in parts]
    if len(parts) > 1:
        return "\\begin{align*}" + " \\\\ ".join(parts) + "\\end{align*}"
    return parts[0] if parts else ""


def to_mathml(tex: str, display: bool = False) -> str:
    """One formula as a ``<math>`` element that browsers draw natively.

    Parameters
    ----------
    tex : str
        The formula's TeX, without delimiters.
    display : bool
        Whether it is a display formula (``display="block"``) or one inside a line of text.

    Returns
    -------
    str
        The ``<math>`` element, its characters as Unicode rather than entities; a long inline
        formula as several, with a line break opportunity (``<wbr>``) after each relation.

    Raises
    ------
    ValueError
        If the formula cannot be converted, or the result would show TeX or draw wrongly.
    """
    try:
        mathml = convert(_rewrite_tex(tex).strip(), display="block" if display else "inline")
    except Exception as err:  # latex2mathml raises many kinds, all of them a parse error
        raise ValueError(f"latex2mathml cannot parse it ({type(err).__name__}: {err})") from err
    try:  # a bare `&` (an alignment mark outside an alignment) is not even XML
        root = ET.fromstring(mathml.replace("<mi>&</mi>", "<mi>&amp;</mi>"))
    except ET.ParseError as err:
        raise ValueError(f"latex2mathml wrote no valid MathML ({err})") from err
    check(root)
    make_core(root)
    if display:
        return _serialize(root)
    del root.attrib["display"]
    return "<wbr>".join(_serialize(piece) for piece in split_inline(root))


def _serialize(root: ET.Element) -> str:
    text = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return text.replace(f' xmlns="{NS}"', "", 1).replace(" />", "/>")
