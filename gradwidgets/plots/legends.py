"""Legends that list only what is drawn, and that fit a phone's width.

A legend item whose renderers draw nothing (a "non-finite" marker column that is all NaN, an
"after clipping" line where nothing was clipped, bars of height 0) is hidden, and shown again
when the explorer's next result has something to draw: :func:`follow_data` sets each item's
``visible`` from the sources' data now, and a ``CustomJS`` on every source keeps it so in the
browser when ``source.data`` is replaced (both faces of an explorer replace it). A horizontal
legend breaks into as many rows as it needs to stay within :data:`PHONE_FRAME` pixels
(:func:`legend_columns`).
"""

from __future__ import annotations

import numpy as np
from bokeh.models import CustomJS, GlyphRenderer, Legend, LegendItem
from bokeh.plotting import figure

PHONE_FRAME = 270
"""Pixels a plot's frame keeps on a 390-pixel-wide phone screen: legends stay within it."""
CHAR_WIDTH = 5.5
"""Width in pixels of a legend character at 12 px (measured in Chromium: 5.35 on average)."""

_MEASURED = (("top", True), ("y", False), ("y2", True), ("x", False))
"""The glyph property read to tell whether a renderer draws anything, first found first, and
whether a 0 in it draws nothing (a bar's top, an area's upper edge)."""

FOLLOW_JS = """
const MEASURED = [["top", true], ["y", false], ["y2", true], ["x", false]];
const drawn = (r) => {
  const data = r.data_source.data;
  for (const [name, nonzero] of MEASURED) {
    const spec = r.glyph[name];
    if (spec == null || typeof spec !== "object" || !("field" in spec)) { continue; }
    const col = data[spec.field] ?? data.get?.(spec.field);
    if (col == null) { continue; }
    for (const v of col) { if (Number.isFinite(v) && (!nonzero || v !== 0)) { return true; } }
    return false;
  }
  return true;
};
for (const item of items) { item.visible = item.renderers.some(drawn); }
"""
"""The browser's copy of :func:`drawn`, run on every change of a legend renderer's source."""


def drawn(renderer: GlyphRenderer) -> bool:
    """True when ``renderer`` draws something with its source's current data.

    The first of ``top`` (a bar) and ``y2`` (an area: finite and non-zero), ``y`` and ``x``
    (finite) that the glyph reads from a column decides; a glyph reading none of them draws.
    """
    data = renderer.data_source.data
    for name, nonzero in _MEASURED:
        spec = getattr(renderer.glyph, name, None)
        if not (isinstance(spec, str) and spec in data):
            continue
        col = np.asarray(data[spec])
        if col.dtype.kind not in "fiub":
            return True
        col = col.astype(np.float64)
        return bool(np.any(np.isfinite(col) & ((col != 0) if nonzero else True)))
    return True


def follow_data(fig: figure, items: list[LegendItem] | None = None) -> None:
    """Show each legend item of ``fig`` only while one of its renderers draws something.

    ``items``: only these (added after :func:`~gradwidgets.plots.theme.style` followed the rest).
    """
    if items is None:
        items = [item for legend in fig.legend for item in legend.items]
    items = [item for item in items if item.renderers]
    if not items:
        return
    callback = CustomJS(args={"items": items}, code=FOLLOW_JS)
    sources = {}
    for item in items:
        item.visible = any(drawn(r) for r in item.renderers)
        for r in item.renderers:
            sources[r.data_source.id] = r.data_source
    for source in sources.values():
        source.js_on_change("data", callback)


def _label(item: LegendItem) -> str:
    label = item.label
    return str(label.get("value", "") if isinstance(label, dict) else getattr(label, "value", label) or "")


def legend_columns(legend: Legend, width: float = PHONE_FRAME) -> int:
    """The most items per row for which every row of ``legend`` fits in ``width`` pixels.

    Estimated from the labels' lengths (:data:`CHAR_WIDTH` per character), the glyph width,
    standoff, spacing and padding; counts every item, shown or not.
    """
    items = legend.items
    if not items:
        return 1
    widths = [legend.glyph_width + legend.label_standoff + CHAR_WIDTH * len(_label(i)) for i in items]
    for ncols in range(len(widths), 0, -1):
        cols = [max(widths[c::ncols]) for c in range(ncols)]
        if sum(cols) + legend.spacing * (ncols - 1) + 2 * legend.padding <= width:
            return ncols
    return 1
