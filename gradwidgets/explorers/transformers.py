"""Explorers of a small transformer: where LayerNorm sits, and a learning-rate warmup."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core.history import History
from ..lessons.transformers import MAX_LAYERS, mean_ffn_grad_norms
from ..lessons.warmup import unit_names, warmup_run
from ..plots import gradient_heatmap_figure, stack, training_figure
from ..plots.runs import curves_columns, curves_figure
from ..widgets.explorer import Explorer, Result
from ._args import MAX_STEPS, FactoryArgs, bools, ints, positives
from ._common import control
from .trainers import EMIT_EVERY, _status, _training_data

PLACEMENT_LABELS = {False: "post-LN", True: "pre-LN"}
"""``norm_first`` of ``nn.TransformerEncoderLayer``, as the chapter names it."""
STALLED_ABOVE = 0.9 * math.log(8)
"""A final loss above this on the reversal task (8 tokens) is no better than guessing."""


def _placement_status(post: np.ndarray, pre: np.ndarray) -> str:
    return (
        f"Last layer: post-LN's ‖dL/dW2‖ is {post[-1] / pre[-1]:.1f} × pre-LN's. "
        f"Last / first layer: post-LN {post[-1] / post[0]:.2f}, pre-LN {pre[-1] / pre[0]:.2f}."
    )


def layer_norm_placement(
    depths: Sequence[int] = (6, 12, 24), seeds: Sequence[int] = (1, 8), **defaults
) -> Explorer:
    """‖dL/dW2‖ of every layer's feed-forward output matrix at initialization, post-LN and pre-LN.

    One forward and backward pass of fresh :func:`~gradwidgets.lessons.transformers.build_transformer`
    networks on the reversal task, averaged over the initializations of the first ``seeds``
    seeds (:func:`~gradwidgets.lessons.transformers.mean_ffn_grad_norms`).

    Parameters
    ----------
    depths : sequence of int
        Encoder layers offered.
    seeds : sequence of int
        How many initializations to average, offered (1: one network, with its noise).
    **defaults
        Starting values by control name (``depth``, ``seeds``).

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(layer_norm_placement)
    depths = args.choices("depths", depths, ints(1, MAX_LAYERS))
    seeds = args.choices("seeds", seeds, ints(1, 32))
    args.defaults(defaults, depth=depths, seeds=seeds)
    controls = (
        control("depth", "Layers", depths, defaults, 24),
        control("seeds", "Networks averaged", seeds, defaults, 8),
    )

    def compute(cfg, emit) -> Result:
        grads = {nf: mean_ffn_grad_norms(cfg["depth"], nf, cfg["seeds"]) for nf in (False, True)}
        layer = np.arange(1, cfg["depth"] + 1)
        data = {PLACEMENT_LABELS[nf]: curves_columns(layer, g, log_y=False) for nf, g in grads.items()}
        return Result(data, _placement_status(grads[False], grads[True]))

    def figures(sources):
        return curves_figure(
            [sources[label] for label in PLACEMENT_LABELS.values()],
            list(PLACEMENT_LABELS.values()),
            "‖dL/dW2‖ per layer at initialization",
            "layer (input → output)",
            "‖dL/dW2‖",
            log_y=False,
        )

    return Explorer(
        "layer-norm-placement",
        "Post-LN and pre-LN gradients at initialization",
        controls,
        compute,
        figures,
        description="One forward and backward pass of fresh transformers on the reversal task.",
    )


def warmup_training(
    placements: Sequence[bool] = (False, True),
    warmups: Sequence[int] = (0, 30),
    lrs: Sequence[float] = (0.01, 0.02),
    steps: int = 100,
    num_layers: int = 6,
    **defaults,
) -> Explorer:
    """Train a post-LN or pre-LN transformer with Adam, with or without a linear warmup, streaming the run.

    :func:`~gradwidgets.lessons.warmup.warmup_run` (seed 0) on the reversal task: 64 sequences
    of 8 tokens out of 8, full batch; a network that has learned nothing sits near ``ln 8``.

    Parameters
    ----------
    placements : sequence of bool
        ``norm_first`` values offered (False: post-LN, True: pre-LN).
    warmups : sequence of int
        Warmup lengths in steps (0: none).
    lrs : sequence of float
        Peak learning rates.
    steps : int
        Adam steps.
    num_layers : int
        Encoder layers.
    **defaults
        Starting values by control name (``norm_first``, ``warmup``, ``lr``).

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(warmup_training)
    placements = args.choices("placements", placements, bools)
    warmups = args.choices("warmups", warmups, ints(0, MAX_STEPS))
    lrs = args.choices("lrs", lrs, positives(maximum=1.0))
    args.value("steps", steps, ints(1, MAX_STEPS))
    args.value("num_layers", num_layers, ints(1, MAX_LAYERS))
    args.defaults(defaults, norm_first=placements, warmup=warmups, lr=lrs)
    controls = (
        control(
            "norm_first", "LayerNorm", placements, defaults, labels=[PLACEMENT_LABELS[p] for p in placements]
        ),
        control("warmup", "Warmup steps", warmups, defaults),
        control("lr", "Peak learning rate", lrs, defaults, max(lrs)),
    )

    def compute(cfg, emit) -> Result:
        records = []

        def callback(record) -> bool:
            records.append(record)
            if record.step % EMIT_EVERY:
                return False
            partial = History.from_records(unit_names(num_layers), records)
            return emit(
                Result(_training_data(partial, True), _status(partial, steps)[0], len(records) / steps)
            )

        history = warmup_run(cfg["norm_first"], cfg["warmup"], cfg["lr"], 0, num_layers, steps, callback)
        text, problem = _status(history, steps)
        if history.diverged_at is None and history.final_loss > STALLED_ABOVE:
            text, problem = f"{text} That is guessing (ln 8 ≈ 2.08): the network learned nothing.", True
        return Result(_training_data(history, True), text, 1.0, problem)

    def figures(sources):
        return stack(
            training_figure(sources["loss"], sources["norms"], sources["diverged"], clipping=False),
            gradient_heatmap_figure(sources["heat"]),
        )

    return Explorer(
        "warmup-training",
        "Training a transformer with and without warmup",
        controls,
        compute,
        figures,
        description="Full-batch Adam on the reversal task; the status line reports the loss.",
    )
