"""Explorer of the singular values of a product of layer Jacobians, as the product gets longer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.activations import ACTIVATIONS
from ..core.models import build_mlp
from ..core.thresholds import EXPLODING_RELATIVE, VANISHING_RELATIVE
from ..lessons.jacobians import JacobianSpectrum, jacobian_singular_values, layer_jacobians
from ..plots import spectrum_columns, spectrum_figure
from ..widgets.explorer import Explorer, Result
from ._args import MAX_DEPTH, MAX_WIDTH, FactoryArgs, ints, one_of, positives
from ._common import control, dataset
from ._status import factor

WEIGHTS = {"gaussian": "lecun_normal", "orthogonal": "orthogonal"}
"""Weight families offered: Gaussian with variance g²/fan_in, or orthogonal times g."""
WEIGHT_LABELS = {"gaussian": "Gaussian N(0, g²/n)", "orthogonal": "orthogonal × g"}


def _gain_label(g: float) -> str:
    return {1.0: "1", round(2**0.5, 6): "√2"}.get(round(g, 6), f"{g:g}")


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
    if not np.isfinite(smax):
        return text + " Not finite: exploding.", True
    if smax < VANISHING_RELATIVE:  # every direction shrinks
        return text + f" Vanishing: even the most-stretched direction shrinks {factor(1 / smax)}×.", True
    if smax > EXPLODING_RELATIVE:
        grows = f" Exploding: the most-stretched direction grows {factor(smax)}×"
        if smin < VANISHING_RELATIVE:
            least = "is 0" if smin == 0 else f"shrinks {factor(1 / smin)}×"
            return text + grows + f", while the least {least} (vanishing).", True
        return text + grows + ".", True
    return text + " σmax between 10⁻⁴ and 10³: neither vanishing nor exploding.", False


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
        Starting values by control name (``activation``, ``gain``). The ``weights`` control
        starts at the first of ``weights``.

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(jacobian_spectrum)
    activations = args.choices("activations", activations, one_of(ACTIVATIONS))
    weights = args.choices("weights", weights, one_of(WEIGHTS))
    gains = args.choices("gains", gains, positives())
    args.value("depth", depth, ints(2, MAX_DEPTH))  # layers 2 to depth: at least one Jacobian
    args.value("width", width, ints(1, MAX_WIDTH))
    args.defaults(defaults, activation=activations, weights=weights, gain=gains)
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
