"""Explorers of mixed precision: a network's gradients against fp16's range, and loss scaling."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.activations import ACTIVATIONS
from ..core.models import build_mlp
from ..lessons.mixedtraining import MixedRun, train_mixed
from ..lessons.precision import fp16_gradients
from ..plots import stack
from ..plots.precision import (
    fp16_histogram_columns,
    fp16_histogram_figure,
    fp16_layers_columns,
    fp16_layers_figure,
    scaling_columns,
    scaling_figure,
)
from ..widgets.explorer import Explorer, Result
from ._args import MAX_DEPTH, MAX_STEPS, MAX_WIDTH, FactoryArgs, ints, one_of, positives
from ._common import activation_labels, control, dataset

EMIT_EVERY = 5
"""A streamed run hands the live plot a partial result every this many steps."""
LR = 0.01
"""Adam's learning rate in the loss-scaling explorer."""
SCALINGS = {"none": "none", "static": "static", "dynamic": "dynamic"}
MAX_LOSS_SCALE = 2.0**64


def _scale_label(s: float) -> str:
    exponent = float(s).hex().split("p")[-1] if float(s).is_integer() and s >= 1 else None
    exact = exponent is not None and float(s) == 2.0 ** int(exponent)
    return f"2^{int(exponent)}" if exact and int(exponent) > 4 else f"{s:g}"


def fp16_range(
    activations: Sequence[str] = ("sigmoid", "tanh", "relu"),
    depths: Sequence[int] = (4, 8),
    scales: Sequence[float] = (1.0, 2.0**8, 2.0**16, 2.0**24),
    width: int = 32,
    **defaults,
) -> Explorer:
    """One backward pass of an MLP in fp16 autocast, times a loss scale, against float32.

    Parameters
    ----------
    activations, depths, scales : sequence
        The choices offered: activation and number of hidden layers of the network, and the
        loss scale S the fp16 pass multiplies the loss by.
    width : int
        Units per hidden layer (Xavier initialization; the spirals, cross-entropy).
    **defaults
        Starting values by control name (``activation``, ``depth``, ``scale``).

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(fp16_range)
    activations = args.choices("activations", activations, one_of(ACTIVATIONS))
    depths = args.choices("depths", depths, ints(1, MAX_DEPTH))
    scales = args.choices("scales", scales, positives(maximum=MAX_LOSS_SCALE))
    args.value("width", width, ints(1, MAX_WIDTH))
    args.defaults(defaults, activation=activations, depth=depths, scale=scales)
    controls = (
        control("activation", "Activation", activations, defaults, labels=activation_labels(activations)),
        control("depth", "Depth", depths, defaults, depths[-1]),
        control("scale", "Loss scale S", scales, defaults, labels=[_scale_label(s) for s in scales]),
    )

    def compute(cfg, emit):
        data = dataset("spirals")
        model = build_mlp(cfg["depth"], width=width, activation=cfg["activation"], out_features=2)
        grads = fp16_gradients(model, data.X, data.y, cfg["scale"], loss="cross_entropy")
        cols = {"hist": fp16_histogram_columns(grads), "layers": fp16_layers_columns(grads)}
        lost, over = grads.zero.max(), grads.overflow.max()
        text = f"Layer 1: {grads.zero[0]:.0%} of its gradient entries flushed to 0. "
        text += f"Worst layer: {lost:.0%} flushed to 0, {over:.0%} overflowed."
        return Result(cols, text, problem=bool(lost > 0.01 or over > 0))

    def figures(sources):
        return stack(
            fp16_histogram_figure(sources["hist"]), fp16_layers_figure(sources["layers"]), share_x=False
        )

    return Explorer("fp16-range", "Gradients against fp16's range", controls, compute, figures)


_RUNS: dict[tuple, MixedRun] = {}


def scaled_run(
    scaling: str, scale: float, depth: int = 8, width: int = 32, steps: int = 100, callback=None
) -> MixedRun:
    """The explorer's run: a sigmoid MLP on the spirals, Adam, in fp16 autocast with ``scaling``
    (or in float32 when ``scaling`` is ``"float32"``). A finished run is kept for the process,
    so the baked grid, the chapter and the live face compute each setting once; ``callback``
    receives the run as it goes (a kept run is returned at once)."""
    key = (scaling, float(scale), depth, width, steps)
    if key in _RUNS:
        return _RUNS[key]
    data = dataset("spirals")
    model = build_mlp(depth, width=width, activation="sigmoid", out_features=2)
    precision, mode = ("float32", "none") if scaling == "float32" else ("float16", scaling)
    run = train_mixed(
        model, data.X, data.y, steps, LR, precision, mode, scale,
        loss="cross_entropy", callback=callback, callback_every=EMIT_EVERY,
    )  # fmt: skip
    if len(run.loss) == steps or run.diverged_at is not None:  # a run the learner stopped is not kept
        _RUNS[key] = run
    return run


def _status(run: MixedRun, reference: MixedRun, steps: int) -> tuple[str, bool]:
    if run.diverged_at is not None:
        return (
            f"Diverged at step {run.diverged_at}: the scaled gradients overflowed and made the weights inf.",
            True,
        )
    zero = run.zero_share[-1, 0] if run.zero_share.size else 0.0
    text = (
        f"Step {len(run.loss)}/{steps}: layer 1 moved {run.first_layer_change:.0%} of its norm "
        f"(float32: {reference.first_layer_change:.0%}); {zero:.0%} of its gradient is 0 at the last step"
    )
    if run.skipped:
        text += f"; {len(run.skipped)} steps skipped by the scaler"
    return text + ".", bool(zero > 0.5)


def loss_scaling(
    scalings: Sequence[str] = ("none", "static", "dynamic"),
    scales: Sequence[float] = (2.0**8, 2.0**16, 2.0**24),
    steps: int = 100,
    depth: int = 8,
    width: int = 32,
    **defaults,
) -> Explorer:
    """Train a deep sigmoid MLP in fp16 autocast with no, static or dynamic loss scaling.

    Adam (lr :data:`LR`) on the spirals, full batch; the float32 run of the same network is the
    reference. Dynamic scaling is ``torch.amp.GradScaler("cpu")`` starting at the chosen scale,
    with ``growth_interval=20``. Every run is cached, so the baked grid computes each once.

    Parameters
    ----------
    scalings : sequence of {"none", "static", "dynamic"}
        The loss scalings offered.
    scales : sequence of float
        The (initial) loss scales offered, from 1 to 2^64 (not used without scaling).
    steps : int
        Optimiser steps.
    depth, width : int
        Hidden layers and units per layer of the sigmoid MLP.
    **defaults
        Starting values by control name (``scaling``, ``scale``).

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(loss_scaling)
    scalings = args.choices("scalings", scalings, one_of(SCALINGS))
    scales = args.choices("scales", scales, positives(maximum=MAX_LOSS_SCALE))
    args.value("steps", steps, ints(1, MAX_STEPS))
    args.value("depth", depth, ints(1, MAX_DEPTH))
    args.value("width", width, ints(1, MAX_WIDTH))
    args.defaults(defaults, scaling=scalings, scale=scales)
    controls = (
        control("scaling", "Loss scaling", scalings, defaults, labels=[SCALINGS[s] for s in scalings]),
        control("scale", "Scale S (initial)", scales, defaults, 2.0**16, [_scale_label(s) for s in scales]),
    )

    def compute(cfg, emit):
        scale = 1.0 if cfg["scaling"] == "none" else float(cfg["scale"])
        reference = scaled_run("float32", 1.0, depth, width, steps)

        def stream(partial: MixedRun) -> bool:
            text = _status(partial, reference, steps)[0]
            return emit(Result(scaling_columns(partial, reference), text, len(partial.loss) / steps))

        run = scaled_run(cfg["scaling"], scale, depth, width, steps, stream)
        text, problem = _status(run, reference, steps)
        if cfg["scaling"] == "none":
            text += " (no scaling: S is not used)"
        return Result(scaling_columns(run, reference), text, 1.0, problem)

    return Explorer("loss-scaling", "Loss scaling in fp16", controls, compute, scaling_figure)
