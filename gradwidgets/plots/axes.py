"""Axis ticks and labels a reader can read, and stacked figures that line up.

Bokeh's own log ticker labels every third (or sixth) decade of a long axis at whatever offset
the range happens to give (10⁴, 10¹, 10⁻²), and only two labels on a loss axis that spans one or
two decades; its linear formatter writes ``2.500e+21``, wide enough to push a frame sideways.
:func:`log_ticker` labels every decade, or every second, third, ... at multiples of that step
when the plot is too short for all of them, and 1-2-5 (or every integer) mantissas on an axis
under two decades; :func:`log_formatter` writes ``10⁻⁶``, ``2×10⁻⁶`` or, on an axis within
0.001 to 10⁴, plain numbers; :func:`short_formatter` writes the fewest significant digits
that keep the labels distinct (``2.5e21``, ``0.05``). :func:`~gradwidgets.plots.theme.style`
puts them on every figure. :func:`stack` lays figures one above another with one shared x range
and frames whose left edges line up.
"""

from __future__ import annotations

from bokeh.layouts import column
from bokeh.models import CustomJSTicker, CustomJSTickFormatter, LayoutDOM
from bokeh.plotting import figure

LABEL_SPACING = 22
"""Pixels of axis height per log-axis label (12 px text plus a gap)."""
BORDER_LEFT = 76
"""Pixels left of every frame: room for ``10⁻²⁰`` or ``2.5e21`` and the axis label, so that
figures stacked one above another keep their frames' left edges in line."""

_LOG_TICKS_JS = """
const lo = Math.min(cb_data.start, cb_data.end), hi = Math.max(cb_data.start, cb_data.end);
const ticks = (() => {
  if (!(lo > 0) || !Number.isFinite(hi)) { return {major: [], step: 0}; }
  const a = Math.log10(lo), b = Math.log10(hi);
  const keep = (t) => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9);
  const pow = (m, e) => Number((m * 10 ** e).toPrecision(12));
  // the densest of 1..9, 1-2-5, 1-3 per decade that fits
  for (const ms of [[1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 5], [1, 3]]) {
    const out = [];
    for (let e = Math.floor(a); e <= Math.ceil(b); e++) {
      for (const m of ms) { if (keep(pow(m, e))) { out.push(pow(m, e)); } }
    }
    if (out.length < 3) {  // under a decade with fewer than three: evenly spaced ticks
      const raw = (hi - lo) / 5, unit = 10 ** Math.floor(Math.log10(raw));
      const nice = [1, 2, 5, 10].map((m) => m * unit).find((s) => s >= raw * (1 - 1e-9));
      const lin = [];
      for (let k = Math.ceil(lo / nice); k * nice <= hi * (1 + 1e-9); k++) { lin.push(pow(k, 0) * nice); }
      return {major: lin.map((t) => Number(t.toPrecision(12))), step: 0};
    }
    if (out.length <= max_labels) { return {major: out, step: 0}; }
  }
  // every decade, or every 2nd, 3rd, ... at multiples of the step
  let step = 1;
  for (const s of [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 25, 30, 50, 100]) {
    step = s;
    if (Math.floor(b / s) - Math.ceil(a / s) + 1 <= max_labels) { break; }
  }
  const major = [];
  for (let e = Math.ceil(a / step) * step; e <= b + 1e-9; e += step) {
    if (keep(pow(1, e))) { major.push(pow(1, e)); }
  }
  const minor = [];
  for (let e = Math.ceil(a); step > 1 && e <= Math.floor(b); e++) {
    if (!major.includes(pow(1, e))) { minor.push(pow(1, e)); }
  }
  return {major, minor, step};
})();
"""
_MAJOR_JS = _LOG_TICKS_JS + "return ticks.major;"
_MINOR_JS = _LOG_TICKS_JS + "return ticks.minor ?? [];"

LOG_LABEL_JS = """
const SUP = {"-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶",
             "7": "⁷", "8": "⁸", "9": "⁹"};
if (!(tick > 0)) { return String(tick); }
if (ticks.every((t) => t >= 1e-3 && t < 1e4)) { return String(Number(tick.toPrecision(3))); }
const e = Math.floor(Math.log10(tick) + 1e-9);
const m = Number((tick / 10 ** e).toPrecision(3));
const power = "10" + String(e).replace(/[-0-9]/g, (c) => SUP[c]);
return m === 1 ? power : m + "×" + power;
"""
"""A log-axis label: ``10⁻⁶`` and ``2×10⁻⁶``, or plain numbers when every tick lies in [0.001, 10⁴)."""

SHORT_LABEL_JS = """
const fmt = (t, d) => {
  if (t === 0) { return "0"; }
  const a = Math.abs(t);
  if (a >= 1e-3 && a < 1e5) { return String(Number(t.toPrecision(d))); }
  return t.toExponential(d - 1).replace("e+", "e").replace(/\\.?0+e/, "e");
};
if (this.digits === undefined) {
  const scale = Math.max(...ticks.map(Math.abs));
  const clean = ticks.map((t) => (Math.abs(t) < scale * 1e-12 ? 0 : t));
  this.clean = clean;
  this.digits = 12;
  for (let d = 1; d <= 12; d++) {
    const labels = clean.map((t) => fmt(t, d));
    const exact = labels.every((s, i) => Math.abs(Number(s) - clean[i]) <= 1e-9 * scale);
    if (exact || new Set(labels).size === new Set(clean).size && d >= 6) { this.digits = d; break; }
  }
}
return fmt(this.clean[index], this.digits);
"""
"""A linear-axis label: the fewest significant digits (1 to 12) that write every tick exactly
(to 10⁻⁹ of the largest; from 6 digits on, distinct is enough); plain from 0.001 to 10⁵, else
``2.5e21``; a tick within 10⁻¹² of the largest of 0 is 0."""


def log_ticker(height: int) -> CustomJSTicker:
    """Decade ticks for a log axis of ``height`` pixels: every decade when they fit.

    Parameters
    ----------
    height : int
        The figure's height; the axis gets at most ``max(4, (height - 70) // LABEL_SPACING)``
        labels: the densest of 1..9, 1-2-5 or 1-3 in each decade that fits; else every decade,
        or every 2nd, 3rd, ... at multiples of that step (the first that fits), the decades
        between them as minor ticks; evenly spaced ticks (0.69, 0.7, 0.71) on an axis so short
        that the mantissas give fewer than three.

    Returns
    -------
    bokeh.models.CustomJSTicker
    """
    args = {"max_labels": max(4, (int(height) - 70) // LABEL_SPACING)}
    return CustomJSTicker(major_code=_MAJOR_JS, minor_code=_MINOR_JS, args=args)


def log_formatter() -> CustomJSTickFormatter:
    """Labels for :func:`log_ticker`'s ticks (see :data:`LOG_LABEL_JS`)."""
    return CustomJSTickFormatter(code=LOG_LABEL_JS)


def short_formatter() -> CustomJSTickFormatter:
    """Compact labels for a linear axis (see :data:`SHORT_LABEL_JS`)."""
    return CustomJSTickFormatter(code=SHORT_LABEL_JS)


def _figures(item) -> list[figure]:
    if isinstance(item, figure):
        return [item]
    return [f for child in getattr(item, "children", []) for f in _figures(child)]


def stack(*items: LayoutDOM, share_x: bool = True) -> column:
    """Figures (or columns of figures) one above another, frames aligned, one x range.

    Parameters
    ----------
    *items : bokeh.plotting.figure or bokeh.layouts.column
        Top to bottom; a column's figures are taken in order.
    share_x : bool
        Give every figure the first figure's x range (pan and zoom one, all follow); False for
        figures whose x axes measure different things (time steps above training steps).

    Returns
    -------
    bokeh.layouts.column
        Every figure keeps :data:`BORDER_LEFT` (or the largest ``min_border_left`` among them)
        left of its frame, so the frames' left edges line up.
    """
    figs = [f for item in items for f in _figures(item)]
    border = max([BORDER_LEFT, *(f.min_border_left or 0 for f in figs)])
    for fig in figs:
        fig.min_border_left = border
        if share_x and fig is not figs[0]:
            fig.x_range = figs[0].x_range
    return column(*items, sizing_mode="stretch_width")
