"""A deep residual network without normalization, with its branches scaled three ways at initialization.

Each block adds a two-layer branch to its input, ``h_l = h_{l-1} + W2 relu(W1 h_{l-1})``, with
``W1`` drawn with He's variance ``2 / width`` and ``W2`` with ``1 / width``: a branch then adds to
the running sum as much as the sum already holds, and with no normalization to divide it out
the signal grows like ``2**depth``. Two remedies change only ``W2``'s initialization: GPT-2 scales
the output projection of every residual branch by ``1 / sqrt(N)``, ``N`` the number of branches
(Radford et al., 2019); Fixup starts every branch's last layer at zero (Zhang et al., 2019), and
SkipInit and ReZero multiply every branch by a learned scalar that starts at zero (De & Smith,
2020; Bachlechner et al., 2021): both make every block the identity at initialization.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core._util import fmt
from ..core.checks import check_choice, check_int, check_seed

BRANCH_SCALINGS = {"none": "no scaling", "gpt2": "W2 × 1/√N (GPT-2)", "zero": "W2 = 0 (Fixup)"}
"""How the last layer of each branch starts, with its display label."""


class ResidualStack(nn.Module):
    """``depth`` blocks ``h + W2 relu(W1 h)`` of ``width`` units, no normalization, no biases."""

    def __init__(self, depth: int, width: int):
        super().__init__()
        self.w1 = nn.ModuleList(nn.Linear(width, width, bias=False) for _ in range(depth))
        self.w2 = nn.ModuleList(nn.Linear(width, width, bias=False) for _ in range(depth))

    def forward(self, h: torch.Tensor, keep: list | None = None) -> torch.Tensor:
        for w1, w2 in zip(self.w1, self.w2, strict=True):
            h = h + w2(torch.relu(w1(h)))
            if keep is not None:
                h.retain_grad()
                keep.append(h)
        return h


def build_residual_stack(depth: int, scaling: str = "none", width: int = 64, seed: int = 0) -> ResidualStack:
    """A seeded :class:`ResidualStack` whose branches' ``W2`` start as ``scaling`` says.

    Parameters
    ----------
    depth : int
        Blocks, 1 to 1000.
    scaling : {"none", "gpt2", "zero"}
        ``W2 ~ N(0, 1/width)``; the same times ``1/sqrt(depth)``; or zero.
    width : int
        Units of every layer.
    seed : int
        Seed of the initialization.

    Returns
    -------
    ResidualStack
    """
    depth, width = check_int("depth", depth, 1, 1000), check_int("width", width, 1, 1024)
    check_choice("scaling", scaling, BRANCH_SCALINGS)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    model = ResidualStack(depth, width)
    factor = {"none": 1.0, "gpt2": 1 / math.sqrt(depth), "zero": 0.0}[scaling]
    with torch.no_grad():
        for w1, w2 in zip(model.w1, model.w2, strict=True):
            w1.weight.copy_(torch.randn(width, width, generator=gen) * math.sqrt(2 / width))
            w2.weight.copy_(torch.randn(width, width, generator=gen) * factor / math.sqrt(width))
    return model


@dataclass(frozen=True, repr=False)
class ResidualScales:
    """Per block ``l = 1 .. depth``: ``rms[l-1]``, the root mean square of ``h_l`` over a batch, and
    ``grad_rms[l-1]``, that of ``dL/dh_l``, for a loss whose gradient at the output has rms 1
    (measured in float64).
    ``forward_growth`` is ``rms(h_depth) / rms(h_0)``; ``backward_growth``
    ``rms(dL/dh_0) / rms(dL/dh_depth)``.
    """

    scaling: str
    rms: np.ndarray
    grad_rms: np.ndarray
    forward_growth: float
    backward_growth: float

    def __repr__(self) -> str:
        return (
            f"ResidualScales({self.scaling}, {len(self.rms)} blocks: forward growth "
            f"{fmt(self.forward_growth)}, backward growth {fmt(self.backward_growth)})"
        )


def residual_scales(
    depth: int, scaling: str = "none", width: int = 64, n: int = 256, seed: int = 0
) -> ResidualScales:
    """Measure how the signal and the gradient grow through a fresh :func:`build_residual_stack`.

    The input is ``n`` standard normal vectors; the loss is ``sum(h_depth * v)`` with a fixed
    standard normal ``v``, so the gradient arriving at the output has entries of rms 1.
    """
    n = check_int("n", n, 1, 100_000)
    model = build_residual_stack(depth, scaling, width, seed).double()  # 2**depth overflows float32
    gen = torch.Generator().manual_seed(check_seed("seed", seed) + 1)
    x = torch.randn(n, width, generator=gen, dtype=torch.float64, requires_grad=True)
    v = torch.randn(n, width, generator=gen, dtype=torch.float64)
    keep: list[torch.Tensor] = []
    with torch.enable_grad():
        (model(x, keep) * v).sum().backward()

    def rms(t: torch.Tensor) -> float:
        return float(t.detach().double().pow(2).mean().sqrt())

    hs = np.array([rms(h) for h in keep])
    gs = np.array([rms(h.grad) for h in keep])
    return ResidualScales(scaling, hs, gs, hs[-1] / rms(x), rms(x.grad) / gs[-1])
