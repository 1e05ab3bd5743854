"""Shared pieces of the plots: thresholds, log-scale columns and the log-scale figure.

Log-scale plots cannot show zero, NaN or infinity, so their columns carry them separately:
``y`` is the value where it is finite and positive (else NaN, which Bokeh skips), ``y_bad`` puts
a red x at the top of the plot for a non-finite value and ``y_zero`` a triangle at the bottom
for an exact zero. ``zone_lo``/``zone_hi`` are invisible points that keep both shaded zones,
vanishing (below :data:`VANISHING_BELOW`) and exploding (above :data:`EXPLODING_ABOVE`), in
view, so a learner always sees how far the gradients sit from them.
"""

from __future__ import annotations

import numpy as np
from bokeh.core.properties import value
from bokeh.models import (
    BasicTicker,
    BoxAnnotation,
    ColumnDataSource,
    Label,
    Legend,
    LegendItem,
    Node,
)
from bokeh.plotting import figure

from ..core.thresholds import EXPLODING_ABSOLUTE, VANISHING_ABSOLUTE
from .theme import BLUE, SKY, TOOLS, VERMILLION

VANISHING_BELOW = VANISHING_ABSOLUTE
"""A gradient norm below this is shaded as vanishing: an SGD step barely moves the weights
(diagnose's absolute vanishing threshold, :data:`gradwidgets.core.thresholds.VANISHING_ABSOLUTE`)."""
EXPLODING_ABOVE = EXPLODING_ABSOLUTE
"""A gradient norm above this is shaded as exploding: one SGD step would wreck the weights
(diagnose's absolute exploding threshold, :data:`gradwidgets.core.thresholds.EXPLODING_ABSOLUTE`)."""

Z_RANGE = (-6.0, 6.0)
"""The pre-activation interval over which activation functions are drawn."""

_SCI = "{%.3e}"
_HIST_KEYS = ("left", "right", "count", "density", "beyond")
_LOG_HEIGHT = 320
_ZONE_LO, _ZONE_HI = VANISHING_BELOW / 10, EXPLODING_ABOVE * 10
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


# ---------------------------------------------------------------- shared: log-scale series


def _floats(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _log_columns(values) -> dict[str, np.ndarray]:
    """A series for a log axis, with what the axis cannot show moved to marker columns."""
    v = _floats(values)
    finite = np.isfinite(v)
    shown = finite & (v > 0)
    top = max(_ZONE_HI, v[shown].max(initial=0.0))
    bottom = min(_ZONE_LO, v[shown].min(initial=np.inf))
    return {
        "value": v,
        "y": np.where(shown, v, np.nan),
        "y_bad": np.where(finite, np.nan, 10 * top),
        "y_zero": np.where(finite & ~shown, bottom / 10, np.nan),
        "zone_lo": np.full(v.size, _ZONE_LO),
        "zone_hi": np.full(v.size, _ZONE_HI),
    }


def _pow10(x: float) -> str:
    """``1e-06`` as ``10⁻⁶`` (other numbers as ``:g``)."""
    e = round(np.log10(x))
    return f"10{str(e).translate(_SUPERSCRIPT)}" if x == 10.0**e else f"{x:g}"


def _item(label: str, *renderers) -> LegendItem:
    return LegendItem(label=value(label), renderers=list(renderers))


def _legend(fig: figure, items: list[LegendItem]) -> None:
    fig.add_layout(Legend(items=items, orientation="horizontal", location="top_left"), "above")


def _layer_axis(fig: figure) -> None:
    """Integer x ticks (layers, time steps), as many as fit."""
    fig.xaxis.ticker = BasicTicker(min_interval=1, desired_num_ticks=6)  # 6: legible on a phone too


def _log_figure(title: str, x_label: str, y_label: str) -> figure:
    fig = figure(title=title, y_axis_type="log", tools=TOOLS)
    fig.xaxis.axis_label, fig.yaxis.axis_label = x_label, y_label
    _layer_axis(fig)
    fig.x_range.range_padding = 0.05
    zones = [
        (None, VANISHING_BELOW, SKY, 0.25, BLUE, "bottom", f"vanishing: below {_pow10(VANISHING_BELOW)}"),
        (
            EXPLODING_ABOVE,
            None,
            VERMILLION,
            0.12,
            VERMILLION,
            "bottom",
            f"exploding: above {_pow10(EXPLODING_ABOVE)}",
        ),
    ]
    # labels in the right-hand corners, the exploding one over its zone's edge and the vanishing
    # one at the frame's bottom: the data rises to the right when gradients vanish toward the
    # input (first layer, first time step), and explode from it, so a line crossing 10^-6 near
    # the right (an LSTM's last steps) would run through a label on that edge
    right = Node(target="frame", symbol="right", offset=-6)
    floor = Node(target="frame", symbol="bottom", offset=-4)
    for bottom, top, fill, alpha, color, baseline, text in zones:
        fig.add_layout(
            BoxAnnotation(bottom=bottom, top=top, fill_color=fill, fill_alpha=alpha, level="underlay")
        )
        fig.add_layout(
            Label(
                x=right,
                y=bottom if bottom else floor,
                y_offset=3 if bottom else 0,
                text=text,
                text_align="right",
                text_baseline=baseline,
                text_color=color,
                text_font_size="11px",
                text_font_style="italic",
            )
        )
    return fig


def _log_series(
    fig: figure, source: ColumnDataSource, x: str, color: str, bad_color: str, second: bool = False
) -> tuple:
    """Line and dots for ``y``, x markers for ``y_bad``, triangles for ``y_zero``.

    ``second``: a dashed line and hollow squares, so a series drawn over an equal one leaves
    the first visible (compare A with B set alike).
    """
    dash, marker, size, fill = ("dashed", "square", 10, None) if second else ("solid", "circle", 7, color)
    line = fig.line(x, "y", source=source, color=color, line_width=2, line_dash=dash)
    dots = fig.scatter(x, "y", source=source, marker=marker, size=size, line_color=color, fill_color=fill)
    dots.glyph.line_width = 2 if second else 1
    bad = fig.scatter(x, "y_bad", source=source, marker="x", size=16, line_width=3, color=bad_color)
    zero = fig.scatter(x, "y_zero", source=source, marker="inverted_triangle", size=11, color=color)
    for col in ("zone_lo", "zone_hi"):  # invisible: keeps both zones in the auto-range
        fig.scatter(x, col, source=source, size=1, line_color=None, fill_color=None)
    return line, dots, bad, zero


def _positive(x: np.ndarray) -> np.ndarray:
    """``x`` where finite and > 0, else NaN: what a log axis can draw."""
    return np.where(np.isfinite(x) & (x > 0), x, np.nan)
