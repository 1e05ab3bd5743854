"""Figures of gradient norms per layer: one profile, or two configurations (A/B) on the same axes."""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool
from bokeh.plotting import figure

from ..core.profile import GradientProfile
from .base import (
    _LOG_HEIGHT,
    _SCI,
    _floats,
    _item,
    _legend,
    _log_columns,
    _log_figure,
    _log_series,
)
from .theme import BLUE, ORANGE, VERMILLION, style


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
        a non-finite layer is an x in its configuration's color. B is dashed with hollow
        squares over A's solid line and dots, so equal configurations show both.
    """
    if len(labels) != 2:
        raise ValueError(f"labels={labels!r}: need two labels, for A and B")
    return _norms_figure([source_a, source_b], list(labels))


def _norms_figure(sources: list[ColumnDataSource], labels: list[str]) -> figure:
    fig = _log_figure("Gradient norm per layer", "layer (input → output)", "‖dL/dW‖ (log scale)")
    single = len(sources) == 1
    series, bads, zeros = [], [], []
    for i, (source, label, color) in enumerate(zip(sources, labels, (BLUE, ORANGE), strict=False)):
        line, dots, bad, zero = _log_series(
            fig, source, "layer", color, VERMILLION if single else color, second=i == 1
        )
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
