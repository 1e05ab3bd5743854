"""Figures of one gradient profile: norms per layer (and A/B), activations, an RNN through time."""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import (
    ColumnDataSource,
    HoverTool,
    NumeralTickFormatter,
    Range1d,
)
from bokeh.plotting import figure
from bokeh.transform import dodge

from ..core.profile import GradientProfile
from ..core.saturated import SATURATION_THRESHOLD
from .base import (
    _LOG_HEIGHT,
    _SCI,
    _TOOLS,
    _floats,
    _item,
    _layer_axis,
    _legend,
    _log_columns,
    _log_figure,
    _log_series,
)
from .theme import BLACK, BLUE, ORANGE, SKY, VERMILLION, style

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
