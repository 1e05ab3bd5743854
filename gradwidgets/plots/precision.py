"""Figures of mixed precision: gradients against fp16's range, and a loss-scaled run step by step.

``fp16_histogram``: log2 of every weight-gradient entry times the loss scale, over fp16's three
zones (flushed to zero, subnormal, normal). ``fp16_layers``: per layer, the share of entries an
fp16 backward pass flushed to zero, left subnormal or overflowed. ``scaling``: a
:class:`~gradwidgets.lessons.mixedtraining.MixedRun` as its loss, its loss scale with the skipped
steps, and the share of zero entries in the first layer's gradient.
"""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import BoxAnnotation, ColumnDataSource, HoverTool, Label, Node
from bokeh.plotting import figure

from ..lessons.mixedtraining import MixedRun
from ..lessons.precision import FP16Gradients, float_format
from .axes import stack
from .base import _item, _layer_axis, _legend
from .legends import follow_data, legend_columns
from .runs import curves_columns, curves_figure
from .theme import BLACK, BLUE, GREEN, ORANGE, SKY, TOOLS, VERMILLION, style

_FP16 = float_format("float16")
ZONES = (
    (-40.0, np.log2(_FP16.smallest_subnormal) - 1, VERMILLION, "flushed to 0"),
    (np.log2(_FP16.smallest_subnormal) - 1, np.log2(_FP16.smallest_normal), ORANGE, "subnormal"),
    (np.log2(_FP16.smallest_normal), np.log2(_FP16.max), SKY, "normal"),
    (np.log2(_FP16.max), 40.0, VERMILLION, "overflow"),
)
"""fp16's zones on a log2 axis: below 2^-25 a value rounds to 0; from there to 2^-14 it is
subnormal (2^-25 itself and a little above round up to 2^-24); from 2^-14 normal; above the
largest finite value, 65504 (just under 2^16), it overflows."""


def fp16_histogram_columns(grads: FP16Gradients) -> dict[str, np.ndarray]:
    """Counts of log2 |S g| in bins one power of two wide, from 2^-40 to 2^40 (S: the loss scale)."""
    edges = np.arange(-40, 41, dtype=np.float64)
    counts, _ = np.histogram(np.clip(grads.log2_abs + np.log2(grads.scale), -40, 39.99), edges)
    share = counts / max(1, counts.sum())
    return {"left": edges[:-1], "right": edges[1:], "share": share}


def fp16_histogram_figure(source: ColumnDataSource) -> figure:
    """Bars of the share of entries per power of two, over fp16's shaded zones."""
    fig = figure(title="log₂|S·g| against fp16's zones", tools=TOOLS)
    fig.add_tools(
        HoverTool(
            renderers=[
                fig.quad("left", "right", 0, "share", source=source, fill_color=BLUE, line_color="white")
            ],
            tooltips=[("log₂|S·g| from", "@left{0}"), ("share", "@share{0.0%}")],
        )
    )
    for i, (lo, hi, color, text) in enumerate(ZONES):
        top = Node(target="frame", symbol="top", offset=4 + 14 * (i % 2))  # narrow zones: stagger
        fig.add_layout(BoxAnnotation(left=lo, right=hi, fill_color=color, fill_alpha=0.15, level="underlay"))
        if -40 < lo:
            fig.add_layout(
                Label(x=lo, y=top, x_offset=3, text=text, text_baseline="top", text_font_size="11px")
            )
    fig.x_range.start, fig.x_range.end = -36, 26
    fig.y_range.start = 0
    fig.xaxis.axis_label, fig.yaxis.axis_label = "log₂ |S · g|", "share of entries"
    fig.yaxis.formatter.use_scientific = False
    return style(fig)


def fp16_layers_columns(grads: FP16Gradients) -> dict[str, np.ndarray]:
    """Per layer (1 = nearest the input): shares flushed to zero, subnormal and overflowed."""
    return {
        "layer": np.arange(1, len(grads.layer_names) + 1, dtype=np.float64),
        "zero": grads.zero,
        "subnormal": grads.subnormal,
        "overflow": grads.overflow,
    }


def fp16_layers_figure(source: ColumnDataSource) -> figure:
    """One line per outcome against the layer, 0 to 100%."""
    fig = figure(title="fp16 and each layer's gradient", tools=TOOLS)
    items = []
    for key, color, dash, label in (
        ("zero", VERMILLION, "solid", "flushed to 0"),
        ("subnormal", ORANGE, "dashed", "subnormal"),
        ("overflow", BLACK, "dotted", "overflow (inf)"),
    ):
        line = fig.line("layer", key, source=source, color=color, line_dash=dash, line_width=2.5)
        dots = fig.scatter("layer", key, source=source, color=color, size=6)
        items.append(_item(label, line, dots))
    fig.add_tools(
        HoverTool(
            tooltips=[("layer", "@layer{0}"), ("zero", "@zero{0.0%}"), ("subnormal", "@subnormal{0.0%}")]
        )
    )
    _legend(fig, items)
    _layer_axis(fig)
    fig.y_range.start, fig.y_range.end = -0.03, 1.03
    fig.xaxis.axis_label, fig.yaxis.axis_label = "layer (input → output)", "share of entries"
    return style(fig)


def scaling_columns(run: MixedRun, reference: MixedRun | None = None) -> dict[str, dict[str, np.ndarray]]:
    """The sources of a run: ``loss`` (and ``reference``'s, float32), ``scale``, ``skipped``, ``zeros``."""
    steps = np.arange(run.loss.size)
    skipped = np.array(run.skipped, dtype=np.int64)
    ref = reference if reference is not None else run
    return {
        "loss": curves_columns(steps, run.loss),
        "reference": curves_columns(np.arange(ref.loss.size), ref.loss),
        "scale": curves_columns(steps, run.scale),
        "skipped": {"x": skipped.astype(np.float64), "y": run.scale[skipped].astype(np.float64)},
        "zeros": curves_columns(
            steps, run.zero_share[:, 0] if run.zero_share.size else steps * 0.0, log_y=False
        ),
    }


def scaling_figure(sources) -> column:
    """Three panels sharing the step axis: the loss, the loss scale with skipped steps, zeros."""
    loss = curves_figure(
        [sources["loss"], sources["reference"]],
        ["this run", "float32"],
        "Training loss",
        "step",
        "loss (log scale)",
    )
    scale = curves_figure([sources["scale"]], ["loss scale S"], "Loss scale", "step", "S (log scale)")
    marks = scale.scatter(
        "x", "y", source=sources["skipped"], marker="x", size=11, color=VERMILLION, line_width=2.5
    )
    skipped = _item("step skipped", marks)
    scale.legend[0].items.append(skipped)
    scale.legend[0].ncols = legend_columns(scale.legend[0])
    follow_data(scale, [skipped])  # listed only when a step was skipped
    zeros = curves_figure(
        [sources["zeros"]],
        ["layer 1"],
        "Layer 1: gradient entries = 0",
        "step",
        "share of entries",
        log_y=False,
    )
    for r in zeros.renderers:  # the line and its dots
        r.glyph.line_color = GREEN
        if hasattr(r.glyph, "fill_color"):
            r.glyph.fill_color = GREEN
    zeros.y_range.start, zeros.y_range.end = -0.03, 1.03
    return stack(loss, scale, zeros)


def plot_fp16_gradients(grads: FP16Gradients) -> column:
    """The histogram and the per-layer shares of one :class:`FP16Gradients`."""
    return column(
        fp16_histogram_figure(ColumnDataSource(fp16_histogram_columns(grads))),
        fp16_layers_figure(ColumnDataSource(fp16_layers_columns(grads))),
        sizing_mode="stretch_width",
    )


def plot_scaling(run: MixedRun, reference: MixedRun | None = None) -> column:
    """The three panels of :func:`scaling_figure` for one run (and a float32 reference)."""
    return scaling_figure({k: ColumnDataSource(v) for k, v in scaling_columns(run, reference).items()})
