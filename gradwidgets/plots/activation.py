"""The activation-function figure: f and f' over a histogram of a layer's pre-activations."""

from __future__ import annotations

import numpy as np
import torch
from bokeh.core.properties import field
from bokeh.layouts import column
from bokeh.models import (
    ColumnDataSource,
    DataRange1d,
    HoverTool,
    Range1d,
)
from bokeh.plotting import figure

from ..core.activations import Activation, get_activation
from ..core.saturated import SATURATION_THRESHOLD
from .base import (
    _HIST_KEYS,
    Z_RANGE,
    _floats,
    _item,
    _legend,
)
from .theme import BLUE, ORANGE, SKY, TOOLS, VERMILLION, style

# ---------------------------------------------------------------- 3. activation function


def activation_curve_columns(activation: Activation | str, num: int = 601) -> dict[str, np.ndarray]:
    """An activation function and its derivative on a grid of z over :data:`Z_RANGE`.

    Parameters
    ----------
    activation : Activation or str
        A registry entry (``gradwidgets.ACTIVATIONS[name]``) or its name.
    num : int
        Number of grid points.

    Returns
    -------
    dict of str to numpy.ndarray
        ``z``, ``f`` (f(z)), ``df`` (f'(z), from ``activation.derivative``), ``df_max`` (the
        activation's ``max_derivative``, repeated) and ``saturated`` (1 where
        f'(z) < ``SATURATION_THRESHOLD`` * max f', else 0).
    """
    act = get_activation(activation) if isinstance(activation, str) else activation
    z = torch.linspace(*Z_RANGE, num, dtype=torch.float64)
    with torch.no_grad():
        f, df = act(z).numpy(), act.derivative(z).numpy()
    return {
        "z": z.numpy(),
        "f": _floats(f),
        "df": _floats(df),
        "df_max": np.full(num, float(act.max_derivative)),
        "saturated": (df < SATURATION_THRESHOLD * act.max_derivative).astype(np.float64),
    }


def preactivation_hist_columns(z_values: np.ndarray | None, bins: int = 60) -> dict[str, np.ndarray]:
    """A histogram of pre-activations z over :data:`Z_RANGE`, scaled so the tallest bar is 1.

    Parameters
    ----------
    z_values : array_like or None
        Pre-activation values (any shape; flattened). None or empty gives empty columns.
    bins : int
        Number of equal-width bins over :data:`Z_RANGE`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``left``, ``right``, ``count``, ``density`` (count / max count), ``beyond`` (how many
        of the count lie beyond the range) and ``hatch`` (``"/"`` for such a bin, else ``" "``).
        Values beyond the range, infinities included, are counted in the outermost bins so
        saturated mass stays visible (hatched); NaN values are dropped.
    """
    z = np.asarray([] if z_values is None else z_values, dtype=np.float64).reshape(-1)
    z = z[~np.isnan(z)]
    if z.size == 0:
        return {k: np.zeros(0) for k in _HIST_KEYS} | {"hatch": np.array([], dtype=object)}
    count, edges = np.histogram(np.clip(z, *Z_RANGE), bins=bins, range=Z_RANGE)
    beyond = np.zeros(bins)
    beyond[0], beyond[-1] = np.sum(z < Z_RANGE[0]), np.sum(z > Z_RANGE[1])
    count = count.astype(np.float64)
    return {
        "left": edges[:-1],
        "right": edges[1:],
        "count": count,
        "density": count / count.max(),
        "beyond": beyond,
        "hatch": np.where(beyond > 0, "/", " ").astype(object),
    }


def activation_figure(curve_source: ColumnDataSource, hist_source: ColumnDataSource):
    """f(z) above, f'(z) below, over the histogram of pre-activations and the saturated region.

    Parameters
    ----------
    curve_source : ColumnDataSource
        Holds a dict from :func:`activation_curve_columns`.
    hist_source : ColumnDataSource
        Holds a dict from :func:`preactivation_hist_columns` (may be empty).

    Returns
    -------
    bokeh.layouts.column
        Two figures sharing the fixed z axis :data:`Z_RANGE`. The dashed line is the
        activation's largest slope; shaded: f'(z) below ``SATURATION_THRESHOLD`` of it.
    """
    x_range = Range1d(*Z_RANGE)
    panels = []
    for curve, color, label in (("f", BLUE, "f(z)"), ("df", VERMILLION, "f′(z)")):
        fig = figure(x_range=x_range, tools=TOOLS)
        fig.extra_y_ranges = {"unit": Range1d(0, 1), "hist": Range1d(0, 1.15)}
        shade = fig.varea(
            "z", 0, "saturated", source=curve_source, y_range_name="unit", fill_color=ORANGE, fill_alpha=0.15
        )
        hist = fig.quad(
            left="left",
            right="right",
            bottom=0,
            top="density",
            source=hist_source,
            y_range_name="hist",
            fill_color=SKY,
            fill_alpha=0.45,
            line_color=None,
            hatch_pattern=field("hatch"),
            hatch_color=BLUE,
            hatch_alpha=0.6,
        )
        line = fig.line("z", curve, source=curve_source, color=color, line_width=2.5)
        fig.y_range = DataRange1d(renderers=[line], range_padding=0.08)
        fig.yaxis.axis_label = label
        items = [_item(label, line)]
        if curve == "df":
            peak = fig.line(
                "z", "df_max", source=curve_source, color=color, line_dash="dashed", line_width=1.5
            )
            fig.y_range.renderers = [line, peak]
            fig.xaxis.axis_label = "pre-activation z"
            items.append(_item("max f′", peak))
        items += [
            _item("z (hatched: |z|>6)", hist),
            _item("saturated", shade),
        ]
        fig.add_tools(
            HoverTool(
                renderers=[hist],
                tooltips=[
                    ("z", "@left{0.0} to @right{0.0}"),
                    ("count", "@count{0}"),
                    ("beyond ±6", "@beyond{0}"),
                ],
            )
        )
        _legend(fig, items)
        panels.append(style(fig, height=230))
    panels[0].title.text = "The activation and where z falls"
    return column(*panels, sizing_mode="stretch_width")


def plot_activation_function(
    activation: Activation | str, z_values: np.ndarray | None = None, bins: int = 60
):
    """Plot ``activation`` and its derivative over a histogram of ``z_values``: see ``activation_figure``."""
    return activation_figure(
        ColumnDataSource(activation_curve_columns(activation)),
        ColumnDataSource(preactivation_hist_columns(z_values, bins)),
    )
