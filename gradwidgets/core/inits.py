"""Weight initialisations, each with its variance formula for the book."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .checks import check_choice


@dataclass(frozen=True)
class Init:
    """A weight initialisation scheme and the variance it gives each weight."""

    name: str
    formula: str
    uses_gain: bool
    default_gain: str
    scale_meaning: str = ""
    label: str = ""
    """How the explorers show it (its name unless given)."""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name)

    def variance(self, fan_in: int, fan_out: int, gain: float = 1.0, scale: float | None = None) -> float:
        """Variance of one weight of a ``fan_out x fan_in`` matrix under this scheme."""
        s = _DEFAULT_SCALE.get(self.name, 1.0) if scale is None else scale
        g2 = gain * gain
        return {
            "zeros": 0.0,
            "constant": 0.0,
            "normal": s * s,
            "uniform": s * s / 3.0,
            "lecun_normal": g2 / fan_in,
            "xavier_uniform": g2 * 2.0 / (fan_in + fan_out),
            "xavier_normal": g2 * 2.0 / (fan_in + fan_out),
            "kaiming_uniform": g2 / fan_in,
            "kaiming_normal": g2 / fan_in,
            "orthogonal": g2 / max(fan_in, fan_out),
            "pytorch_default": 1.0 / (3.0 * fan_in),
        }[self.name]

    def apply(
        self, weight: torch.Tensor, gain: float, scale: float | None, generator: torch.Generator
    ) -> None:
        """Fill ``weight`` in place, drawing from ``generator``."""
        s = _DEFAULT_SCALE.get(self.name, 1.0) if scale is None else scale
        fan_out, fan_in = weight.shape[0], weight[0].numel()
        with torch.no_grad():
            if self.name == "zeros":
                weight.zero_()
            elif self.name == "constant":
                weight.fill_(s)
            elif self.name == "normal":
                weight.normal_(0.0, s, generator=generator)
            elif self.name == "uniform":
                weight.uniform_(-s, s, generator=generator)
            elif self.name == "orthogonal":
                torch.nn.init.orthogonal_(weight, gain=gain, generator=generator)
            elif self.name in ("xavier_uniform", "kaiming_uniform", "pytorch_default"):
                bound = math.sqrt(3.0 * self.variance(fan_in, fan_out, gain))
                weight.uniform_(-bound, bound, generator=generator)
            else:
                weight.normal_(0.0, math.sqrt(self.variance(fan_in, fan_out, gain)), generator=generator)


_DEFAULT_SCALE = {"constant": 0.1, "normal": 1.0, "uniform": 1.0}

INITS: dict[str, Init] = {
    i.name: i
    for i in [
        Init("zeros", r"W_{ij} = 0", False, "none"),
        Init("constant", r"W_{ij} = c", False, "none", "the constant c (default 0.1)"),
        Init(
            "normal",
            r"W_{ij} \sim \mathcal{N}(0, s^2)",
            False,
            "none",
            "the standard deviation s (default 1)",
            label="N(0, 1)",
        ),
        Init(
            "uniform",
            r"W_{ij} \sim U(-a, a),\ \mathrm{Var} = a^2/3",
            False,
            "none",
            "the bound a (default 1)",
            label="U(-1, 1)",
        ),
        Init("lecun_normal", r"\mathrm{Var}(W_{ij}) = g^2 / n_\mathrm{in}", True, "1", label="LeCun"),
        Init(
            "xavier_uniform",
            r"\mathrm{Var}(W_{ij}) = g^2 \cdot 2 / (n_\mathrm{in} + n_\mathrm{out})",
            True,
            "1",
            label="Xavier (uniform)",
        ),
        Init(
            "xavier_normal",
            r"\mathrm{Var}(W_{ij}) = g^2 \cdot 2 / (n_\mathrm{in} + n_\mathrm{out})",
            True,
            "1",
            label="Xavier",
        ),
        Init(
            "kaiming_uniform",
            r"\mathrm{Var}(W_{ij}) = g^2 / n_\mathrm{in}",
            True,
            "activation",
            label="He (uniform)",
        ),
        Init("kaiming_normal", r"\mathrm{Var}(W_{ij}) = g^2 / n_\mathrm{in}", True, "activation", label="He"),
        Init(
            "orthogonal",
            r"W^\top W = g^2 I,\ \mathrm{Var}(W_{ij}) = g^2 / \max(n_\mathrm{in}, n_\mathrm{out})",
            True,
            "activation",
        ),
        Init(
            "pytorch_default",
            r"W_{ij} \sim U(\pm 1/\sqrt{n_\mathrm{in}}),\ \mathrm{Var} = 1/(3 n_\mathrm{in})",
            False,
            "none",
            label="PyTorch default",
        ),
    ]
}
"""Every initialisation by name. ``default_gain`` says what ``init_gain=None`` means: ``"1"``
(as in the LeCun and Glorot papers), ``"activation"`` (the activation's recommended gain, as He
et al. and Saxe et al. do) or ``"none"`` (the scheme has no gain)."""


def get_init(name: str) -> Init:
    """Look up an initialisation by name, with an error that lists the allowed names."""
    check_choice("init", name, INITS)
    return INITS[name]


def resolve_gain(init: Init, init_gain: float | None, activation_gain: float) -> float:
    """The gain an initialisation uses when ``init_gain`` is given or left as None."""
    if init_gain is not None:
        return float(init_gain)
    return activation_gain if init.default_gain == "activation" else 1.0
