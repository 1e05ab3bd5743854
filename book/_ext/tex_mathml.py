"""TeX to MathML Core at build time: latex2mathml, with what browsers need around it.

latex2mathml converts TeX to MathML in pure Python, but some of what it writes is not MathML
Core, the part that Chromium, Firefox and Safari all draw: ``mathvariant="bold"`` (only
``normal`` is drawn), named space widths, and ``\\operatorname`` as an ``<mo>`` (operator
spacing on both sides). A few inputs it cannot parse it passes through as text, such as
``\\Big\\|`` or an unknown command; and ``aligned`` or a line break come out on one line.
:func:`to_mathml` rewrites the TeX it reads and the MathML it writes for all of that, and
raises :class:`ValueError` naming what is left that it cannot draw, so that no formula shows
raw TeX or a silently wrong result.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert

NS = "http://www.w3.org/1998/Math/MathML"
ET.register_namespace("", NS)

# A delimiter command after \big, \Big, \bigl, ...: latex2mathml takes only a literal character.
SIZED = re.compile(r"(\\[bB]igg?[lrm]?)\s*(\\\||\\[lr]?Vert\b|\\[lr]?vert\b|\\\{|\\\}|\\langle\b|\\rangle\b)")
DELIMITERS = {"\\|": "‖", "\\{": "{", "\\}": "}", "\\langle": "⟨", "\\rangle": "⟩"}
ENVIRONMENT = re.compile(r"\\(begin|end)\{(aligned|equation\*?|align)\}")
RENAMED = {"aligned": "align*", "align": "align*"}  # Sphinx numbers the whole block, not rows
SPACES = {
    "negativethinmathspace": "-0.1667em",
    "negativemediummathspace": "-0.2222em",
    "negativethickmathspace": "-0.2778em",
    "thinmathspace": "0.1667em",
    "mediummathspace": "0.2222em",
    "thickmathspace": "0.2778em",
}
# The first letter of each alphabet in Unicode's Mathematical Alphanumeric Symbols (A, a, 0),
# and the letters Unicode had before and left out of those blocks.
ALPHABETS = {
    "bold": (0x1D400, 0x1D41A, 0x1D7CE),
    "italic": (0x1D434, 0x1D44E, None),
    "bold-italic": (0x1D468, 0x1D482, None),
    "script": (0x1D49C, 0x1D4B6, None),
    "fraktur": (0x1D504, 0x1D51E, None),
    "double-struck": (0x1D538, 0x1D552, 0x1D7D8),
    "sans-serif": (0x1D5A0, 0x1D5BA, 0x1D7E2),
    "monospace": (0x1D670, 0x1D68A, 0x1D7F6),
}
HOLES = {
    "italic": dict(h="ℎ"),
    "script": dict(B="ℬ", E="ℰ", F="ℱ", H="ℋ", I="ℐ", L="ℒ", M="ℳ", R="ℛ", e="ℯ", g="ℊ", o="ℴ"),
    "fraktur": dict(C="ℭ", H="ℌ", I="ℑ", R="ℜ", Z="ℨ"),
    "double-struck": dict(C="ℂ", H="ℍ", N="ℕ", P="ℙ", Q="ℚ", R="ℝ", Z="ℤ"),
}
OPENING = set("([{|‖⟨⌊⌈")
SCRIPTED = ("msub", "msup", "msubsup", "munder", "mover", "munderover")


def _local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


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


def _styled(text: str, variant: str) -> str:
    """``text`` in the Unicode alphabet of ``variant`` (MathML Core draws only ``normal``)."""
    upper, lower, digit = ALPHABETS[variant]
    holes = HOLES.get(variant, {})
    out = []
    for ch in text:
        if ch in holes:
            out.append(holes[ch])
        elif "A" <= ch <= "Z":
            out.append(chr(upper + ord(ch) - ord("A")))
        elif "a" <= ch <= "z":
            out.append(chr(lower + ord(ch) - ord("a")))
        elif "0" <= ch <= "9" and digit is not None:
            out.append(chr(digit + ord(ch) - ord("0")))
        else:
            raise ValueError(f"no {variant} form of {ch!r} in MathML Core")
    return "".join(out)


def _check(element: ET.Element) -> None:
    """Raise if latex2mathml passed TeX through as text or wrote something no browser draws."""
    text = element.text or ""
    if "\\" in text:
        raise ValueError(f"{text!r} is not supported by latex2mathml")
    if _local(element) == "mi" and text == "&":
        raise ValueError("'&' outside an alignment (use aligned, align or split)")
    if element.get("linebreak"):
        raise ValueError("a line break '\\\\' outside an alignment (use aligned or split)")


def _fix(parent: ET.Element) -> None:
    """Make the children of ``parent`` MathML Core, depth first."""
    children = list(parent)
    for child in children:
        _check(child)
        variant = child.get("mathvariant")
        if variant and variant != "normal" and _local(child) in ("mi", "mn"):
            if variant not in ALPHABETS:
                raise ValueError(f"mathvariant {variant!r} is not drawn by browsers")
            child.text = _styled(child.text or "", variant)
            del child.attrib["mathvariant"]
        if child.get("width") in SPACES:
            child.set("width", SPACES[child.get("width")])
        _fix(child)
    _merge_upright_letters(parent)
    _operator_names(parent)


def _merge_upright_letters(parent: ET.Element) -> None:
    """``\\mathrm{Var}``: one ``<mi>Var</mi>`` (drawn upright) for three one-letter ``<mi>``."""
    children = list(parent)
    run: list[ET.Element] = []
    for child in [*children, None]:
        if child is not None and _local(child) == "mi" and child.get("mathvariant") == "normal":
            run.append(child)
            continue
        if len(run) > 1:
            run[0].text = "".join(c.text or "" for c in run)
            del run[0].attrib["mathvariant"]
            for extra in run[1:]:
                parent.remove(extra)
        run = []


def _operator_names(parent: ET.Element) -> None:
    """``\\operatorname{rms}``, ``\\max``: an upright ``<mi>``, a thin space before an argument.

    latex2mathml writes an ``<mo>``, which gets a thick space on both sides, also between
    ``diag`` and its parenthesis. TeX puts no space before a parenthesis and a thin one before
    anything else.
    """
    if _local(parent) in SCRIPTED:
        return  # a scripted operator name is the base: its parent spaces it
    children = list(parent)
    for i, child in enumerate(children):
        base = child[0] if _local(child) in SCRIPTED and len(child) else child
        if _local(base) != "mo" or not re.fullmatch(r"[A-Za-z]{2,}", base.text or ""):
            continue
        base.tag = f"{{{NS}}}mi"
        base.attrib.clear()
        following = children[i + 1] if i + 1 < len(children) else None
        if following is None or (following.text or "").strip() in OPENING or _local(following) == "mspace":
            continue
        parent.insert(list(parent).index(child) + 1, ET.Element(f"{{{NS}}}mspace", width="0.1667em"))


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
        The ``<math>`` element, its characters as Unicode rather than entities.

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
    _check(root)
    _fix(root)
    if not display:
        del root.attrib["display"]
    text = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return text.replace(f' xmlns="{NS}"', "", 1).replace(" />", "/>")
