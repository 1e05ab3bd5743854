"""Deep MLPs and a vanilla (Elman) RNN whose depth, activation, init and normalisation are knobs."""

from __future__ import annotations

import math

import torch
from torch import nn

from .activations import get_activation
from .checks import check_bool, check_choice, check_int, check_memory, check_positive, check_seed
from .inits import get_init, resolve_gain
from .limits import MAX_HIDDEN, MAX_LAYERS, mlp_bytes, rnn_bytes

NORMS = (None, "batch", "layer")
NORM_LABELS = {None: "none", "batch": "batch norm", "layer": "layer norm"}
"""How the explorers show each of :data:`NORMS`."""


class Linear(nn.Linear):
    """``nn.Linear`` without its own random init: :func:`build_mlp` sets every weight itself.

    Skipping the default init keeps the global RNG untouched and building fast.
    """

    def reset_parameters(self) -> None:
        """Leave the parameters as allocated; the caller initialises them."""


class Block(nn.Module):
    """One hidden layer: linear, optional normalisation, activation, optional identity skip."""

    def __init__(self, linear: nn.Linear, norm: nn.Module | None, act: nn.Module, residual: bool):
        super().__init__()
        self.linear = linear
        self.norm = norm if norm is not None else nn.Identity()
        self.act = act
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.norm(self.linear(x)))
        return x + h if self.residual else h


class MLP(nn.Module):
    """A stack of :class:`Block` s followed by a linear head."""

    def __init__(self, blocks: list[Block], head: nn.Linear, config: dict):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.head = head
        self.config = config

    @property
    def hidden_linears(self) -> list[nn.Linear]:
        """The hidden ``nn.Linear`` layers, input to output."""
        return [b.linear for b in self.blocks]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    @torch.no_grad()
    def preactivations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The input z of each hidden layer's activation (after its norm), input to output."""
        zs = []
        for block in self.blocks:
            z = block.norm(block.linear(x))
            zs.append(z)
            h = block.act(z)
            x = x + h if block.residual else h
        return zs

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.items())


def build_mlp(
    num_layers: int,
    width: int = 64,
    in_features: int = 2,
    out_features: int = 1,
    activation: str = "tanh",
    init: str = "xavier_normal",
    init_gain: float | None = None,
    norm: str | None = None,
    residual: bool = False,
    seed: int = 0,
    init_scale: float | None = None,
) -> MLP:
    """Build a deep multilayer perceptron with ``num_layers`` hidden layers.

    Parameters
    ----------
    num_layers : int
        Number of hidden layers (each a Linear, optional norm and activation), 1 to
        :data:`MAX_LAYERS`; with ``width``, bounded by memory (:func:`.checks.check_memory`).
    width : int
        Units per hidden layer, >= 1.
    in_features, out_features : int
        Input and output sizes.
    activation : str
        One of :data:`gradwidgets.ACTIVATIONS`.
    init : str
        One of :data:`gradwidgets.INITS`, used for every hidden layer and the head.
    init_gain : float, optional
        Gain for the schemes that take one; None uses the scheme's default
        (1 for LeCun and Xavier, the activation's gain for Kaiming and orthogonal).
    norm : {None, "batch", "layer"}
        Normalisation between each hidden Linear and its activation.
    residual : bool
        Add an identity skip around every hidden block whose input and output sizes match.
    seed : int
        Seed for the weights; the same seed gives the same weights, bit for bit.
    init_scale : float, optional
        The std of ``"normal"``, the bound of ``"uniform"``, the value of ``"constant"``; >= 0.

    Returns
    -------
    MLP
        The model; ``model.hidden_linears`` lists the hidden layers, input to output.
    """
    num_layers = check_int("num_layers", num_layers, 1, MAX_LAYERS)
    width = check_int("width", width, 1)
    in_features = check_int("in_features", in_features, 1)
    out_features = check_int("out_features", out_features, 1)
    act = get_activation(activation)
    scheme = get_init(init)
    check_choice("norm", norm, NORMS)
    if init_gain is not None:
        init_gain = check_positive("init_gain", init_gain, allow_zero=True)
    if init_scale is not None:
        init_scale = check_positive("init_scale", init_scale, allow_zero=True)
    residual = check_bool("residual", residual)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    size = mlp_bytes(num_layers, width, in_features, out_features, norm)
    check_memory(f"build_mlp(num_layers={num_layers}, width={width}, in_features={in_features})", size)
    gain = resolve_gain(scheme, init_gain, act.gain)

    def linear(n_in: int, n_out: int) -> nn.Linear:
        layer = Linear(n_in, n_out)
        scheme.apply(layer.weight, gain, init_scale, gen)
        with torch.no_grad():
            if scheme.name == "pytorch_default":
                bound = 1.0 / math.sqrt(n_in)
                layer.bias.uniform_(-bound, bound, generator=gen)
            else:
                layer.bias.zero_()
        return layer

    make_norm = {None: None, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}[norm]
    blocks = []
    for i in range(num_layers):
        n_in = in_features if i == 0 else width
        norm_mod = make_norm(width) if make_norm is not None else None
        blocks.append(Block(linear(n_in, width), norm_mod, act.make(), residual and n_in == width))
    config = dict(num_layers=num_layers, width=width, activation=activation, init=init, gain=round(gain, 4))
    config.update(norm=norm, residual=residual, seed=seed)
    return MLP(blocks, linear(width, out_features), config)


class ElmanRNN(nn.Module):
    """A vanilla RNN, h_t = f(W_ih x_t + W_hh h_{t-1} + b), read out from the last state.

    The recurrence runs as a Python loop over an ``nn.RNNCell`` so that every h_t is a
    separate tensor in the autograd graph and dL/dh_t can be measured at each time step.
    """

    def __init__(self, cell: nn.RNNCell, head: nn.Linear, config: dict):
        super().__init__()
        self.cell = cell
        self.head = head
        self.config = config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[2] != self.cell.input_size:
            raise ValueError(
                f"X has shape {tuple(x.shape)}; ElmanRNN expects (batch, time, {self.cell.input_size})"
            )
        h = x.new_zeros(x.shape[0], self.cell.hidden_size)
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return self.head(h)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.items())


def build_rnn(
    input_size: int = 2,
    hidden_size: int = 32,
    output_size: int = 1,
    activation: str = "tanh",
    spectral_radius: float = 1.0,
    seed: int = 0,
) -> ElmanRNN:
    """Build a vanilla (Elman) RNN whose recurrent matrix has a chosen spectral radius.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Sizes of x_t, h_t (at most :data:`MAX_HIDDEN`) and the read-out.
    activation : {"tanh", "relu"}
        The recurrent nonlinearity.
    spectral_radius : float
        The largest |eigenvalue| of W_hh after scaling, > 0. Above 1 the linearised recurrence
        amplifies, below 1 it contracts.
    seed : int
        Seed for all weights.

    Returns
    -------
    ElmanRNN
    """
    input_size = check_int("input_size", input_size, 1)
    hidden_size = check_int("hidden_size", hidden_size, 1, MAX_HIDDEN)
    output_size = check_int("output_size", output_size, 1)
    check_choice("activation", activation, ("tanh", "relu"))
    rho = check_positive("spectral_radius", spectral_radius)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    check_memory(
        f"build_rnn(input_size={input_size}, hidden_size={hidden_size}, output_size={output_size})",
        rnn_bytes(input_size, hidden_size, output_size),
    )
    with torch.random.fork_rng(devices=[]):  # the modules' own init must not move the global RNG
        cell = nn.RNNCell(input_size, hidden_size, nonlinearity=activation)
        head = nn.Linear(hidden_size, output_size)
    with torch.no_grad():
        w_hh = torch.randn(hidden_size, hidden_size, generator=gen, dtype=torch.float64)
        radius = torch.linalg.eigvals(w_hh).abs().max().item()
        cell.weight_hh.copy_(w_hh * (rho / radius))
        cell.weight_ih.normal_(0.0, 1.0 / math.sqrt(input_size), generator=gen)
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
        head.weight.normal_(0.0, 1.0 / math.sqrt(hidden_size), generator=gen)
        head.bias.zero_()
    config = dict(hidden_size=hidden_size, activation=activation, spectral_radius=rho, seed=seed)
    return ElmanRNN(cell, head, config)


def spectral_radius(weight: torch.Tensor) -> float:
    """Largest absolute eigenvalue of a square matrix (a 2-D tensor)."""
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or weight.shape[0] != weight.shape[1]:
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"weight must be a square 2-D tensor, got {shape}")
    return float(torch.linalg.eigvals(weight.detach().double()).abs().max())
