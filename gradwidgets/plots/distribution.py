"""The activation-distribution figure: per-layer activation mean ± std, saturated and dead units."""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool, NumeralTickFormatter, Range1d
from bokeh.plotting import figure
from bokeh.transform import dodge

from ..core.profile import GradientProfile
from ..core.saturated import SATURATION_THRESHOLD
from .axes import stack
from .base import _floats, _item, _layer_axis, _legend
from .theme import BLACK, BLUE, ORANGE, SKY, TOOLS, VERMILLION, style


def activation_distribution_columns(profile: GradientProfile) -> dict[str, np.ndarray]:
    """Per-layer activation mean ± std, saturated and dead fractions, as columns.

    Parameters
    ----------
    profile : GradientProfile
        From :func:`gradwidgets.gradient_profile`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``layer``, ``name``, ``activation``, ``mean``, ``std``, ``lower`` (mean - std),
        ``upper`` (mean + std), ``saturation`` and ``dead`` (fractions in [0, 1], nan when
        unknown), ``y_bad`` (nan, or a height above the band where mean or std is not finite),
        ``note`` (empty, but for the middle layer when no bar is drawn: why, :data:`NO_BARS`).
        Non-finite ``mean``/``std`` entries are nan here, so they do not break the auto-range.
    """
    mean, std = _floats(profile.act_mean), _floats(profile.act_std)
    ok = np.isfinite(mean) & np.isfinite(std)
    mean, std = np.where(ok, mean, np.nan), np.where(ok, std, np.nan)
    saturation, dead = _floats(profile.saturation), _floats(profile.dead_fraction)
    upper, lower = mean + std, mean - std
    hi, lo = upper[ok].max(initial=0.0), lower[ok].min(initial=0.0)
    top = hi + (0.15 * (hi - lo) if hi > lo else 1.0)
    return {
        "layer": np.arange(1, len(profile) + 1, dtype=np.float64),
        "name": np.array(profile.layer_names, dtype=object),
        "activation": np.array(profile.activations, dtype=object),
        "mean": mean,
        "std": std,
        "lower": lower,
        "upper": upper,
        "saturation": saturation,
        "dead": dead,
        "y_bad": np.where(ok, np.nan, top),
        "note": _note(saturation, dead),
    }


NO_BARS = {
    "unmeasured": "not measured for these layers",
    "none": "no saturated or dead units in any layer",
}
"""What the saturation figure says in its frame when it draws no bar: every fraction unknown,
or every known one 0."""


def _note(saturation: np.ndarray, dead: np.ndarray) -> np.ndarray:
    """The ``note`` column: :data:`NO_BARS` at the middle layer when no bar is drawn."""
    note = np.full(len(saturation), "", dtype=object)
    both = np.concatenate([saturation, dead])
    if len(note) and not np.any(np.isfinite(both) & (both != 0)):
        note[(len(note) - 1) // 2] = NO_BARS["none" if np.isfinite(both).any() else "unmeasured"]
    return note


def activation_distribution_figure(source: ColumnDataSource):
    """Activation mean ± std per layer above, saturated and dead fractions (0 to 1) below.

    Parameters
    ----------
    source : ColumnDataSource
        Holds a dict from :func:`activation_distribution_columns`.

    Returns
    -------
    bokeh.layouts.column
        Two figures sharing the layer axis.
    """
    top = figure(title="Activations per layer", tools=TOOLS)
    _layer_axis(top)
    band = top.varea("layer", "lower", "upper", source=source, fill_color=SKY, fill_alpha=0.45)
    line = top.line("layer", "mean", source=source, color=BLUE, line_width=2)
    dots = top.scatter("layer", "mean", source=source, color=BLUE, size=7)
    bad = top.scatter("layer", "y_bad", source=source, marker="x", size=16, line_width=3, color=VERMILLION)
    top.yaxis.axis_label = "activation h"
    top.add_tools(
        HoverTool(
            renderers=[dots, bad],
            tooltips=[("layer", "@name (@activation)"), ("mean", "@mean{%.3g}"), ("std", "@std{%.3g}")],
            formatters={"@mean": "printf", "@std": "printf"},
        )
    )
    _legend(
        top,
        [
            _item("mean", line, dots),
            _item("mean ± std", band),
            _item("non-finite (NaN, ∞)", bad),
        ],
    )
    bottom = figure(title="Saturated and dead units", x_range=top.x_range, y_range=Range1d(0, 1), tools=TOOLS)
    _layer_axis(bottom)
    sat = bottom.vbar(
        dodge("layer", -0.18, range=bottom.x_range), top="saturation", width=0.34, source=source, color=ORANGE
    )
    dead = bottom.vbar(
        dodge("layer", 0.18, range=bottom.x_range), top="dead", width=0.34, source=source, color=BLACK
    )
    # an empty frame says why: zero bars draw nothing, and their legend items hide (legends.py)
    bottom.text(
        "layer",
        0.5,
        text="note",
        source=source,
        text_align="center",
        text_baseline="middle",
        text_color=BLACK,
        text_alpha=0.75,
        text_font_size="13px",
    )
    bottom.yaxis.formatter = NumeralTickFormatter(format="0%")
    bottom.xaxis.axis_label, bottom.yaxis.axis_label = "layer (input → output)", "fraction of units"
    bottom.add_tools(
        HoverTool(
            renderers=[sat, dead],
            tooltips=[("layer", "@name"), ("saturated", "@saturation{0.0%}"), ("dead", "@dead{0.0%}")],
        )
    )
    _legend(
        bottom,
        [
            _item(f"saturated (f′<{SATURATION_THRESHOLD:.0%} max)", sat),
            _item("dead (always 0)", dead),
        ],
    )
    return stack(style(top, height=260), style(bottom, height=200))


def plot_activation_distribution(profile: GradientProfile):
    """Plot per-layer activation statistics of ``profile``: see :func:`activation_distribution_figure`."""
    return activation_distribution_figure(ColumnDataSource(activation_distribution_columns(profile)))
