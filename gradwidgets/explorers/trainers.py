"""Explorers that train: normalization and skips, clipping through time, the learning rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..core.activations import ACTIVATIONS
from ..core.history import History, StepRecord
from ..core.inits import INITS
from ..core.layers import reported_layers
from ..core.models import NORMS, build_mlp, build_rnn
from ..core.profile import gradient_profile
from ..core.training import train
from ..plots import (
    divergence_columns,
    gradient_heatmap_columns,
    gradient_heatmap_figure,
    loss_columns,
    norm_columns,
    rnn_time_norms_columns,
    rnn_time_norms_figure,
    stack,
    training_figure,
)
from ..widgets.explorer import Emit, Explorer, Result
from ._args import MAX_DEPTH, MAX_SEQ_LEN, MAX_STEPS, FactoryArgs, bools, ints, one_of, positives
from ._common import activation_labels, control, dataset, init_labels, norm_labels, targets

GUESSING = 0.9
"""A cross-entropy above this fraction of ln(classes) is no better than guessing."""

EMIT_EVERY = 5
"""A streamed run hands the live plot a partial result every this many steps."""

BARELY = 0.05
"""A loss that fell by less than this fraction of its first value barely fell: a problem."""


def _training_data(history: History, heatmap: bool) -> dict[str, dict]:
    data = {
        "loss": loss_columns(history),
        "norms": norm_columns(history),
        "diverged": divergence_columns(history),
    }
    if heatmap:
        data["heat"] = gradient_heatmap_columns(history)
    return data


def _status(history: History, steps: int) -> tuple[str, bool]:
    if history.diverged_at is not None:
        return f"Diverged at step {history.diverged_at}: the loss or a gradient became non-finite.", True
    done = len(history.loss)
    first, last = history.loss[0], history.final_loss
    span = f"{first:.3g} to {last:.3g}"
    if not last < first:
        return f"Step {done}/{steps}: the loss did not fall ({span}).", True
    drop = (first - last) / first  # a loss is not negative, and last < first: first > 0
    if drop < BARELY:
        return f"Step {done}/{steps}: the loss barely fell, by {drop:.1%} ({span}).", True
    return f"Step {done}/{steps}: the loss fell by {drop:.0%} ({span}).", False


def stream_training(
    model,
    X,
    y,
    steps: int,
    lr: float,
    emit: Emit,
    extra: dict[str, dict] | None = None,
    heatmap: bool = True,
    **train_kwargs,
) -> Result:
    """``train`` the model, handing ``emit`` a partial result every :data:`EMIT_EVERY` steps.

    The result holds the loss, the per-layer norms, the divergence marker, the layer-by-step
    heatmap when ``heatmap`` is true, and ``extra``'s sources unchanged.
    """
    names = tuple(lr.name for lr in reported_layers(model))
    records: list[StepRecord] = []

    def callback(record: StepRecord) -> bool:
        records.append(record)
        if record.step % EMIT_EVERY:
            return False
        partial = History.from_records(names, records)
        text, _ = _status(partial, steps)
        return emit(Result({**_training_data(partial, heatmap), **(extra or {})}, text, len(records) / steps))

    history = train(model, X, y, steps, lr, callback=callback, **train_kwargs)
    text, problem = _status(history, steps)
    return Result({**_training_data(history, heatmap), **(extra or {})}, text, 1.0, problem)


def _training_figures(sources):
    return stack(
        training_figure(sources["loss"], sources["norms"], sources["diverged"], clipping=False),
        gradient_heatmap_figure(sources["heat"]),
    )


def norm_training(
    norms: Sequence[str | None] = (None, "batch", "layer"),
    residual: Sequence[bool] = (False, True),
    activations: Sequence[str] = ("sigmoid", "tanh", "relu"),
    depths: Sequence[int] = (10, 30),
    steps: int = 150,
    lr: float = 0.1,
    inits: Sequence[str] = ("xavier_normal",),
    **defaults,
) -> Explorer:
    """Train a deep MLP with and without normalization and skip connections, streaming the run.

    Parameters
    ----------
    norms, residual, activations, depths : sequence
        The choices offered.
    steps : int
        Full-batch SGD steps (momentum 0.9) on the spirals.
    lr : float
        Learning rate.
    inits : sequence of str
        Initializations offered (``"kaiming_normal"`` beside Xavier gives ReLU its fair baseline).
    **defaults
        Starting values by control name (``norm``, ``activation``, ``depth``, ``init``). The
        ``residual`` control starts at the first of ``residual``.

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(norm_training)
    norms = args.choices("norms", norms, one_of(NORMS))
    residual = args.choices("residual", residual, bools)
    activations = args.choices("activations", activations, one_of(ACTIVATIONS))
    depths = args.choices("depths", depths, ints(1, MAX_DEPTH))
    args.value("steps", steps, ints(1, MAX_STEPS))
    args.value("lr", lr, positives())
    inits = args.choices("inits", inits, one_of(INITS))
    args.defaults(defaults, norm=norms, residual=residual, activation=activations, depth=depths, init=inits)
    controls = (
        control("norm", "Normalization", norms, defaults, labels=norm_labels(norms)),
        control("residual", "Skip connections", residual, defaults),
        control("activation", "Activation", activations, defaults, labels=activation_labels(activations)),
        control("depth", "Depth", depths, defaults, depths[-1]),
        control("init", "Init", inits, defaults, labels=init_labels(inits)),
    )

    def compute(cfg, emit):
        data = dataset("spirals")
        model = build_mlp(
            cfg["depth"],
            width=32,
            init=cfg["init"],
            activation=cfg["activation"],
            norm=cfg["norm"],
            residual=cfg["residual"],
            out_features=2,
        )

        result = stream_training(model, data.X, data.y, steps, lr, emit, momentum=0.9, loss="cross_entropy")
        final = result.data["loss"]["loss"][-1]
        if np.isfinite(final) and final > GUESSING * math.log(2):  # two classes
            text = f"{result.status} That is guessing (ln 2 ≈ 0.693): the network learned nothing."
            return Result(result.data, text, result.progress, True)
        return result

    return Explorer(
        "norm-training",
        "Training with and without normalization and skips",
        controls,
        compute,
        _training_figures,
    )


def clipping(
    modes: Sequence[str] = ("none", "norm", "value"),
    thresholds: Sequence[float] = (0.1, 1.0, 10.0),
    radii: Sequence[float] = (0.9, 1.5, 3.0),
    seq_len: int = 30,
    steps: int = 120,
    lr: float = 0.05,
    **defaults,
) -> Explorer:
    """Train a vanilla RNN on the adding problem with no clipping, clipping by norm or by value.

    Parameters
    ----------
    modes, thresholds, radii : sequence
        Clipping mode, its threshold, and the recurrent matrix's spectral radius.
    seq_len : int
        Sequence length of the adding problem.
    steps : int
        Full-batch SGD steps.
    lr : float
        Learning rate.
    **defaults
        Starting values by control name (``mode``, ``threshold``, ``radius``).

    Returns
    -------
    Explorer
    """
    mode_labels = {"none": "no clipping", "norm": "by norm", "value": "by value"}
    args = FactoryArgs(clipping)
    modes = args.choices("modes", modes, one_of(mode_labels))
    thresholds = args.choices("thresholds", thresholds, positives())
    radii = args.choices("radii", radii, positives())
    args.value("seq_len", seq_len, ints(2, MAX_SEQ_LEN))
    args.value("steps", steps, ints(1, MAX_STEPS))
    args.value("lr", lr, positives())
    args.defaults(defaults, mode=modes, threshold=thresholds, radius=radii)
    controls = (
        control("mode", "Clip", modes, defaults, "none", [mode_labels[m] for m in modes]),
        control("threshold", "Threshold", thresholds, defaults, 1.0),
        control("radius", "Spectral radius", radii, defaults, 1.5),
    )

    def compute(cfg, emit):
        data = dataset("adding", 128, 0, seq_len)
        model = build_rnn(spectral_radius=cfg["radius"], hidden_size=32)
        time_cols = rnn_time_norms_columns(gradient_profile(model, data.X, data.y))
        clip = {"norm": {"clip_norm": cfg["threshold"]}, "value": {"clip_value": cfg["threshold"]}}.get(
            cfg["mode"], {}
        )

        result = stream_training(
            model, data.X, targets(data), steps, lr, emit, extra={"time": time_cols}, heatmap=False, **clip
        )
        if cfg["mode"] == "none":
            return replace(result, status=result.status + " (no clipping: the threshold is not used)")
        return result

    def figures(sources):
        return stack(
            rnn_time_norms_figure(sources["time"]),
            training_figure(sources["loss"], sources["norms"], sources["diverged"]),
            share_x=False,  # time steps of one pass above, training steps below
        )

    return Explorer("clipping", "Clipping an RNN's exploding gradient", controls, compute, figures)
