"""A table of computed values that prints as text and shows as an HTML table in a notebook."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..core._util import fmt, format_table

_SCI = re.compile(r"^(-?\d+(?:\.\d+)?)e([+-])0*(\d+)$")
_NUMERIC = re.compile(r"^[-+]?(\d|\.\d|∞|NaN)")
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_STYLE = "border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em;"
_CELL = "padding: 0.25em 0.7em; border-bottom: 1px solid #ddd;"
_HEAD = "padding: 0.25em 0.7em; border-bottom: 1px solid #888; vertical-align: bottom;"


def format_value(value: object) -> str:
    """A cell as text: floats in 3 significant digits (scientific when far from 1)."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "-"}[value]
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0):
        x = float(value)
        return fmt(x) if math.isfinite(x) else {math.inf: "∞", -math.inf: "-∞"}.get(x, "NaN")
    return str(value)


def _powers_of_ten(text: str) -> str:
    """``2.55e-06`` as ``2.55 × 10⁻⁶`` (with no-break spaces); anything else unchanged."""
    m = _SCI.match(text)
    if not m:
        return text
    mantissa, sign, exponent = m.groups()
    power = ("-" if sign == "-" else "") + exponent
    return f"{mantissa}\u00a0×\u00a010{power.translate(_SUPERSCRIPT)}"  # no line break inside


def pretty(x: float, digits: int = 2) -> str:
    """A number for prose, in ``digits`` significant digits: ``3.1 × 10⁻⁷`` rather than ``3.1e-07``.

    Numbers from 0.01 to 10,000 are written plainly, never rounded left of the decimal point
    (``0.23``, ``6.8``, ``32``, ``229``).
    """
    x = float(x)
    if not math.isfinite(x):
        return format_value(x)
    if x == 0 or 1e-2 <= abs(x) < 1e4:
        decimals = max(digits - 1 - math.floor(math.log10(abs(x))), 0) if x else 0
        return f"{x:.{decimals}f}"
    return _powers_of_ten(f"{x:.{digits - 1}e}")


@dataclass(frozen=True)
class Table:
    """Rows of values under a header; the columns named in ``math`` hold LaTeX."""

    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    math: frozenset[str] = frozenset()

    def column(self, name: str) -> list[object]:
        """The raw values of one column, top to bottom."""
        i = self.header.index(name)
        return [row[i] for row in self.rows]

    def __repr__(self) -> str:
        return format_table(list(self.header), [[format_value(v) for v in row] for row in self.rows])

    def _align(self, name: str) -> str:
        """Right for a column of numbers, left for text and formulas."""
        if name in self.math:
            return "left"
        shown = [format_value(v) for v in self.column(name)]
        return "right" if all(_NUMERIC.match(t) or t == "-" for t in shown) else "left"

    def _repr_html_(self) -> str:
        align = {h: self._align(h) for h in self.header}
        head = "".join(
            f'<th style="{_HEAD} text-align: {align[h]};">{html.escape(h)}</th>' for h in self.header
        )
        body = []
        for row in self.rows:
            cells = []
            for name, value in zip(self.header, row, strict=True):
                if name in self.math:
                    text = f'<span class="math notranslate nohighlight">\\({value}\\)</span>'
                else:
                    text = html.escape(_powers_of_ten(format_value(value)))
                style = f"{_CELL} text-align: {align[name]}; white-space: nowrap;"
                cells.append(f'<td style="{style}">{text}</td>')
            body.append(f"<tr>{''.join(cells)}</tr>")
        return (
            f'<table class="gw-table" style="{_STYLE}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )


def table(rows: Iterable[Mapping[str, object]], math: Iterable[str] = ()) -> Table:
    """A :class:`Table` from dicts that share their keys; the first row's order gives the columns.

    Parameters
    ----------
    rows : iterable of mapping
        One dict per row, column name to value. Floats are shown with 3 significant digits.
    math : iterable of str
        Names of the columns whose values are LaTeX, shown as typeset formulas.

    Returns
    -------
    Table
    """
    rows = [dict(r) for r in rows]
    if not rows:
        raise ValueError("rows: need at least one row")
    header = tuple(rows[0])
    for i, r in enumerate(rows):
        if tuple(r) != header:
            raise ValueError(f"rows[{i}] has columns {tuple(r)}; expected {header}")
    math = frozenset(math)
    unknown = math - set(header)
    if unknown:
        raise ValueError(f"math: {sorted(unknown)} are not columns; columns: {header}")
    return Table(header, tuple(tuple(r.values()) for r in rows), math)
