"""Gradient descent on a one-weight loss: the loss curve and the path the steps take on it.

:func:`descent_figure` draws the path on the curve; :func:`descent_training_figure` puts it above
the same run's loss and gradient norm (:func:`~gradwidgets.plots.training_figure`).
"""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, DataRange1d, HoverTool
from bokeh.plotting import figure

from .theme import BLACK, BLUE, TOOLS_WITHOUT_BOX_ZOOM, VERMILLION, style
from .training import training_figure


def loss_curve_columns(w: np.ndarray, loss: np.ndarray) -> dict[str, np.ndarray]:
    """Columns ``w`` and ``loss`` of the loss as a function of the single weight."""
    return {"w": np.asarray(w, dtype=np.float64), "loss": np.asarray(loss, dtype=np.float64)}


def descent_path_columns(w: np.ndarray, loss: np.ndarray) -> dict[str, np.ndarray]:
    """Columns ``step``, ``w`` and ``loss`` of the weights gradient descent visited, in order.

    Non-finite entries become NaN, so Bokeh leaves them out instead of failing.
    """
    w = np.asarray(w, dtype=np.float64)
    loss = np.asarray(loss, dtype=np.float64)
    ok = np.isfinite(w) & np.isfinite(loss)
    return {
        "step": np.arange(len(w), dtype=np.float64),
        "w": np.where(ok, w, np.nan),
        "loss": np.where(ok, loss, np.nan),
    }


def descent_figure(curve_source: ColumnDataSource, path_source: ColumnDataSource) -> figure:
    """The loss curve with the descent path drawn on it, step by step.

    Parameters
    ----------
    curve_source : ColumnDataSource
        Holds :func:`loss_curve_columns`; the view is fitted to the curve, so a path that
        diverges runs off the plot rather than shrinking the curve to a dot.
    path_source : ColumnDataSource
        Holds :func:`descent_path_columns`.

    Returns
    -------
    bokeh.plotting.figure
    """
    fig = figure(title="Gradient descent on L(w)", tools=TOOLS_WITHOUT_BOX_ZOOM)
    curve = fig.line("w", "loss", source=curve_source, color=BLACK, line_width=2, legend_label="L(w)")
    fig.x_range = DataRange1d(renderers=[curve])
    fig.y_range = DataRange1d(renderers=[curve], start=0)
    fig.line(
        "w", "loss", source=path_source, color=BLUE, line_width=1.5, line_dash="dashed", legend_label="steps"
    )
    dots = fig.scatter(
        "w", "loss", source=path_source, color=VERMILLION, size=8, legend_label="w after each step"
    )
    fig.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[("step", "@step{0}"), ("w", "@w{%.4g}"), ("loss", "@loss{%.4g}")],
            formatters={"@w": "printf", "@loss": "printf"},
        )
    )
    fig.xaxis.axis_label = "weight w"
    fig.yaxis.axis_label = "loss L(w)"
    fig.legend.location = "top_center"
    return style(fig)


def descent_training_figure(
    curve_source: ColumnDataSource,
    path_source: ColumnDataSource,
    loss_source: ColumnDataSource,
    norm_source: ColumnDataSource,
    divergence_source: ColumnDataSource,
):
    """The descent on the loss curve above, the run's loss and gradient norm per step below.

    Parameters
    ----------
    curve_source, path_source : ColumnDataSource
        As in :func:`descent_figure`.
    loss_source, norm_source, divergence_source : ColumnDataSource
        As in :func:`~gradwidgets.plots.training_figure`.

    Returns
    -------
    bokeh.layouts.column
        :func:`descent_figure` above :func:`~gradwidgets.plots.training_figure`.
    """
    return column(
        descent_figure(curve_source, path_source),
        training_figure(loss_source, norm_source, divergence_source),
        sizing_mode="stretch_width",
    )
