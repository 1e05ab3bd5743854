"""Explorer of the singular values of a product of layer Jacobians, as the product gets longer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool, Span
from bokeh.plotting import figure

from ..core.models import build_mlp
from ..lessons.jacobians import JacobianSpectrum, jacobian_singular_values, layer_jacobians
from ..plots.theme import BLACK, BLUE, GREEN, ORANGE, SKY, VERMILLION, style
from ..widgets.explorer import Explorer, Result
from ._common import control, dataset

WEIGHTS = {"gaussian": "lecun_normal", "orthogonal": "orthogonal"}
"""Weight families offered: Gaussian with variance g²/fan_in, or orthogonal times g."""
WEIGHT_LABELS = {"gaussian": "Gaussian N(0, g²/n)", "orthogonal": "orthogonal × g"}


def _gain_label(g: float) -> str:
    return {1.0: "1", round(2**0.5, 6): "√2"}.get(round(g, 6), f"{g:g}")


def spectrum_columns(spectrum: JacobianSpectrum) -> dict[str, dict[str, np.ndarray]]:
    """The ``cloud`` (every nonzero singular value of every product) and ``lines`` sources.

    ``lines`` holds ``layer``, ``smax``, ``srms``, ``smin`` (NaN where 0, which a log axis
    cannot show), ``bound`` (the product of the layers' own ``σmax``), ``gain``
    (``|dL/dh_l-1| / |dL/dh_D|``) and ``one`` (ones, which keep 1 in view).
    """
    layers = spectrum.layers.astype(np.float64)
    xs = np.concatenate([np.full(len(s), x) for x, s in zip(layers, spectrum.product_values, strict=True)])
    ss = np.concatenate(spectrum.product_values)
    keep = ss > 0
    bound = np.cumprod(spectrum.layer_sigma_max[::-1])[::-1]  # σmax(J_l) ⋯ σmax(J_D)
    gain = spectrum.gradient_gain if spectrum.gradient_gain is not None else np.full(len(layers), np.nan)
    smin = spectrum.sigma_min
    return {
        "cloud": {"layer": xs[keep], "sigma": ss[keep]},
        "lines": {
            "layer": layers,
            "smax": spectrum.sigma_max,
            "srms": spectrum.sigma_rms,
            "smin": np.where(smin > 0, smin, np.nan),
            "bound": bound,
            "gain": np.asarray(gain, dtype=np.float64),
            "one": np.ones(len(layers)),
        },
    }


def spectrum_figure(cloud: ColumnDataSource, lines: ColumnDataSource) -> figure:
    """Singular values of ``J_D ⋯ J_l`` against ``l`` on a log axis, with 1 marked."""
    fig = figure(
        title="Singular values of the Jacobian product J_D ⋯ J_l",
        y_axis_type="log",
        tools="pan,wheel_zoom,box_zoom,reset,save",
    )
    fig.add_layout(Span(location=1.0, dimension="width", line_color=BLACK, line_dash="dotted", line_width=1))
    fig.scatter("layer", "one", source=lines, size=1, line_color=None, fill_color=None)  # keeps 1 in range
    fig.scatter(
        "layer", "sigma", source=cloud, size=4, color=SKY, alpha=0.45, legend_label="all singular values"
    )
    fig.line(
        "layer",
        "bound",
        source=lines,
        color=ORANGE,
        line_dash="dashed",
        line_width=2,
        legend_label="∏ σmax(J_k)",
    )
    top = fig.line("layer", "smax", source=lines, color=BLUE, line_width=2.5, legend_label="σmax")
    rms = fig.line("layer", "srms", source=lines, color=GREEN, line_width=2.5, legend_label="σrms")
    fig.line("layer", "smin", source=lines, color=VERMILLION, line_width=2.5, legend_label="σmin")
    dots = fig.scatter(
        "layer",
        "gain",
        source=lines,
        marker="diamond",
        size=10,
        color=BLACK,
        legend_label="this input's gradient",
    )
    fig.add_tools(
        HoverTool(
            renderers=[top, rms, dots],
            tooltips=[
                ("layer", "@layer{0}"),
                ("σmax", "@smax{%.3e}"),
                ("σrms", "@srms{%.3e}"),
                ("σmin", "@smin{%.3e}"),
                ("∏ σmax(J_k)", "@bound{%.3e}"),
                ("‖dL/dh_l-1‖ / ‖dL/dh_D‖", "@gain{%.3e}"),
            ],
            formatters={f"@{c}": "printf" for c in ("smax", "srms", "smin", "bound", "gain")},
        )
    )
    fig.xaxis.axis_label = "layer l (input → output): the product runs from the top layer D down to l"
    fig.yaxis.axis_label = "singular value (log scale)"
    fig.yaxis.minor_tick_line_color = None
    fig.legend.location = "bottom_right"
    fig.legend.orientation = "horizontal"
    fig.add_layout(fig.legend[0], "above")
    return style(fig, height=380)


def _status(spectrum: JacobianSpectrum) -> tuple[str, bool]:
    first_layer, depth = int(spectrum.layers[0]), int(spectrum.layers[-1])
    smax, srms, smin = spectrum.sigma_max[0], spectrum.sigma_rms[0], spectrum.sigma_min[0]
    text = f"J_{depth} ⋯ J_{first_layer} ({len(spectrum)} Jacobians): σmax {smax:.1e}, σrms {srms:.1e}, "
    zero = np.flatnonzero(spectrum.sigma_min == 0)
    if zero.size:
        below = first_layer + int(zero.max())
        text += f"σmin 0 from layer {below} down (zero slopes, or below float64 rounding)."
    else:
        text += f"σmin {smin:.1e}."
    if spectrum.gradient_gain is not None:
        gain = spectrum.gradient_gain[0]
        text += f" This input's gradient: ‖dL/dh_{first_layer - 1}‖ = {gain:.1e} × ‖dL/dh_{depth}‖."
    if not np.isfinite(smax) or smax > 1e3 or smax < 1e-3:
        return text + " Orders of magnitude: exploding or vanishing.", True
    return text, False


def jacobian_spectrum(
    activations: Sequence[str] = ("linear", "sigmoid", "tanh", "relu"),
    weights: Sequence[str] = ("gaussian", "orthogonal"),
    gains: Sequence[float] = (1.0, 2**0.5, 2.0, 4.0),
    depth: int = 20,
    width: int = 64,
    **defaults,
) -> Explorer:
    """Singular values of ``J_D ⋯ J_l`` at one input, for an activation, weight family and gain.

    Every configuration with the same weight family and gain uses the very same weight
    matrices (``build_mlp`` with the same seed and an explicit gain), so switching the
    activation changes only the ``diag(f'(z_l))`` factors.

    Parameters
    ----------
    activations : sequence of str
        Activation names offered.
    weights : sequence of {"gaussian", "orthogonal"}
        Weight families: Gaussian with variance ``g²/fan_in`` or orthogonal times ``g``.
    gains : sequence of float
        The gains ``g`` offered.
    depth, width : int
        Hidden layers and units per layer. The first layer (2 inputs) is left out, so the
        products are square: layers 2 to ``depth``.
    **defaults
        Starting values by control name (``activation``, ``weights``, ``gain``).

    Returns
    -------
    Explorer
    """
    controls = (
        control("activation", "Activation", activations, defaults, "sigmoid"),
        control("weights", "Weights", weights, defaults, labels=[WEIGHT_LABELS[w] for w in weights]),
        control("gain", "Gain g", gains, defaults, 1.0, [_gain_label(g) for g in gains]),
    )

    def compute(cfg, emit):
        data = dataset("spirals")
        model = build_mlp(
            depth,
            width=width,
            activation=cfg["activation"],
            init=WEIGHTS[cfg["weights"]],
            init_gain=float(cfg["gain"]),
        )
        jacobians = layer_jacobians(model, data.X[0])[1:]  # leave out J_1: its input is 2-D
        spectrum = jacobian_singular_values(jacobians, grad=model.head.weight[0], first_layer=2)
        status, problem = _status(spectrum)
        return Result(spectrum_columns(spectrum), status, problem=problem)

    return Explorer(
        "jacobian-spectrum",
        f"Singular values of a product of Jacobians ({depth} layers, one input)",
        controls,
        compute,
        lambda sources: spectrum_figure(sources["cloud"], sources["lines"]),
        description="Same weights for every activation at a given weight family and gain.",
    )
