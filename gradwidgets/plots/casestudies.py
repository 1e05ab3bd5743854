"""Figures for diagnosing models from outside the course: the gradient reaching each time step,
and per-tensor histograms each on its own axes (as TensorBoard and wandb lay them out).

Same contract as :mod:`gradwidgets.plots`: ``*_columns`` make dicts of numpy arrays, ``*_figure``
bind glyphs to those columns, ``plot_*`` do both.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from bokeh.layouts import gridplot
from bokeh.models import BasicTicker, ColumnDataSource, HoverTool
from bokeh.plotting import figure

from .axes import short_formatter
from .base import _LOG_HEIGHT, _SCI, _item, _legend, _log_columns, _log_figure, _log_series
from .theme import BLUE, MARKED_SERIES_COLORS, SKY, TOOLS, VERMILLION, style

__all__ = [
    "plot_time_grads",
    "plot_value_histograms",
    "time_grad_columns",
    "time_grad_figure",
    "value_histogram_columns",
]


def time_grad_columns(values) -> dict[str, np.ndarray]:
    """||dL/dx_t|| per time step as columns for a log-scale plot.

    Parameters
    ----------
    values : array_like
        One norm per time step, first to last (e.g. from
        :func:`gradwidgets.lessons.casestudies.input_grad_norms`).

    Returns
    -------
    dict of str to numpy.ndarray
        ``t`` (1..T) and the columns of :func:`gradwidgets.plots.gradient_norms_columns`'s log
        series: ``value``, ``y``, ``y_bad``, ``y_zero`` (an exact 0, e.g. float32 underflow, gets
        a triangle at the bottom), ``zone_lo``, ``zone_hi``.
    """
    cols = _log_columns(values)
    return {"t": np.arange(1, cols["value"].size + 1, dtype=np.float64), **cols}


def time_grad_figure(sources: ColumnDataSource | Mapping[str, ColumnDataSource]) -> figure:
    """||dL/dx_t|| against the time step on a log axis, the vanishing and exploding zones shaded.

    Parameters
    ----------
    sources : ColumnDataSource or mapping of str to ColumnDataSource
        Each holds a dict from :func:`time_grad_columns`; a mapping draws one line per entry,
        labelled by its key, in the palette's colors (at most four).

    Returns
    -------
    bokeh.plotting.figure
    """
    named = {"‖dL/dxₜ‖": sources} if isinstance(sources, ColumnDataSource) else dict(sources)
    if not 1 <= len(named) <= len(MARKED_SERIES_COLORS):
        raise ValueError(f"sources: give 1 to {len(MARKED_SERIES_COLORS)} series, got {len(named)}")
    fig = _log_figure(
        "Gradient reaching each time step", "time step t (first → last)", "‖dL/dxₜ‖ (log scale)"
    )
    items, bads, zeros = [], [], []
    for (label, source), color in zip(named.items(), MARKED_SERIES_COLORS, strict=False):
        line, dots, bad, zero = _log_series(fig, source, "t", color, VERMILLION if len(named) == 1 else color)
        tips = [("series", label), ("t", "@t{0}"), ("‖dL/dxₜ‖", "@value" + _SCI)]
        fig.add_tools(HoverTool(renderers=[dots, bad, zero], tooltips=tips, formatters={"@value": "printf"}))
        items.append(_item(label, line, dots))
        bads.append(bad)
        zeros.append(zero)
    _legend(fig, [*items, _item("non-finite (NaN, ∞)", *bads), _item("exactly 0", *zeros)])
    return style(fig, height=_LOG_HEIGHT)


def plot_time_grads(values) -> figure:
    """Plot ||dL/dx_t|| per time step: an array, or a mapping label -> array (see ``time_grad_figure``)."""
    if isinstance(values, Mapping):
        return time_grad_figure({k: ColumnDataSource(time_grad_columns(v)) for k, v in values.items()})
    return time_grad_figure(ColumnDataSource(time_grad_columns(values)))


def value_histogram_columns(values, bins: int = 30) -> dict[str, np.ndarray]:
    """A histogram of ``values`` over their own range (finite values only), as quad columns.

    Returns
    -------
    dict of str to numpy.ndarray
        ``left``, ``right`` (bin edges) and ``count``.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"left": np.zeros(0), "right": np.zeros(0), "count": np.zeros(0)}
    count, edges = np.histogram(v, bins=bins)
    return {"left": edges[:-1], "right": edges[1:], "count": count.astype(np.float64)}


def plot_value_histograms(tensors: Mapping[str, object], bins: int = 30, ncols: int = 3):
    """One histogram per tensor, each on its own automatically scaled x axis.

    The layout of the gradient histograms of TensorBoard and ``wandb.watch``: one panel per
    parameter tensor, each fitted to its own range, so that the shapes look alike and only the
    numbers on the axes tell the scales apart.

    Parameters
    ----------
    tensors : mapping of str to array_like
        Panel title -> values (tensors are flattened; use ``.detach()``).
    bins : int
        Bins per histogram.
    ncols : int
        Panels per row.

    Returns
    -------
    bokeh.layouts.gridplot
    """
    panels = []
    for title, values in tensors.items():
        arr = values.detach().cpu().numpy() if hasattr(values, "detach") else values
        fig = figure(title=title, tools=TOOLS)
        source = ColumnDataSource(value_histogram_columns(arr, bins))
        bars = fig.quad(
            left="left", right="right", bottom=0, top="count", source=source, fill_color=SKY, line_color=BLUE
        )
        fig.add_tools(
            HoverTool(
                renderers=[bars],
                tooltips=[("from", "@left{%.2e}"), ("count", "@count{0}")],
                formatters={"@left": "printf"},
            )
        )
        fig.xaxis.axis_label, fig.yaxis.axis_label = "gradient entry", "count"
        fig.xaxis.ticker = BasicTicker(desired_num_ticks=3)
        fig.xaxis.formatter = short_formatter()
        fig.y_range.start = 0
        panels.append(style(fig, height=240))
        fig.min_width = 160
    return gridplot(panels, ncols=ncols, sizing_mode="stretch_width", toolbar_location=None)
