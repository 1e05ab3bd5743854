"""Gradient descent on a one-weight loss: the loss curve and the path the steps take on it.

:func:`descent_figure` draws the path on the curve; :func:`descent_training_figure` puts it above
the same run's loss and gradient norm (:func:`~gradwidgets.plots.training_figure`).
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, DataRange1d, HoverTool, LabelSet
from bokeh.plotting import figure

from .axes import stack
from .base import _item, _legend
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


def descent_exit_columns(w, loss, view: tuple[float, float, float]) -> dict[str, np.ndarray]:
    """Where the descent first leaves the view: one row (or none, if it stays in view).

    Parameters
    ----------
    w, loss : array-like
        The weights visited and their losses, as for :func:`descent_path_columns`.
    view : tuple of float
        ``(w_low, w_high, loss_high)``: the box :func:`descent_figure` shows (the loss curve's).

    Returns
    -------
    dict of str to numpy.ndarray
        ``step`` (the first step out of view), ``x``, ``y`` (the point's position pulled back
        onto the view's edge), ``angle`` (of the arrowhead: pointing the way the run went),
        ``dx`` (the label's offset in pixels, inward), ``align`` and ``label``: the step it
        left at and where the run ended (the last finite weight).
    """
    w, loss = np.asarray(w, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    lo, hi, top = (float(v) for v in view)
    out = ~(np.isfinite(w) & np.isfinite(loss)) | (w < lo) | (w > hi) | (loss > top)
    if not out.any():
        empty = np.zeros(0)
        return {"step": empty, "x": empty, "y": empty, "angle": empty, "dx": empty, "align": [], "label": []}
    i = int(np.argmax(out))
    finite = np.flatnonzero(np.isfinite(w))
    last = int(finite[-1]) if finite.size else 0
    wi = w[i] if np.isfinite(w[i]) else w[i - 1]
    x = float(np.clip(wi, lo, hi))
    y = float(min(loss[i], top)) if np.isfinite(loss[i]) else top
    angle = np.pi / 2 if wi < lo else (-np.pi / 2 if wi > hi else 0.0)
    end = f"w = {w[last]:.3g} at step {last}" if last > i else "then not finite"
    return {
        "step": np.array([float(i)]),
        "x": np.array([x]),
        "y": np.array([y]),
        "angle": np.array([angle]),
        "dx": np.array([10.0 if x < (lo + hi) / 2 else -10.0]),
        "align": ["left" if x < (lo + hi) / 2 else "right"],
        "label": [f"leaves at step {i}; {end}"],
    }


def descent_figure(
    curve_source: ColumnDataSource,
    path_source: ColumnDataSource,
    exit_source: ColumnDataSource | None = None,
) -> figure:
    """The loss curve with the descent path drawn on it, step by step.

    Parameters
    ----------
    curve_source : ColumnDataSource
        Holds :func:`loss_curve_columns`; the view is the curve's box, so a path that diverges
        runs off the plot rather than shrinking the curve to a dot.
    path_source : ColumnDataSource
        Holds :func:`descent_path_columns`.
    exit_source : ColumnDataSource, optional
        Holds :func:`descent_exit_columns` for the curve's box: an arrowhead on the edge where
        the path leaves the view, labelled with the step and where the run ended.

    Returns
    -------
    bokeh.plotting.figure
    """
    fig = figure(title="Gradient descent on L(w)", tools=TOOLS_WITHOUT_BOX_ZOOM)
    curve = fig.line("w", "loss", source=curve_source, color=BLACK, line_width=2)
    fig.x_range = DataRange1d(renderers=[curve], range_padding=0)
    fig.y_range = DataRange1d(renderers=[curve], start=0, range_padding=0.08)  # room for the marker
    steps = fig.line("w", "loss", source=path_source, color=BLUE, line_width=1.5, line_dash="dashed")
    dots = fig.scatter("w", "loss", source=path_source, color=VERMILLION, size=8)
    items = [_item("L(w)", curve), _item("steps", steps), _item("w after each step", dots)]
    if exit_source is not None:
        mark = fig.scatter(
            "x", "y", source=exit_source, marker="triangle", angle="angle", size=14, color=VERMILLION
        )
        fig.add_layout(
            LabelSet(
                x="x",
                y="y",
                text="label",
                source=exit_source,
                text_align="align",
                text_baseline="top",
                x_offset="dx",
                y_offset=-12,
                text_color=VERMILLION,
                text_font_size="12px",
            )
        )
        items.append(_item("leaves the plot", mark))
    fig.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[("step", "@step{0}"), ("w", "@w{%.4g}"), ("loss", "@loss{%.4g}")],
            formatters={"@w": "printf", "@loss": "printf"},
        )
    )
    fig.xaxis.axis_label = "weight w"
    fig.yaxis.axis_label = "loss L(w)"
    _legend(fig, items)  # above the plot, off the path
    return style(fig)


def descent_training_figure(
    curve_source: ColumnDataSource,
    path_source: ColumnDataSource,
    loss_source: ColumnDataSource,
    norm_source: ColumnDataSource,
    divergence_source: ColumnDataSource,
    exit_source: ColumnDataSource | None = None,
    clipping: bool = True,
):
    """The descent on the loss curve above, the run's loss and gradient norm per step below.

    Parameters
    ----------
    curve_source, path_source : ColumnDataSource
        As in :func:`descent_figure`.
    loss_source, norm_source, divergence_source : ColumnDataSource
        As in :func:`~gradwidgets.plots.training_figure`.
    exit_source : ColumnDataSource, optional
        As in :func:`descent_figure`.
    clipping : bool, optional
        As in :func:`~gradwidgets.plots.training_figure`: False for a run without clipping.

    Returns
    -------
    bokeh.layouts.column
        :func:`descent_figure` above :func:`~gradwidgets.plots.training_figure`.
    """
    return stack(
        descent_figure(curve_source, path_source, exit_source),
        training_figure(loss_source, norm_source, divergence_source, clipping=clipping),
        share_x=False,  # the weight above, the step below
    )
