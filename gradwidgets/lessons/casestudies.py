"""Models from outside the course, for diagnosing: a plain CNN, a gated sequence model, and the
gradient that reaches each time step of a sequence."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..core.activations import get_activation
from ..core.checks import check_choice, check_int
from ..core.data import Dataset
from ..core.inits import get_init, resolve_gain
from ..core.losses import LossSpec, compute_loss, prepare_batch
from ..core.outputs import run_forward

CELLS = ("rnn", "gru", "lstm")
"""Recurrent layers :func:`build_sequence_model` builds: ``nn.RNN`` (tanh), ``nn.GRU``, ``nn.LSTM``."""
CNN_NORMS = (None, "batch")


def random_images(n: int = 64, seed: int = 0, size: int = 16) -> Dataset:
    """A batch of standard-normal 1 x size x size images with random labels 0/1 (cross-entropy).

    Enough to diagnose a model at initialization: one forward and backward pass needs a batch of
    the right shape, not a learnable task.
    """
    n = check_int("n", n, 1)
    size = check_int("size", size, 1)
    g = torch.Generator().manual_seed(int(seed))
    X = torch.randn(n, 1, size, size, generator=g)
    y = torch.randint(0, 2, (n,), generator=g)
    return Dataset("images", X, y, "cross_entropy")


def build_cnn(
    num_layers: int = 16,
    channels: int = 8,
    activation: str = "sigmoid",
    init: str = "pytorch_default",
    norm: str | None = None,
    num_classes: int = 2,
    seed: int = 0,
) -> nn.Sequential:
    """A plain CNN: ``num_layers`` x (3x3 Conv2d, optional BatchNorm2d, activation), then global
    average pooling and a linear head. No skip connections.

    Parameters
    ----------
    num_layers : int
        Number of convolutions, >= 1. The first takes one input channel.
    channels : int
        Channels of every convolution.
    activation : str
        One of :data:`gradwidgets.ACTIVATIONS`.
    init : str
        One of :data:`gradwidgets.INITS` for the convolutions (the head keeps PyTorch's default).
        ``"pytorch_default"`` leaves PyTorch's own initialization; any other scheme also zeroes
        the convolutions' biases.
    norm : {None, "batch"}
        Batch normalization between each convolution and its activation.
    num_classes : int
        Outputs of the head.
    seed : int
        Modules are created under ``torch.manual_seed(seed)`` (in a forked random state, so the
        global one is untouched): the same seed gives the network a plain ``nn.Sequential`` built
        in the same order would get.

    Returns
    -------
    nn.Sequential
    """
    num_layers = check_int("num_layers", num_layers, 1)
    channels = check_int("channels", channels, 1)
    num_classes = check_int("num_classes", num_classes, 1)
    check_choice("norm", norm, CNN_NORMS)
    act, scheme = get_activation(activation), get_init(init)
    gain = resolve_gain(scheme, None, act.gain)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        layers: list[nn.Module] = []
        convs = []
        for i in range(num_layers):
            convs.append(nn.Conv2d(1 if i == 0 else channels, channels, 3, padding=1))
            layers.append(convs[-1])
            if norm == "batch":
                layers.append(nn.BatchNorm2d(channels))
            layers.append(act.make())
        head = nn.Linear(channels, num_classes)
        if scheme.name != "pytorch_default":
            gen = torch.Generator().manual_seed(int(seed))
            for conv in convs:
                scheme.apply(conv.weight, gain, None, gen)
                nn.init.zeros_(conv.bias)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)


class SequenceModel(nn.Module):
    """A recurrent layer (batch first) read out by a linear layer from its last time step."""

    def __init__(self, rnn: nn.RNNBase, head: nn.Linear):
        super().__init__()
        self.rnn = rnn
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (batch, time, hidden)
        return self.head(out[:, -1])


def set_gate_bias(rnn: nn.RNNBase, value: float) -> None:
    """Set the bias of the gate that keeps the memory, in every layer of an LSTM or GRU.

    For ``nn.LSTM`` that is the forget gate f (PyTorch orders the gates i, f, g, o); for
    ``nn.GRU`` the update gate z (order r, z, n; h_t = (1 - z) n + z h_{t-1}). Both are the
    second block of ``hidden_size`` rows: ``bias_ih`` gets ``value`` there and ``bias_hh`` 0, so
    the gate starts at about sigmoid(value).
    """
    if not isinstance(rnn, (nn.LSTM, nn.GRU)):
        raise ValueError(f"set_gate_bias needs an nn.LSTM or nn.GRU, got {type(rnn).__name__}")
    if not rnn.bias:
        raise ValueError("set_gate_bias: this recurrent layer was built with bias=False")
    H = rnn.hidden_size
    with torch.no_grad():
        for layer in range(rnn.num_layers):
            getattr(rnn, f"bias_ih_l{layer}")[H : 2 * H] = float(value)
            getattr(rnn, f"bias_hh_l{layer}")[H : 2 * H] = 0.0


def build_sequence_model(
    cell: str = "lstm",
    input_size: int = 2,
    hidden_size: int = 32,
    gate_bias: float | None = None,
    seed: int = 0,
) -> SequenceModel:
    """An ``nn.RNN``/``nn.GRU``/``nn.LSTM`` with a linear read-out of the last time step.

    Parameters
    ----------
    cell : {"rnn", "gru", "lstm"}
        The recurrent layer.
    input_size, hidden_size : int
        Features per time step, and hidden units.
    gate_bias : float, optional
        The initial bias of the gate that keeps the memory (see :func:`set_gate_bias`); None
        keeps PyTorch's default. Not allowed for ``"rnn"``, which has no gate.
    seed : int
        Modules are created under ``torch.manual_seed(seed)`` in a forked random state.

    Returns
    -------
    SequenceModel
        Maps ``(batch, time, input_size)`` to ``(batch, 1)``.
    """
    check_choice("cell", cell, CELLS)
    input_size = check_int("input_size", input_size, 1)
    hidden_size = check_int("hidden_size", hidden_size, 1)
    if gate_bias is not None and cell == "rnn":
        raise ValueError("gate_bias: a vanilla RNN has no gate; use cell='gru' or 'lstm'")
    if gate_bias is not None and not math.isfinite(gate_bias):
        raise ValueError(f"gate_bias={gate_bias!r} must be a finite number")
    layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        rnn = layer(input_size, hidden_size, batch_first=True)
        head = nn.Linear(hidden_size, 1)
    if gate_bias is not None:
        set_gate_bias(rnn, gate_bias)
    return SequenceModel(rnn, head)


def input_grad_norms(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: LossSpec = "mse"
) -> np.ndarray:
    """||dL/dx_t|| for every time step t: how strongly the loss reacts to what the model saw at t.

    One forward and backward pass, ``torch.autograd.grad(L, X)``: the parameters' ``.grad``,
    the buffers and the global random state are left as they were.

    Parameters
    ----------
    model : nn.Module
        A batch-first sequence model.
    X : torch.Tensor
        Inputs of shape ``(batch, time, features)``.
    y : torch.Tensor
        Targets.
    loss : {"mse", "cross_entropy"} or callable
        As in :func:`gradwidgets.gradient_profile`; an ``(output, state)`` tuple is read as ``output``.

    Returns
    -------
    numpy.ndarray
        One norm per time step, first to last (float64; the norm over batch and features).
    """
    X, y = prepare_batch(model, X, y)
    if X.dim() != 3 or not X.is_floating_point():
        raise ValueError(f"X must be a float tensor of shape (batch, time, features), got {tuple(X.shape)}")
    X = X.detach().clone().requires_grad_(True)
    saved = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        with torch.random.fork_rng(devices=[]):
            output = run_forward(model, X)
            if not isinstance(output, torch.Tensor):
                output = output[0]
            (grad,) = torch.autograd.grad(compute_loss(loss, output, y), X)
    finally:
        with torch.no_grad():
            for buf, copy in saved:
                buf.copy_(copy)
    return grad.detach().double().norm(dim=(0, 2)).cpu().numpy()
