"""The gradient heatmap of a training ``History``: log10 ||dL/dW|| per layer and recorded step.

Same contract as :mod:`gradwidgets.plots`: ``gradient_heatmap_columns`` turns a history into
columns, ``gradient_heatmap_figure`` binds colored cells to them, ``plot_gradient_heatmap``
does both.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import (
    BasicTicker,
    ColorBar,
    ColumnDataSource,
    HoverTool,
    LinearColorMapper,
    SingleIntervalTicker,
)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from ..core.training import History
from .base import _floats
from .theme import TOOLS, VERMILLION, style

HEATMAP_LOW = -8.0
"""log10 of the smallest gradient norm the heatmap tells apart; smaller ones share its color."""
HEATMAP_HIGH = 4.0
"""log10 of the largest gradient norm the heatmap tells apart; larger ones share its color."""


def gradient_heatmap_columns(history: History) -> dict[str, np.ndarray]:
    """One row per (recorded step, layer) cell: the layer's ||dL/dW|| at that step.

    Parameters
    ----------
    history : History
        From :func:`gradwidgets.train`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``step``, ``layer`` (1..L, input first), ``name``, ``value`` (||dL/dW||, may be nan or
        inf), ``log10_norm`` (log10 of it: -inf for 0, NaN for non-finite) and ``width`` (the
        spacing of recorded steps, the cell width). Rows go record by record.
    """
    norms = np.asarray(history.layer_grad_norm, dtype=np.float64)
    records, layers = norms.shape if norms.ndim == 2 else (0, len(history.layer_names))
    steps = _floats(history.steps)
    value = norms.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log10 = np.where(np.isfinite(value), np.log10(value), np.nan)
    width = float(np.median(np.diff(steps))) if records > 1 else 1.0
    return {
        "step": np.repeat(steps, layers),
        "layer": np.tile(np.arange(1, layers + 1, dtype=np.float64), records),
        "name": np.tile(np.array(history.layer_names, dtype=object), records),
        "value": value,
        "log10_norm": log10,
        "width": np.full(value.size, width),
    }


def gradient_heatmap_figure(source: ColumnDataSource) -> figure:
    """log10 ||dL/dW|| per layer (rows) and recorded step (columns), as colored cells.

    Parameters
    ----------
    source : ColumnDataSource
        Holds a dict from :func:`gradient_heatmap_columns`.

    Returns
    -------
    bokeh.plotting.figure
        The color scale is FIXED at log10 in [:data:`HEATMAP_LOW`, :data:`HEATMAP_HIGH`] so a
        color means the same norm in every configuration; values beyond it take the end colors
        and non-finite cells are vermillion.
    """
    mapper = LinearColorMapper(palette=Viridis256, low=HEATMAP_LOW, high=HEATMAP_HIGH, nan_color=VERMILLION)
    fig = figure(title="Gradient norm per layer during training", tools=TOOLS)
    cells = fig.rect(
        "step",
        "layer",
        width="width",
        height=1,
        source=source,
        line_color={"field": "log10_norm", "transform": mapper},  # no hairline gaps between cells
        dilate=True,
        fill_color={"field": "log10_norm", "transform": mapper},
    )
    fig.add_tools(
        HoverTool(
            renderers=[cells],
            tooltips=[("layer", "@name (@layer{0})"), ("step", "@step{0}"), ("‖dL/dW‖", "@value{%.3e}")],
            formatters={"@value": "printf"},
        )
    )
    bar = ColorBar(
        color_mapper=mapper,
        ticker=SingleIntervalTicker(interval=2),
        title="log₁₀ ‖dL/dW‖",
        height=10,
        orientation="horizontal",
        title_text_font_style="normal",
        title_standoff=4,
    )
    fig.add_layout(bar, "above")  # not "right": the frame keeps the width of the plots above it
    fig.xaxis.ticker = BasicTicker(min_interval=1)
    fig.yaxis.ticker = BasicTicker(min_interval=1, desired_num_ticks=10)
    fig.xaxis.axis_label, fig.yaxis.axis_label = "step", "layer (input → output)"
    fig.x_range.range_padding = fig.y_range.range_padding = 0
    fig.grid.visible = False
    return style(fig, height=300)


def plot_gradient_heatmap(history: History) -> figure:
    """Plot the layer x step heatmap of ``history``: see :func:`gradient_heatmap_figure`."""
    return gradient_heatmap_figure(ColumnDataSource(gradient_heatmap_columns(history)))
