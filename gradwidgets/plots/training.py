"""Bokeh figures of a training ``History``: the loss and the total gradient norm, step by step.

Same contract as :mod:`gradwidgets.plots` (which re-exports every public name here): ``*_columns``
turn a history into dicts of equal-length numpy arrays, ``*_figure`` bind glyphs to those
columns without reading them, ``plot_*`` do both. The layer x step view of the same history is
in :mod:`~gradwidgets.plots.heatmap`.
"""

from __future__ import annotations

import numpy as np
from bokeh.core.properties import value
from bokeh.models import BasicTicker, ColumnDataSource, HoverTool, LabelSet, LegendItem
from bokeh.plotting import figure

from ..core.training import History
from .axes import stack
from .base import _floats, _legend, _positive
from .theme import BLACK, BLUE, ORANGE, TOOLS, VERMILLION, style


def loss_columns(history: History) -> dict[str, np.ndarray]:
    """The loss at every step, as columns for a log-scale plot.

    Parameters
    ----------
    history : History
        From :func:`gradwidgets.train`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``step`` (``history.loss_steps``: 0, 1, ..., or from a watch window's first step),
        ``loss`` (as recorded, may be nan or inf) and ``y`` (the loss where finite and > 0,
        else NaN so the log plot skips it).
    """
    loss = _floats(history.loss)
    return {"step": _floats(history.loss_steps), "loss": loss, "y": _positive(loss)}


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
        ``y_before``, ``y_after`` (the same where finite and > 0, else NaN; ``y_after`` also
        NaN at a step that clipping left unchanged, so a run with nothing clipped draws, and
        its legend lists, no "after clipping" line).
    """
    before, after = _floats(history.total_norm_before), _floats(history.total_norm_after)
    with np.errstate(invalid="ignore"):
        unchanged = after == before
    return {
        "rec_step": _floats(history.steps),
        "norm_before": before,
        "norm_after": after,
        "y_before": _positive(before),
        "y_after": np.where(unchanged, np.nan, _positive(after)),
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
    loss_source: ColumnDataSource,
    norm_source: ColumnDataSource,
    divergence_source: ColumnDataSource,
    clipping: bool = True,
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
    clipping : bool, optional
        False where clipping is not seen (a watch of your own loop): only the total gradient
        norm is drawn and listed, not an "after clipping" line equal to it. Default True.

    Returns
    -------
    bokeh.layouts.column
        Two figures sharing the step axis.
    """
    top = figure(title="Training", y_axis_type="log", tools=TOOLS)
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

    bottom = figure(x_range=top.x_range, y_axis_type="log", tools=TOOLS)
    before = bottom.line("rec_step", "y_before", source=norm_source, color=BLUE, line_width=2)
    dots = bottom.scatter("rec_step", "y_before", source=norm_source, color=BLUE, size=3)
    tips = [("step", "@rec_step{0}"), ("before clipping" if clipping else "‖∇L‖", "@norm_before{%.3e}")]
    items = [LegendItem(label=value("before clipping"), renderers=[before, dots])]
    if clipping:
        after = bottom.line(
            "rec_step", "y_after", source=norm_source, color=ORANGE, line_width=2, line_dash="dashed"
        )
        tips.append(("after", "@norm_after{%.3e}"))
        items.append(LegendItem(label=value("after clipping"), renderers=[after]))
    else:
        items[0].label = value("total gradient norm")
    fmt = {"@norm_before": "printf", "@norm_after": "printf"}
    bottom.add_tools(HoverTool(renderers=[before], mode="vline", tooltips=tips, formatters=fmt))
    bottom.xaxis.axis_label, bottom.yaxis.axis_label = "step", "total ‖∇L‖ (log scale)"
    _divergence(bottom, divergence_source)
    _legend(bottom, items)
    for fig in (top, bottom):
        fig.xaxis.ticker = BasicTicker(min_interval=1)
    return stack(style(top, height=250), style(bottom, height=250))


def plot_training_curves(history: History):
    """Plot the loss and gradient norms of ``history``: see :func:`training_figure`."""
    return training_figure(*(ColumnDataSource(c) for c in training_columns(history)))
