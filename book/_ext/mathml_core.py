"""latex2mathml's MathML made MathML Core, the part that Chromium, Firefox and Safari all draw.

latex2mathml writes some MathML those browsers draw differently from TeX or not at all:
``mathvariant="bold"`` and the other alphabets (only ``normal`` is drawn: the letters become
Unicode's mathematical alphanumerics), named space widths, ``\\operatorname`` and ``\\max`` as
an ``<mo>`` (a thick space on both sides, also before a parenthesis), ``\\sim`` and ``\\pm`` as
identifiers, a prime as a superscript, and the dictionary's spacing of ``/``, ``.`` and a unary
minus. :func:`make_core` rewrites the tree for all of that; :func:`check` raises on what
latex2mathml passed through as TeX.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET

NS = "http://www.w3.org/1998/Math/MathML"
ET.register_namespace("", NS)

# latex2mathml's named widths (\! is "negativethinmathspace"), which MathML Core does not know
SPACES = {
    f"{sign}{name}mathspace": f"{'-' if sign else ''}{em}em"
    for sign in ("", "negative")
    for name, em in (("thin", 0.1667), ("medium", 0.2222), ("thick", 0.2778))
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
CLOSING = set(")]}|‖⟩⌋⌉")
SIGNS = set("+−±∓")
SYMBOL = ("Sm", "Ps", "Pe")  # Unicode's math symbols, opening and closing punctuation
ORDINARY = set("/.")  # TeX puts no space around them; MathML Core's dictionary a thick one
PRIMES = "′″‴⁗"
BREAK_AFTER = set("=≈≤≥<>←→∼≃∝≠≡⇒↦+−·×")  # TeX breaks an inline formula after these
MIN_BREAKABLE = 16  # characters: a shorter inline formula fits on any line of a phone
SCRIPTED = ("msub", "msup", "msubsup", "munder", "mover", "munderover")


def _local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


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


def check(element: ET.Element) -> None:
    """Raise if latex2mathml passed TeX through as text in ``element`` or broke a line there.

    Parameters
    ----------
    element : xml.etree.ElementTree.Element
        One element of latex2mathml's output (its children are not looked at).

    Raises
    ------
    ValueError
        Naming what is left: an unknown command, a stray ``&`` or a line break outside an
        alignment (MathML Core has no line breaks).
    """
    text = element.text or ""
    if "\\" in text:
        raise ValueError(f"{text!r} is not supported by latex2mathml")
    if _local(element) == "mi" and text == "&":
        raise ValueError("'&' outside an alignment (use aligned, align or split)")
    if element.get("linebreak"):
        raise ValueError("a line break '\\\\' outside an alignment (use aligned or split)")


def make_core(parent: ET.Element) -> None:
    """Rewrite the descendants of ``parent`` into MathML Core, depth first, in place.

    Parameters
    ----------
    parent : xml.etree.ElementTree.Element
        latex2mathml's ``<math>`` element, or any element in it.

    Raises
    ------
    ValueError
        If a descendant fails :func:`check`, or its ``mathvariant`` has no Unicode alphabet.
    """
    children = list(parent)
    for child in children:
        check(child)
        variant = child.get("mathvariant")
        if variant and variant != "normal" and _local(child) in ("mi", "mn"):
            if variant not in ALPHABETS:
                raise ValueError(f"mathvariant {variant!r} is not drawn by browsers")
            child.text = _styled(child.text or "", variant)
            del child.attrib["mathvariant"]
        if child.get("width") in SPACES:
            child.set("width", SPACES[child.get("width")])
        if (
            _local(child) == "mi"
            and len(child.text or "") == 1
            and unicodedata.category(child.text) in SYMBOL
        ):
            # \sim, \pm, \langle: latex2mathml writes an identifier, which gets no spacing
            child.tag, child.text = f"{{{NS}}}mo", "∼" if child.text == "~" else child.text
        make_core(child)
    _merge_upright_letters(parent)
    _operator_names(parent)
    _primes(parent)
    _operator_spacing(parent)


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


def _primes(parent: ET.Element) -> None:
    """``f'``: the prime right after its base, not a superscript.

    latex2mathml writes ``<msup><mi>f</mi><mi>′</mi></msup>``; the prime character is already
    drawn high, so as a superscript it floated far above the letter.
    """
    for child in list(parent):
        script = child[1] if _local(child) == "msup" and len(child) == 2 else None
        if script is None or len(script) or (script.text or " ").strip(PRIMES):
            continue
        base, prime = child
        at = list(parent).index(child)
        parent.remove(child)
        parent.insert(at, base)
        parent.insert(at + 1, ET.Element(f"{{{NS}}}mo", lspace="0", rspace="0"))
        parent[at + 1].text, parent[at + 1].tail = prime.text, child.tail


def _operator_spacing(parent: ET.Element) -> None:
    """TeX's spacing where MathML Core's operator dictionary differs: ``/`` and ``.`` are
    ordinary, and a sign after an operator, a comma or an opening parenthesis is unary (``-c``)."""
    previous = None
    for child in parent:
        text = (child.text or "").strip() if _local(child) == "mo" else None
        unary = text in SIGNS and (
            previous is None or (_local(previous) == "mo" and previous.text not in CLOSING)
        )
        if (text in ORDINARY or unary) and "lspace" not in child.attrib:
            child.set("lspace", "0")
            child.set("rspace", "0")
        previous = child


def split_inline(root: ET.Element) -> list[ET.Element]:
    """An inline formula as pieces that end after a relation or a binary operator.

    MathML Core never breaks a formula across lines, so a long one in a sentence widened a
    phone's page; TeX (and MathJax) break it after a top-level relation or binary operator.
    Written as several ``<math>`` elements, the browser breaks the line there if it must.

    Parameters
    ----------
    root : xml.etree.ElementTree.Element
        An inline ``<math>`` element, already made MathML Core.

    Returns
    -------
    list of xml.etree.ElementTree.Element
        ``[root]`` if it is short or has no place to break, else one ``<math>`` per piece.
    """
    row = root[0] if len(root) == 1 and _local(root[0]) == "mrow" else root
    if len("".join(root.itertext())) < MIN_BREAKABLE:
        return [root]
    pieces: list[list[ET.Element]] = [[]]
    for i, child in enumerate(row):
        pieces[-1].append(child)
        text = (child.text or "").strip() if _local(child) == "mo" else ""
        binary = text in BREAK_AFTER and child.get("lspace") != "0"  # not a unary minus
        if binary and 0 < i < len(row) - 1:
            pieces.append([])
    if len(pieces) == 1:
        return [root]
    out = []
    for piece in pieces:
        math = ET.Element(root.tag, root.attrib)
        ET.SubElement(math, f"{{{NS}}}mrow").extend(piece)
        out.append(math)
    return out
