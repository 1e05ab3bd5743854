"""Clipping and weight decay measured on a real gradient: direction, size and the weights' norm.

:func:`clip_comparison` takes one gradient of a model and clips it both ways, with the formulas
:func:`gradwidgets.train` uses (``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``), to
compare the result with the gradient itself. :func:`l2_loss` puts an L2 penalty into the loss,
for comparing it with an optimizer's ``weight_decay``; :func:`parameter_norm` is the size of
all the parameters together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..core._util import fmt
from ..core.checks import check_positive
from ..core.losses import LossSpec, compute_loss, prepare_batch
from ..core.outputs import run_forward


@dataclass(frozen=True)
class ClipComparison:
    """One gradient ``g`` (all parameters together) and what clipping at ``threshold`` makes of it.

    ``*_norm`` are Euclidean norms; ``cos_*`` the cosine between the clipped gradient and ``g``
    (1 means the same direction); ``clamped`` the fraction of entries that value clipping changed.
    """

    threshold: float
    norm: float
    norm_clipped_norm: float
    value_clipped_norm: float
    cos_norm: float
    cos_value: float
    clamped: float
    size: int

    def __repr__(self) -> str:
        return (
            f"ClipComparison(threshold={self.threshold:g}, |g|={fmt(self.norm)}, {self.size} entries)\n"
            f"  by norm:  |g'|={fmt(self.norm_clipped_norm)}, cos={self.cos_norm:.4f}\n"
            f"  by value: |g'|={fmt(self.value_clipped_norm)}, cos={self.cos_value:.4f}, "
            f"{100 * self.clamped:.0f}% of the entries clamped"
        )


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1) for t in tensors]).double()


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b / (a.norm() * b.norm()))


def clip_comparison(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, threshold: float, loss: LossSpec = "mse"
) -> ClipComparison:
    """Clip one gradient of ``model`` by norm and by value and compare both with the original.

    Nothing about the model changes: the gradient is computed with ``torch.autograd.grad`` and
    clipped on copies with the formulas of ``torch.nn.utils.clip_grad_norm_`` (scale by
    ``min(1, c / (|g| + 1e-6))``) and ``clip_grad_value_`` (clamp every entry to ``[-c, c]``).

    Parameters
    ----------
    model : nn.Module
        Any model with parameters.
    X, y : torch.Tensor
        The batch the gradient is computed on.
    threshold : float
        The clipping threshold ``c`` > 0: the largest allowed norm (by norm) or entry (by value).
    loss : {"mse", "cross_entropy"} or callable
        The loss.

    Returns
    -------
    ClipComparison
    """
    c = check_positive("threshold", threshold)
    X, y = prepare_batch(model, X, y)
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(compute_loss(loss, run_forward(model, X), y), params)
    g = _flat(list(grads))
    # the formulas of torch.nn.utils.clip_grad_norm_ and clip_grad_value_, applied to copies
    gn = g * min(1.0, c / (float(_flat([t.norm() for t in grads]).norm()) + 1e-6))
    gv = g.clamp(-c, c)
    return ClipComparison(
        threshold=c,
        norm=float(g.norm()),
        norm_clipped_norm=float(gn.norm()),
        value_clipped_norm=float(gv.norm()),
        cos_norm=_cosine(gn, g),
        cos_value=_cosine(gv, g),
        clamped=float((g.abs() > c).double().mean()),
        size=g.numel(),
    )


def parameter_norm(model: nn.Module) -> float:
    """The Euclidean norm of all the model's parameters together (weights and biases)."""
    with torch.no_grad():
        return float(torch.sqrt(sum((p.double() ** 2).sum() for p in model.parameters())))


def l2_loss(model: nn.Module, strength: float, base: LossSpec = "mse") -> Callable:
    """A loss for :func:`gradwidgets.train`: ``base`` plus ``strength / 2`` times the squared norm
    of all the model's parameters, whose gradient adds ``strength * p`` to every parameter's.

    Parameters
    ----------
    model : nn.Module
        The model whose parameters are penalized (the same one that is trained).
    strength : float
        The L2 coefficient lambda, >= 0.
    base : {"mse", "cross_entropy"} or callable
        The data loss.

    Returns
    -------
    callable
        ``loss(output, y)`` returning a scalar tensor.
    """
    lam = check_positive("strength", strength, allow_zero=True)

    def loss(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        penalty = sum((p**2).sum() for p in model.parameters())
        return compute_loss(base, output, y) + 0.5 * lam * penalty

    return loss
