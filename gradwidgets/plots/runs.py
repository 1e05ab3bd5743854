"""Several runs on one set of axes: a line per run, in the palette's colors, with a legend.

``curves_columns`` turns one series into columns (non-finite and, on a log axis, non-positive
values become NaN, which Bokeh leaves out), ``curves_figure`` binds one line per source, and
``plot_curves`` / ``plot_losses`` do both for named series or training histories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool, LegendItem
from bokeh.plotting import figure

from ..core.training import History
from .base import _legend
from .theme import SERIES_COLORS, SERIES_DASHES, TOOLS, style


def curves_columns(x, y, log_y: bool = True) -> dict[str, np.ndarray]:
    """One series as columns: ``x``, ``value`` (as given) and ``y`` (what the axis can draw).

    Parameters
    ----------
    x, y : array-like
        Equal-length sequences.
    log_y : bool
        When True, values <= 0 are dropped from ``y`` too (a log axis cannot show them).

    Returns
    -------
    dict of str to numpy.ndarray
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    v = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape != v.shape:
        raise ValueError(f"x and y must have the same length; got {x.size} and {v.size}")
    keep = np.isfinite(v) & (v > 0 if log_y else True)
    return {"x": x, "value": v, "y": np.where(keep, v, np.nan)}


def curves_figure(
    sources: Sequence[ColumnDataSource],
    labels: Sequence[str],
    title: str,
    x_label: str,
    y_label: str,
    log_y: bool = True,
    height: int = 300,
) -> figure:
    """One line per source (columns from :func:`curves_columns`), labelled in a legend above.

    Parameters
    ----------
    sources : sequence of ColumnDataSource
        At most seven, one per run.
    labels : sequence of str
        The legend label of each source.
    title, x_label, y_label : str
        Texts of the figure.
    log_y : bool
        Log-scale y axis.
    height : int
        Height in pixels.

    Returns
    -------
    bokeh.plotting.figure
    """
    if len(sources) != len(labels):
        raise ValueError(f"need one label per source; got {len(sources)} sources, {len(labels)} labels")
    if not 1 <= len(sources) <= len(SERIES_COLORS):
        raise ValueError(f"can draw 1 to {len(SERIES_COLORS)} curves; got {len(sources)}")
    fig = figure(title=title, y_axis_type="log" if log_y else "linear", tools=TOOLS)
    items = []
    for source, label, color, dash in zip(sources, labels, SERIES_COLORS, SERIES_DASHES, strict=False):
        line = fig.line("x", "y", source=source, color=color, line_width=2.5, line_dash=dash)
        dots = fig.scatter("x", "y", source=source, color=color, size=3)  # a lone point still shows
        fig.add_tools(
            HoverTool(
                renderers=[line],
                mode="vline",
                tooltips=[("run", label), ("x", "@x{0}"), ("value", "@value{%.3e}")],
                formatters={"@value": "printf"},
            )
        )
        items.append(LegendItem(label=label, renderers=[line, dots]))
    _legend(fig, items)
    fig.xaxis.axis_label, fig.yaxis.axis_label = x_label, y_label
    return style(fig, height=height)


def plot_curves(
    curves: Mapping[str, tuple],
    title: str,
    x_label: str,
    y_label: str,
    log_y: bool = True,
) -> figure:
    """Plot named ``(x, y)`` series on one set of axes: see :func:`curves_figure`."""
    sources = [ColumnDataSource(curves_columns(x, y, log_y)) for x, y in curves.values()]
    return curves_figure(sources, list(curves), title, x_label, y_label, log_y)


def plot_losses(histories: Mapping[str, History], title: str = "Training loss") -> figure:
    """Plot the loss of several training runs against the step, on a log axis."""
    curves = {name: (np.arange(len(h.loss)), h.loss) for name, h in histories.items()}
    return plot_curves(curves, title, "step", "loss (log scale)")
