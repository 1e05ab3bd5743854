"""Bokeh figures of a training ``History``: loss and gradient-norm curves, and a layer x step heatmap.

Same contract as :mod:`gradwidgets.plots` (which re-exports every public name here): ``*_columns``
turn a history into dicts of equal-length numpy arrays, ``*_figure`` bind glyphs to those
columns without reading them, ``plot_*`` do both.
"""

from __future__ import annotations

import numpy as np
from bokeh.core.properties import value
from bokeh.layouts import column
from bokeh.models import (
    BasicTicker,
    ColorBar,
    ColumnDataSource,
    HoverTool,
    LabelSet,
    LegendItem,
    LinearColorMapper,
    SingleIntervalTicker,
)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from ..core.training import History
from .base import _TOOLS, _floats, _legend, _positive
from .theme import BLACK, BLUE, ORANGE, VERMILLION, style

HEATMAP_LOW = -8.0
"""log10 of the smallest gradient norm the heatmap tells apart; smaller ones share its color."""
HEATMAP_HIGH = 4.0
"""log10 of the largest gradient norm the heatmap tells apart; larger ones share its color."""

# ---------------------------------------------------------------- 4. training curves


def loss_columns(history: History) -> dict[str, np.ndarray]:
    """The loss at every step, as columns for a log-scale plot.

    Parameters
    ----------
    history : History
        From :func:`gradwidgets.train`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``step`` (0, 1, ...), ``loss`` (as recorded, may be nan or inf) and ``y`` (the loss
        where finite and > 0, else NaN so the log plot skips it).
    """
    loss = _floats(history.loss)
    return {"step": np.arange(loss.size, dtype=np.float64), "loss": loss, "y": _positive(loss)}


def norm_columns(history: History) -> dict[str, np.ndarray]:
    """The total gradient norm before and after clipping at every recorded step.

    Parameters
    ----------
    history : History
        From :func:`gradwidgets.train`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``rec_step`` (``history.steps``), ``norm_before``, ``norm_after`` (as recorded) and
        ``y_before``, ``y_after`` (the same where finite and > 0, else NaN).
    """
    before, after = _floats(history.total_norm_before), _floats(history.total_norm_after)
    return {
        "rec_step": _floats(history.steps),
        "norm_before": before,
        "norm_after": after,
        "y_before": _positive(before),
        "y_after": _positive(after),
    }


def divergence_columns(history: History) -> dict[str, np.ndarray]:
    """Where training diverged: one row, or none when it did not.

    Parameters
    ----------
    history : History
        From :func:`gradwidgets.train`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``step`` (``[history.diverged_at]`` or empty) and ``label`` (the text drawn by the line).
    """
    at = history.diverged_at
    if at is None:
        return {"step": np.zeros(0), "label": np.array([], dtype=object)}
    return {
        "step": np.array([at], dtype=np.float64),
        "label": np.array([f"diverged at step {at}"], dtype=object),
    }


def training_columns(history: History) -> tuple[dict[str, np.ndarray], ...]:
    """The three column dicts of :func:`training_figure`: loss, norms and divergence.

    Parameters
    ----------
    history : History
        From :func:`gradwidgets.train`.

    Returns
    -------
    tuple of dict
        ``(loss_columns(history), norm_columns(history), divergence_columns(history))``.
    """
    return loss_columns(history), norm_columns(history), divergence_columns(history)


def _divergence(fig: figure, source: ColumnDataSource) -> None:
    """A vertical line and its label at each ``step`` of ``source`` (none or one)."""
    fig.vspan(x="step", source=source, line_color=VERMILLION, line_width=2, line_dash="dashed")
    fig.add_layout(
        LabelSet(
            x="step",
            y=6,
            y_units="screen",
            text="label",
            source=source,
            x_offset=-4,
            text_align="right",
            text_color=VERMILLION,
            text_font_size="12px",
        )
    )


def training_figure(
    loss_source: ColumnDataSource, norm_source: ColumnDataSource, divergence_source: ColumnDataSource
):
    """Loss per step above, total gradient norm before/after clipping below; both log y, shared x.

    Parameters
    ----------
    loss_source : ColumnDataSource
        Holds a dict from :func:`loss_columns`.
    norm_source : ColumnDataSource
        Holds a dict from :func:`norm_columns`.
    divergence_source : ColumnDataSource
        Holds a dict from :func:`divergence_columns`: a dashed vertical line where training
        diverged (the non-finite loss itself is left off the log axis).

    Returns
    -------
    bokeh.layouts.column
        Two figures sharing the step axis.
    """
    top = figure(title="Training", y_axis_type="log", tools=_TOOLS)
    loss = top.line("step", "y", source=loss_source, color=BLACK, line_width=2)
    dots = top.scatter("step", "y", source=loss_source, color=BLACK, size=3)  # a lone point still shows
    top.add_tools(
        HoverTool(
            renderers=[loss],
            mode="vline",
            tooltips=[("step", "@step{0}"), ("loss", "@loss{%.3e}")],
            formatters={"@loss": "printf"},
        )
    )
    top.yaxis.axis_label = "loss (log scale)"
    _divergence(top, divergence_source)
    items = [LegendItem(label=value("loss"), renderers=[loss, dots])]
    _legend(top, items)

    bottom = figure(x_range=top.x_range, y_axis_type="log", tools=_TOOLS)
    before = bottom.line("rec_step", "y_before", source=norm_source, color=BLUE, line_width=2)
    dots = bottom.scatter("rec_step", "y_before", source=norm_source, color=BLUE, size=3)
    after = bottom.line(
        "rec_step", "y_after", source=norm_source, color=ORANGE, line_width=2, line_dash="dashed"
    )
    tips = [
        ("step", "@rec_step{0}"),
        ("before clipping", "@norm_before{%.3e}"),
        ("after", "@norm_after{%.3e}"),
    ]
    fmt = {"@norm_before": "printf", "@norm_after": "printf"}
    bottom.add_tools(HoverTool(renderers=[before], mode="vline", tooltips=tips, formatters=fmt))
    bottom.xaxis.axis_label, bottom.yaxis.axis_label = "step", "total ‖∇L‖ (log scale)"
    items = [
        LegendItem(label=value("gradient norm before clipping"), renderers=[before, dots]),
        LegendItem(label=value("after clipping"), renderers=[after]),
    ]
    _divergence(bottom, divergence_source)
    _legend(bottom, items)
    for fig in (top, bottom):
        fig.xaxis.ticker = BasicTicker(min_interval=1)
        fig.yaxis.minor_tick_line_color = None  # nine per decade smear when the range is short
    return column(style(top, height=250), style(bottom, height=250), sizing_mode="stretch_width")


def plot_training_curves(history: History):
    """Plot the loss and gradient norms of ``history``: see :func:`training_figure`."""
    return training_figure(*(ColumnDataSource(c) for c in training_columns(history)))


# ---------------------------------------------------------------- 5. gradient heatmap


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
    fig = figure(title="Gradient norm per layer during training", tools=_TOOLS)
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
        width=12,
        title_text_font_style="normal",
    )
    fig.add_layout(bar, "right")
    fig.xaxis.ticker = BasicTicker(min_interval=1)
    fig.yaxis.ticker = BasicTicker(min_interval=1, desired_num_ticks=10)
    fig.xaxis.axis_label, fig.yaxis.axis_label = "step", "layer (input → output)"
    fig.x_range.range_padding = fig.y_range.range_padding = 0
    fig.grid.visible = False
    return style(fig, height=300)


def plot_gradient_heatmap(history: History) -> figure:
    """Plot the layer x step heatmap of ``history``: see :func:`gradient_heatmap_figure`."""
    return gradient_heatmap_figure(ColumnDataSource(gradient_heatmap_columns(history)))
