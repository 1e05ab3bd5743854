"""The gradient of a recurrent network through time: ||dL/dh_t|| per time step on a log axis."""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool
from bokeh.plotting import figure

from ..core.profile import GradientProfile
from .base import _LOG_HEIGHT, _SCI, _item, _legend, _log_columns, _log_figure, _log_series
from .theme import BLUE, VERMILLION, style


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
