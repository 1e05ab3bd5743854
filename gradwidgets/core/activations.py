"""Activation functions with their derivatives, gains and formulas, as one registry."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .checks import check_choice

Tensor = torch.Tensor

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805
_LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An activation function and everything known about it, in one place.

    Attributes
    ----------
    name : str
        Its key in :data:`ACTIVATIONS`.
    make, derivative : callable
        A fresh torch module computing it, and its derivative f'(z).
    max_derivative, gain : float
        Its largest slope, and the factor that keeps signal scale through a layer.
    formula, derivative_formula : str
        LaTeX for the book.
    saturates : bool
        Flagged "saturated" by :func:`gradwidgets.diagnose`. ReLU, leaky ReLU and GELU are flat
        on their negative half by design (about 50% of entries at initialization with zero
        biases and weights symmetric around 0; a negative bias raises the share, a positive one
        lowers it): for them "dead" is the signal, not saturation.
    from_output : bool
        Its derivative can be written through its output h = f(z), so a profile need not keep z.
    can_die : bool
        Outputs exactly 0 with zero slope on a whole region (ReLU): a unit can go silent for
        every input, "dead". Flagged "dead" by :func:`gradwidgets.diagnose` only for these.
    label : str
        How the explorers show it (its name unless given).
    module_types : tuple of type
        The torch modules that are this activation; ``from_module`` reads one's own parameters
        (a LeakyReLU's slope), when it has any.
    """

    name: str
    make: Callable[[], nn.Module] = field(repr=False)
    derivative: Callable[[Tensor], Tensor] = field(repr=False)
    max_derivative: float
    gain: float
    formula: str
    derivative_formula: str
    saturates: bool
    from_output: bool
    can_die: bool = False
    label: str = ""
    module_types: tuple[type[nn.Module], ...] = field(default=(), repr=False)
    from_module: Callable[[nn.Module], Activation] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name)

    def __call__(self, z: Tensor) -> Tensor:
        return self.make()(z)


def _gelu_derivative(z: Tensor) -> Tensor:
    cdf = 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0)))
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return cdf + z * pdf


def _gelu_max_derivative() -> float:
    z = torch.linspace(0.0, 4.0, 40001, dtype=torch.float64)
    return float(_gelu_derivative(z).max())


def _second_moment_gain(f: Callable[[np.ndarray], np.ndarray]) -> float:
    """Gain g with E[f(x)^2] * g^2 = 1 for x ~ N(0, 1), by Gauss-Hermite quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(120)
    second_moment = float(np.sum(w * f(x) ** 2) / np.sqrt(2.0 * np.pi))
    return 1.0 / math.sqrt(second_moment)


def _gelu_np(x: np.ndarray) -> np.ndarray:
    from math import erf

    return x * 0.5 * (1.0 + np.vectorize(erf)(x / math.sqrt(2.0)))


def _coef(a: float) -> str:
    """A coefficient as it is written in a formula: nothing for 1."""
    return "" if a == 1 else f"{a:g}\\,"


def leaky_relu(negative_slope: float = _LEAKY_SLOPE) -> Activation:
    """Leaky ReLU with the given slope for negative inputs."""
    a = float(negative_slope)
    return Activation(
        name="leaky_relu",
        make=lambda: nn.LeakyReLU(a),
        derivative=lambda z: torch.where(z > 0, torch.ones_like(z), torch.full_like(z, a)),
        max_derivative=max(1.0, a),
        gain=math.sqrt(2.0 / (1.0 + a * a)),
        formula=rf"f(z) = \max({a:g}\,z,\ z)",
        derivative_formula=rf"f'(z) = 1 \text{{ if }} z > 0 \text{{ else }} {a:g}",
        saturates=False,
        from_output=True,
        module_types=(nn.LeakyReLU,),
        from_module=lambda m: leaky_relu(m.negative_slope),
    )


def elu(alpha: float = 1.0) -> Activation:
    """ELU with the given alpha."""
    a = float(alpha)
    return Activation(
        name="elu",
        make=lambda: nn.ELU(a),
        derivative=lambda z: torch.where(z > 0, torch.ones_like(z), a * torch.exp(z.clamp(max=0))),
        max_derivative=max(1.0, a),
        gain=_second_moment_gain(lambda x: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))),
        formula=rf"f(z) = z \text{{ if }} z > 0 \text{{ else }} {_coef(a)}(e^z - 1)",
        derivative_formula=rf"f'(z) = 1 \text{{ if }} z > 0 \text{{ else }} {_coef(a)}e^z",
        saturates=True,
        from_output=True,
        module_types=(nn.ELU,),
        from_module=lambda m: elu(m.alpha),
    )


def _sigmoid_derivative(z: Tensor) -> Tensor:
    s = torch.sigmoid(z)
    return s * (1 - s)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(
        name="sigmoid",
        make=nn.Sigmoid,
        derivative=_sigmoid_derivative,
        max_derivative=0.25,
        gain=1.0,
        formula=r"\sigma(z) = 1 / (1 + e^{-z})",
        derivative_formula=r"\sigma'(z) = \sigma(z)\,(1 - \sigma(z)) \le 1/4",
        saturates=True,
        from_output=True,
        module_types=(nn.Sigmoid,),
    ),
    "tanh": Activation(
        name="tanh",
        make=nn.Tanh,
        derivative=lambda z: 1 - torch.tanh(z) ** 2,
        max_derivative=1.0,
        gain=5.0 / 3.0,
        formula=r"\tanh(z)",
        derivative_formula=r"\tanh'(z) = 1 - \tanh^2(z) \le 1",
        saturates=True,
        from_output=True,
        module_types=(nn.Tanh,),
    ),
    "relu": Activation(
        name="relu",
        make=nn.ReLU,
        derivative=lambda z: (z > 0).to(z.dtype),
        max_derivative=1.0,
        gain=math.sqrt(2.0),
        formula=r"\mathrm{relu}(z) = \max(0, z)",
        derivative_formula=r"\mathrm{relu}'(z) = 1 \text{ if } z > 0 \text{ else } 0",
        saturates=False,
        from_output=True,
        can_die=True,
        module_types=(nn.ReLU,),
    ),
    "leaky_relu": leaky_relu(),
    "elu": elu(),
    "gelu": Activation(
        name="gelu",
        make=nn.GELU,
        derivative=_gelu_derivative,
        max_derivative=_gelu_max_derivative(),
        gain=_second_moment_gain(_gelu_np),
        formula=r"\mathrm{gelu}(z) = z\,\Phi(z)",
        derivative_formula=r"\mathrm{gelu}'(z) = \Phi(z) + z\,\varphi(z)",
        saturates=False,
        from_output=False,
        module_types=(nn.GELU,),
    ),
    "selu": Activation(
        name="selu",
        make=nn.SELU,
        derivative=lambda z: (
            _SELU_SCALE * torch.where(z > 0, torch.ones_like(z), _SELU_ALPHA * torch.exp(z.clamp(max=0)))
        ),
        max_derivative=_SELU_SCALE * _SELU_ALPHA,
        gain=1.0,
        formula=r"\mathrm{selu}(z) = \lambda z \text{ if } z > 0 \text{ else } \lambda\alpha(e^z - 1)",
        derivative_formula=r"\mathrm{selu}'(z) = \lambda \text{ if } z > 0 \text{ else } \lambda\alpha e^z",
        saturates=True,
        from_output=True,
        module_types=(nn.SELU,),
    ),
    "linear": Activation(
        name="linear",
        make=nn.Identity,
        derivative=torch.ones_like,
        max_derivative=1.0,
        gain=1.0,
        formula=r"f(z) = z",
        derivative_formula=r"f'(z) = 1",
        saturates=False,
        from_output=False,
        module_types=(nn.Identity,),
    ),
}
"""Every activation by name. ``gain`` is the factor that keeps signal scale through a layer:
PyTorch's ``calculate_gain`` values for sigmoid, tanh, relu and leaky_relu; 1 for SELU (the
LeCun-normal scale its self-normalising property assumes); the second-moment fixed point
``1 / sqrt(E[f(x)^2])`` for ELU and GELU, which PyTorch does not tabulate."""


def get_activation(name: str) -> Activation:
    """Look up an activation by name, with an error that lists the allowed names."""
    check_choice("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]


def activation_of_module(module: nn.Module) -> Activation | None:
    """The registry entry matching a torch activation module (with its own parameters), if any."""
    for act in ACTIVATIONS.values():
        if isinstance(module, act.module_types):
            return act if act.from_module is None else act.from_module(module)
    return None
