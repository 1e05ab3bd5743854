"""Explorers of models from outside the course: a plain CNN, and memory through time in a GRU/LSTM."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.activations import ACTIVATIONS
from ..core.inits import INITS
from ..core.profile import gradient_profile
from ..lessons.casestudies import (
    CELLS,
    CNN_NORMS,
    build_cnn,
    build_sequence_model,
    input_grad_norms,
    random_images,
)
from ..plots import activation_distribution_figure, gradient_norms_figure, stack
from ..plots.casestudies import time_grad_columns, time_grad_figure
from ..widgets.explorer import Explorer, Result
from ._args import MAX_BATCH, MAX_DEPTH, MAX_SEQ_LEN, MAX_WIDTH, FactoryArgs, finite, ints, one_of, optional
from ._common import activation_labels, control, dataset, describe, init_labels, norm_labels, profile_data
from ._status import ratio_sentence

CELL_LABELS = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}


def _profile_figures(sources):
    return stack(gradient_norms_figure(sources["grads"]), activation_distribution_figure(sources["acts"]))


def cnn_flow(
    depths: Sequence[int] = (4, 10, 16),
    activations: Sequence[str] = ("sigmoid", "tanh", "relu"),
    inits: Sequence[str] = ("pytorch_default", "xavier_normal", "kaiming_normal"),
    norms: Sequence[str | None] = (None, "batch"),
    channels: int = 8,
    batch: int = 64,
    **defaults,
) -> Explorer:
    """Gradient norm and activations per layer of a plain CNN (:func:`~gradwidgets.lessons.build_cnn`).

    One forward and backward pass with cross-entropy on :func:`~gradwidgets.lessons.random_images`
    (``batch`` images, seed 0); the convolutions and the head are the layers shown.

    Parameters
    ----------
    depths, activations, inits, norms : sequence
        The choices offered (the static page bakes every combination).
    channels : int
        Channels of every convolution.
    batch : int
        Images in the batch.
    **defaults
        Starting values by control name (``depth``, ``activation``, ``init``, ``norm``); the
        depth defaults to the largest offered.

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(cnn_flow)
    depths = args.choices("depths", depths, ints(1, MAX_DEPTH))
    activations = args.choices("activations", activations, one_of(ACTIVATIONS))
    inits = args.choices("inits", inits, one_of(INITS))
    norms = args.choices("norms", norms, one_of(CNN_NORMS))
    args.value("channels", channels, ints(1, MAX_WIDTH))
    args.value("batch", batch, ints(1, MAX_BATCH))
    args.defaults(defaults, depth=depths, activation=activations, init=inits, norm=norms)
    controls = [
        control("depth", "Convolutions", depths, defaults, max(depths)),
        control("activation", "Activation", activations, defaults, labels=activation_labels(activations)),
        control("init", "Init", inits, defaults, labels=init_labels(inits)),
        control("norm", "Normalization", norms, defaults, labels=norm_labels(norms)),
    ]
    fixed = {c.name: c.default for c in controls if len(c.options) == 1}

    def compute(cfg, emit) -> Result:
        cfg = {**fixed, **cfg}
        data = random_images(batch)
        model = build_cnn(cfg["depth"], channels, cfg["activation"], cfg["init"], cfg["norm"])
        profile = gradient_profile(model, data.X, data.y, loss="cross_entropy")
        status, problem = describe(profile)
        return Result(profile_data(profile), status, problem=problem)

    return Explorer(
        "cnn-flow",
        "Gradient flow through a plain CNN",
        tuple(c for c in controls if len(c.options) > 1),
        compute,
        _profile_figures,
        description="One forward and backward pass of a fresh CNN on a batch of random images.",
    )


def _memory_status(values: np.ndarray) -> tuple[str, bool]:
    first, last = float(values[0]), float(values[-1])
    if not np.isfinite(values).all():
        return "A gradient is not finite.", True
    if first == 0.0:
        zero = int(np.sum(values == 0.0))
        return f"The first {zero} time steps receive a gradient of exactly 0 (float32 underflow).", True
    return ratio_sentence("Step 1 / last step ‖dL/dxₜ‖ ratio", first / last, "step 1", "the last step")


def sequence_memory(
    cells: Sequence[str] = ("gru", "lstm"),
    gate_biases: Sequence[float | None] = (None, 1.0, 2.0, 3.0),
    seq_lens: Sequence[int] = (25, 50, 100, 200),
    hidden_size: int = 32,
    n: int = 64,
    **defaults,
) -> Explorer:
    """The gradient reaching each time step of a GRU or LSTM read out at the last step.

    ||dL/dx_t|| (:func:`~gradwidgets.lessons.casestudies.input_grad_norms`) on the adding problem, for a
    fresh :func:`~gradwidgets.lessons.casestudies.build_sequence_model` (seed 0) whose memory gate
    (LSTM: forget gate, GRU: update gate) starts at the chosen bias.

    Parameters
    ----------
    cells : sequence of {"gru", "lstm"}
        The recurrent layers offered.
    gate_biases : sequence of float or None
        Initial biases of the memory gate; None is PyTorch's default init.
    seq_lens : sequence of int
        Sequence lengths.
    hidden_size : int
        Hidden units.
    n : int
        Sequences in the batch.
    **defaults
        Starting values by control name (``cell``, ``gate_bias``, ``seq_len``); the length
        defaults to 100 when offered.

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(sequence_memory)
    cells = args.choices("cells", cells, one_of(CELLS))
    gate_biases = args.choices("gate_biases", gate_biases, optional(finite))
    seq_lens = args.choices("seq_lens", seq_lens, ints(2, MAX_SEQ_LEN))
    args.value("hidden_size", hidden_size, ints(1, MAX_WIDTH))
    args.value("n", n, ints(1, MAX_BATCH))
    args.defaults(defaults, cell=cells, gate_bias=gate_biases, seq_len=seq_lens)
    if "rnn" in cells:
        raise ValueError("cells: a vanilla RNN has no gate to bias; offer 'gru' and/or 'lstm'")
    bias_labels = ["PyTorch default" if b is None else f"{b:g}" for b in gate_biases]
    controls = [
        control("cell", "Recurrent layer", cells, defaults, "lstm", [CELL_LABELS[c] for c in cells]),
        control("gate_bias", "Memory-gate bias", gate_biases, defaults, labels=bias_labels),
        control("seq_len", "Sequence length", seq_lens, defaults, 100),
    ]
    fixed = {c.name: c.default for c in controls if len(c.options) == 1}

    def compute(cfg, emit) -> Result:
        cfg = {**fixed, **cfg}
        data = dataset("adding", n, 0, cfg["seq_len"])
        model = build_sequence_model(cfg["cell"], 2, hidden_size, cfg["gate_bias"])
        values = input_grad_norms(model, data.X, data.y)
        status, problem = _memory_status(values)
        return Result({"time": time_grad_columns(values)}, status, problem=problem)

    return Explorer(
        "sequence-memory",
        "How far back does the gradient reach?",
        tuple(c for c in controls if len(c.options) > 1),
        compute,
        lambda sources: time_grad_figure(sources["time"]),
        description="One forward and backward pass of a fresh GRU/LSTM on the adding problem.",
    )
