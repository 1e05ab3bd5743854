"""Explorer of saturation: an activation, its slope, and where a layer's pre-activations fall."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.activations import ACTIVATIONS, get_activation
from ..core.models import build_mlp
from ..plots import (
    activation_curve_columns,
    activation_distribution_columns,
    activation_distribution_figure,
    activation_figure,
    preactivation_hist_columns,
    stack,
)
from ..widgets.explorer import Explorer, Result
from ._args import MAX_DEPTH, FactoryArgs, ints, one_of, positives
from ._common import ACTIVATION_CHOICES, activation_labels, control, dataset, profile_of
from ._status import KIND_WORDS, number, ratio_kind


def saturation(
    activations: Sequence[str] = ACTIVATION_CHOICES,
    gains: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
    layers: Sequence[int] = (1, 5, 10),
    depth: int = 10,
    **defaults,
) -> Explorer:
    """An activation with its derivative, and a histogram of one layer's pre-activations on top.

    The network is ``depth`` layers deep, Xavier-initialised with the chosen gain; a larger
    gain spreads the pre-activations wider, into the flat, saturated parts of the curve.

    Parameters
    ----------
    activations, gains, layers : sequence
        The choices offered (``layers`` are 1-based hidden-layer numbers, at most ``depth``).
    depth : int
        Number of hidden layers.
    **defaults
        Starting values by control name (``activation``, ``gain``, ``layer``).

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(saturation)
    activations = args.choices("activations", activations, one_of(ACTIVATIONS))
    gains = args.choices("gains", gains, positives())
    depth = args.value("depth", depth, ints(1, MAX_DEPTH))
    layers = args.choices("layers", layers, ints(1, depth))  # hidden-layer numbers, at most depth
    args.defaults(defaults, activation=activations, gain=gains, layer=layers)
    controls = (
        control("activation", "Activation", activations, defaults, "sigmoid", activation_labels(activations)),
        control("gain", "Weight gain", gains, defaults, 1.0),
        control("layer", "Show layer", layers, defaults, layers[len(layers) // 2]),
    )

    def compute(cfg, emit):
        data = dataset("spirals")
        model = build_mlp(depth, activation=cfg["activation"], init="xavier_normal", init_gain=cfg["gain"])
        z = model.preactivations(data.X)[cfg["layer"] - 1]
        profile = profile_of(model, data)
        layer = cfg["layer"] - 1
        sat = profile.saturation[layer]
        act = get_activation(cfg["activation"])
        ratio = profile.first_last_ratio
        status = (
            f"Layer {cfg['layer']}: {100 * sat:.0f}% of unit-samples have f'(z) below 5% of its "
            f"maximum ({act.max_derivative:.3g}). "
            + f"The first layer's gradient is {number(ratio)} × the last's: {KIND_WORDS[ratio_kind(ratio)]}."
        )
        data_out = {
            "curve": activation_curve_columns(act),
            "hist": preactivation_hist_columns(z.numpy().ravel()),
            "acts": activation_distribution_columns(profile),
        }
        return Result(data_out, status, problem=bool(sat > 0.5))

    def figures(sources):
        return stack(
            activation_figure(sources["curve"], sources["hist"]),
            activation_distribution_figure(sources["acts"]),
            share_x=False,
        )

    return Explorer("saturation", "Saturation: where do pre-activations land?", controls, compute, figures)
