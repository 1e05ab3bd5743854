"""Bokeh figures of gradient profiles and activations: pure functions of the core's dataclasses.

Every plot kind K has three functions. ``K_columns(obj)`` turns a dataclass into a dict of
equal-length numpy arrays; ``K_figure(source)`` binds glyphs to those column names and never
reads the data, so replacing ``source.data`` with another dict of the same kind redraws it
(auto-ranging follows); ``plot_K(obj)`` does both. Training plots live in
:mod:`gradwidgets.plots_training` and are re-exported here.

Log-scale plots cannot show zero, NaN or infinity, so their columns carry them separately:
``y`` is the value where it is finite and positive (else NaN, which Bokeh skips), ``y_bad`` puts
a red x at the top of the plot for a non-finite value and ``y_zero`` a triangle at the bottom
for an exact zero. ``zone_lo``/``zone_hi`` are invisible points that keep both shaded zones,
vanishing (below :data:`VANISHING_BELOW`) and exploding (above :data:`EXPLODING_ABOVE`), in
view, so a learner always sees how far the gradients sit from them.
"""

from __future__ import annotations

import numpy as np
import torch
from bokeh.core.properties import field, value
from bokeh.layouts import column
from bokeh.models import (
    BasicTicker,
    BoxAnnotation,
    ColumnDataSource,
    DataRange1d,
    HoverTool,
    Label,
    Legend,
    LegendItem,
    Node,
    NumeralTickFormatter,
    Range1d,
)
from bokeh.plotting import figure
from bokeh.transform import dodge

from .activations import Activation, get_activation
from .actstats import SATURATION_THRESHOLD
from .plots_training import (
    HEATMAP_HIGH,
    HEATMAP_LOW,
    divergence_columns,
    gradient_heatmap_columns,
    gradient_heatmap_figure,
    loss_columns,
    norm_columns,
    plot_gradient_heatmap,
    plot_training_curves,
    training_columns,
    training_figure,
)
from .probes import GradientProfile
from .theme import BLACK, BLUE, ORANGE, SKY, VERMILLION, style

__all__ = [
    "EXPLODING_ABOVE",
    "HEATMAP_HIGH",
    "HEATMAP_LOW",
    "VANISHING_BELOW",
    "activation_curve_columns",
    "activation_distribution_columns",
    "activation_distribution_figure",
    "activation_figure",
    "compare_figure",
    "divergence_columns",
    "gradient_heatmap_columns",
    "gradient_heatmap_figure",
    "gradient_norms_columns",
    "gradient_norms_figure",
    "loss_columns",
    "norm_columns",
    "plot_activation_distribution",
    "plot_activation_function",
    "plot_compare",
    "plot_gradient_heatmap",
    "plot_gradient_norms",
    "plot_rnn_time_norms",
    "plot_training_curves",
    "preactivation_hist_columns",
    "rnn_time_norms_columns",
    "rnn_time_norms_figure",
    "training_columns",
    "training_figure",
]

VANISHING_BELOW = 1e-6
"""A gradient norm below this is shaded as vanishing: an SGD step barely moves the weights."""
EXPLODING_ABOVE = 1e3
"""A gradient norm above this is shaded as exploding: one SGD step would wreck the weights."""

Z_RANGE = (-6.0, 6.0)
"""The pre-activation interval over which activation functions are drawn."""

_SCI = "{%.3e}"
_HIST_KEYS = ("left", "right", "count", "density", "beyond")
_LOG_HEIGHT = 320
_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
_ZONE_LO, _ZONE_HI = VANISHING_BELOW / 10, EXPLODING_ABOVE * 10
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


# ---------------------------------------------------------------- shared: log-scale series


def _floats(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _log_columns(values) -> dict[str, np.ndarray]:
    """A series for a log axis, with what the axis cannot show moved to marker columns."""
    v = _floats(values)
    finite = np.isfinite(v)
    shown = finite & (v > 0)
    top = max(_ZONE_HI, v[shown].max(initial=0.0))
    bottom = min(_ZONE_LO, v[shown].min(initial=np.inf))
    return {
        "value": v,
        "y": np.where(shown, v, np.nan),
        "y_bad": np.where(finite, np.nan, 10 * top),
        "y_zero": np.where(finite & ~shown, bottom / 10, np.nan),
        "zone_lo": np.full(v.size, _ZONE_LO),
        "zone_hi": np.full(v.size, _ZONE_HI),
    }


def _pow10(x: float) -> str:
    """``1e-06`` as ``10⁻⁶`` (other numbers as ``:g``)."""
    e = round(np.log10(x))
    return f"10{str(e).translate(_SUPERSCRIPT)}" if x == 10.0**e else f"{x:g}"


def _item(label: str, *renderers) -> LegendItem:
    return LegendItem(label=value(label), renderers=list(renderers))


def _legend(fig: figure, items: list[LegendItem]) -> None:
    fig.add_layout(Legend(items=items, orientation="horizontal", location="top_left"), "above")


def _layer_axis(fig: figure) -> None:
    """Integer x ticks (layers, time steps), as many as fit."""
    fig.xaxis.ticker = BasicTicker(min_interval=1, desired_num_ticks=10)


def _log_figure(title: str, x_label: str, y_label: str) -> figure:
    fig = figure(title=title, y_axis_type="log", tools=_TOOLS)
    fig.xaxis.axis_label, fig.yaxis.axis_label = x_label, y_label
    fig.yaxis.minor_tick_line_color = None  # nine per decade: a black smear when decades are short
    _layer_axis(fig)
    fig.x_range.range_padding = 0.05
    zones = [
        (None, VANISHING_BELOW, SKY, 0.25, BLUE, "top", f"vanishing: below {_pow10(VANISHING_BELOW)}"),
        (
            EXPLODING_ABOVE,
            None,
            VERMILLION,
            0.12,
            VERMILLION,
            "bottom",
            f"exploding: above {_pow10(EXPLODING_ABOVE)}",
        ),
    ]
    # labels on the right: vanishing and exploding both start at the input (left) end
    right = Node(target="frame", symbol="right", offset=-6)
    for bottom, top, fill, alpha, color, baseline, text in zones:
        fig.add_layout(
            BoxAnnotation(bottom=bottom, top=top, fill_color=fill, fill_alpha=alpha, level="underlay")
        )
        fig.add_layout(
            Label(
                x=right,
                y=bottom or top,
                y_offset=3 if bottom else -3,
                text=text,
                text_align="right",
                text_baseline=baseline,
                text_color=color,
                text_font_size="11px",
                text_font_style="italic",
            )
        )
    return fig


def _log_series(fig: figure, source: ColumnDataSource, x: str, color: str, bad_color: str) -> tuple:
    """Line and dots for ``y``, x markers for ``y_bad``, triangles for ``y_zero``."""
    line = fig.line(x, "y", source=source, color=color, line_width=2)
    dots = fig.scatter(x, "y", source=source, color=color, size=7)
    bad = fig.scatter(x, "y_bad", source=source, marker="x", size=16, line_width=3, color=bad_color)
    zero = fig.scatter(x, "y_zero", source=source, marker="inverted_triangle", size=11, color=color)
    for col in ("zone_lo", "zone_hi"):  # invisible: keeps both zones in the auto-range
        fig.scatter(x, col, source=source, size=1, line_color=None, fill_color=None)
    return line, dots, bad, zero


# ---------------------------------------------------------------- 1. gradient norms per layer


def gradient_norms_columns(profile: GradientProfile) -> dict[str, np.ndarray]:
    """Per-layer ||dL/dW|| of a profile, as columns for a log-scale plot.

    Parameters
    ----------
    profile : GradientProfile
        From :func:`gradwidgets.gradient_profile`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``layer`` (1..L, input first), ``name``, ``value`` (||dL/dW|| as measured, may be nan or
        inf), ``y``, ``y_bad``, ``y_zero``, ``zone_lo``, ``zone_hi`` (see the module docstring:
        non-finite layers get a red x above everything else and above :data:`EXPLODING_ABOVE`),
        ``act_grad`` (||dL/dh||) and ``ratio`` (||dL/dW|| / ||W||).
    """
    n = len(profile)
    return {
        "layer": np.arange(1, n + 1, dtype=np.float64),
        "name": np.array(profile.layer_names, dtype=object),
        **_log_columns(profile.weight_grad_norm),
        "act_grad": _floats(profile.act_grad_norm),
        "ratio": _floats(profile.grad_to_weight),
    }


def _norm_hover(renderers, label: str | None = None) -> HoverTool:
    tips = [("layer", "@name (@layer{0})"), ("‖dL/dW‖", "@value" + _SCI), ("‖dL/dh‖", "@act_grad" + _SCI)]
    tips.append(("‖dL/dW‖ / ‖W‖", "@ratio" + _SCI))
    if label:
        tips.insert(0, ("config", label))
    fmt = dict.fromkeys(("@value", "@act_grad", "@ratio"), "printf")
    return HoverTool(renderers=renderers, tooltips=tips, formatters=fmt)


def gradient_norms_figure(source: ColumnDataSource) -> figure:
    """||dL/dW|| per layer on a log axis, with the vanishing and exploding zones shaded.

    Parameters
    ----------
    source : ColumnDataSource
        Holds a dict from :func:`gradient_norms_columns` (replaceable later).

    Returns
    -------
    bokeh.plotting.figure
        Zones: below :data:`VANISHING_BELOW` and above :data:`EXPLODING_ABOVE`.
    """
    return _norms_figure([source], [""])


def compare_figure(
    source_a: ColumnDataSource, source_b: ColumnDataSource, labels: tuple[str, str] = ("A", "B")
) -> figure:
    """||dL/dW|| per layer of two configurations on the same log axes, in two palette colors.

    Parameters
    ----------
    source_a, source_b : ColumnDataSource
        Each holds a dict from :func:`gradient_norms_columns`.
    labels : tuple of str
        Legend labels of A and B.

    Returns
    -------
    bokeh.plotting.figure
        Zones below :data:`VANISHING_BELOW` and above :data:`EXPLODING_ABOVE` are shaded;
        a non-finite layer is an x in its configuration's color.
    """
    if len(labels) != 2:
        raise ValueError(f"labels={labels!r}: need two labels, for A and B")
    return _norms_figure([source_a, source_b], list(labels))


def _norms_figure(sources: list[ColumnDataSource], labels: list[str]) -> figure:
    fig = _log_figure("Gradient norm per layer", "layer (input → output)", "‖dL/dW‖ (log scale)")
    single = len(sources) == 1
    series, bads, zeros = [], [], []
    for source, label, color in zip(sources, labels, (BLUE, ORANGE), strict=False):
        line, dots, bad, zero = _log_series(fig, source, "layer", color, VERMILLION if single else color)
        fig.add_tools(_norm_hover([dots, bad, zero], label))
        series.append(_item(label or "‖dL/dW‖", line, dots))
        bads.append(bad)
        zeros.append(zero)
    _legend(fig, [*series, _item("non-finite (NaN, ∞)", *bads), _item("exactly 0", *zeros)])
    return style(fig, height=_LOG_HEIGHT)


def plot_gradient_norms(profile: GradientProfile) -> figure:
    """Plot ||dL/dW|| per layer of ``profile``: see :func:`gradient_norms_figure`."""
    return gradient_norms_figure(ColumnDataSource(gradient_norms_columns(profile)))


def plot_compare(
    profile_a: GradientProfile, profile_b: GradientProfile, labels: tuple[str, str] = ("A", "B")
) -> figure:
    """Plot ||dL/dW|| per layer of two profiles together: see :func:`compare_figure`."""
    sources = [ColumnDataSource(gradient_norms_columns(p)) for p in (profile_a, profile_b)]
    return compare_figure(*sources, labels=labels)


# ---------------------------------------------------------------- 2. activation distribution


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
        unknown), ``y_bad`` (nan, or a height above the band where mean or std is not finite).
        Non-finite ``mean``/``std`` entries are nan here, so they do not break the auto-range.
    """
    mean, std = _floats(profile.act_mean), _floats(profile.act_std)
    ok = np.isfinite(mean) & np.isfinite(std)
    mean, std = np.where(ok, mean, np.nan), np.where(ok, std, np.nan)
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
        "saturation": _floats(profile.saturation),
        "dead": _floats(profile.dead_fraction),
        "y_bad": np.where(ok, np.nan, top),
    }


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
    top = figure(title="Activations per layer", tools=_TOOLS)
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
    bottom = figure(x_range=top.x_range, y_range=Range1d(0, 1), tools=_TOOLS)
    _layer_axis(bottom)
    sat = bottom.vbar(
        dodge("layer", -0.18, range=bottom.x_range), top="saturation", width=0.34, source=source, color=ORANGE
    )
    dead = bottom.vbar(
        dodge("layer", 0.18, range=bottom.x_range), top="dead", width=0.34, source=source, color=BLACK
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
            _item(f"saturated (f′ < {SATURATION_THRESHOLD:g}·max f′)", sat),
            _item("dead (0 on the whole batch)", dead),
        ],
    )
    return column(style(top, height=260), style(bottom, height=200), sizing_mode="stretch_width")


def plot_activation_distribution(profile: GradientProfile):
    """Plot per-layer activation statistics of ``profile``: see :func:`activation_distribution_figure`."""
    return activation_distribution_figure(ColumnDataSource(activation_distribution_columns(profile)))


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
        fig = figure(x_range=x_range, tools=_TOOLS)
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
            _item("pre-activations z (hatched: beyond ±6)", hist),
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
    panels[0].title.text = "Activation function and where the pre-activations fall"
    return column(*panels, sizing_mode="stretch_width")


def plot_activation_function(
    activation: Activation | str, z_values: np.ndarray | None = None, bins: int = 60
):
    """Plot ``activation`` and its derivative over a histogram of ``z_values``: see ``activation_figure``."""
    return activation_figure(
        ColumnDataSource(activation_curve_columns(activation)),
        ColumnDataSource(preactivation_hist_columns(z_values, bins)),
    )


# ---------------------------------------------------------------- 6. RNN gradient through time


def rnn_time_norms_columns(profile: GradientProfile) -> dict[str, np.ndarray]:
    """||dL/dh_t|| per time step of a recurrent profile, as columns for a log-scale plot.

    Parameters
    ----------
    profile : GradientProfile
        From :func:`gradwidgets.gradient_profile` on a model run step by step
        (e.g. :func:`gradwidgets.build_rnn`), so ``time_grad_norm`` is set.

    Returns
    -------
    dict of str to numpy.ndarray
        ``t`` (1..T), ``value``, ``y``, ``y_bad``, ``y_zero``, ``zone_lo``, ``zone_hi`` (as in
        :func:`gradient_norms_columns`).

    Raises
    ------
    ValueError
        If the profile has no ``time_grad_norm``.
    """
    if profile.time_grad_norm is None:
        raise ValueError(
            "profile has no time_grad_norm; build it with gradient_profile on a model run step by step, "
            "e.g. build_rnn"
        )
    cols = _log_columns(profile.time_grad_norm)
    return {"t": np.arange(1, cols["value"].size + 1, dtype=np.float64), **cols}


def rnn_time_norms_figure(source: ColumnDataSource) -> figure:
    """||dL/dh_t|| against time step t on a log axis, zones shaded as in :func:`gradient_norms_figure`.

    Parameters
    ----------
    source : ColumnDataSource
        Holds a dict from :func:`rnn_time_norms_columns`.

    Returns
    -------
    bokeh.plotting.figure
        Zones below :data:`VANISHING_BELOW` and above :data:`EXPLODING_ABOVE` are shaded.
    """
    fig = _log_figure("Gradient through time", "time step t (first → last)", "‖dL/dhₜ‖ (log scale)")
    line, dots, bad, zero = _log_series(fig, source, "t", BLUE, VERMILLION)
    tips = [("t", "@t{0}"), ("‖dL/dhₜ‖", "@value" + _SCI)]
    fig.add_tools(HoverTool(renderers=[dots, bad, zero], tooltips=tips, formatters={"@value": "printf"}))
    _legend(fig, [_item("‖dL/dhₜ‖", line, dots), _item("non-finite (NaN, ∞)", bad), _item("exactly 0", zero)])
    return style(fig, height=_LOG_HEIGHT)


def plot_rnn_time_norms(profile: GradientProfile) -> figure:
    """Plot ||dL/dh_t|| per time step of ``profile``: see :func:`rnn_time_norms_figure`."""
    return rnn_time_norms_figure(ColumnDataSource(rnn_time_norms_columns(profile)))
