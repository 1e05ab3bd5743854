"""Floating-point formats against real gradients: fp16's range, and bf16's rounding of an update.

:func:`float_format` reads a format's limits from ``torch.finfo``. :func:`fp16_gradients` runs
one backward pass of a model under ``torch.autocast(dtype=torch.float16)`` (the loss times a
scale, as loss scaling does) and one in float32, and counts per layer the weight-gradient
entries that fp16 flushed to zero, left subnormal or overflowed. :func:`bf16_update` applies an
update to weights held in bfloat16 and counts the entries it left unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core._util import fmt
from ..core.checks import check_choice, check_positive
from ..core.layers import reported_layers
from ..core.losses import LossSpec, compute_loss, prepare_batch
from ..core.outputs import run_forward

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
"""The formats this chapter compares, by name."""


@dataclass(frozen=True)
class FloatFormat:
    """The limits of one floating-point format, as ``torch.finfo`` gives them.

    ``smallest_subnormal`` is ``smallest_normal * eps``; ``significand_bits`` counts the implicit
    leading bit (fp16 11, bf16 8, fp32 24), so ``eps = 2 ** (1 - significand_bits)``.
    """

    name: str
    bits: int
    max: float
    smallest_normal: float
    smallest_subnormal: float
    eps: float
    significand_bits: int

    def __repr__(self) -> str:
        return (
            f"FloatFormat({self.name}: max {fmt(self.max)}, smallest normal {fmt(self.smallest_normal)}, "
            f"smallest subnormal {fmt(self.smallest_subnormal)}, eps {fmt(self.eps)})"
        )


def float_format(name: str) -> FloatFormat:
    """The limits of ``"float16"``, ``"bfloat16"`` or ``"float32"`` from ``torch.finfo``."""
    info = torch.finfo(DTYPES[check_choice("name", name, tuple(DTYPES))])
    return FloatFormat(
        name=name,
        bits=info.bits,
        max=float(info.max),
        smallest_normal=float(info.smallest_normal),
        smallest_subnormal=float(info.smallest_normal * info.eps),
        eps=float(info.eps),
        significand_bits=1 - int(np.log2(info.eps)),
    )


@dataclass(frozen=True)
class FP16Gradients:
    """Per layer, what an fp16 backward pass did to the weight gradients, against float32.

    ``zero`` is the share of entries that are exactly 0 in the fp16 pass but not in float32;
    ``subnormal`` the share whose scaled value ``scale * g`` is below fp16's smallest normal
    (and not 0): kept with fewer bits; ``overflow`` the share that is not finite. ``cast_zero``
    is the share that merely casting the float32 gradient (times ``scale``) to fp16 sets to 0.
    ``log2_abs`` holds log2 |g| of every nonzero float32 weight-gradient entry, for a histogram.
    """

    layer_names: tuple[str, ...]
    scale: float
    zero: np.ndarray
    subnormal: np.ndarray
    overflow: np.ndarray
    cast_zero: np.ndarray
    log2_abs: np.ndarray

    def __repr__(self) -> str:
        rows = [f"FP16Gradients(scale={self.scale:g}, {len(self.layer_names)} layers)"]
        for i, name in enumerate(self.layer_names):
            rows.append(
                f"  {name}: {self.zero[i]:.1%} zero, {self.subnormal[i]:.1%} subnormal, "
                f"{self.overflow[i]:.1%} overflow"
            )
        return "\n".join(rows)


def _weight_grads(model, X, y, loss, dtype, scale) -> list[torch.Tensor]:
    weights = [w for layer in reported_layers(model) for w in layer.weights[:1]]
    with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
        output = run_forward(model, X)
    value = compute_loss(loss, output.float(), y) * scale
    return [g.detach().double() / scale for g in torch.autograd.grad(value, weights)]


def fp16_gradients(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, scale: float = 1.0, loss: LossSpec = "mse"
) -> FP16Gradients:
    """One backward pass in fp16 autocast and one in float32: which weight gradients fp16 lost.

    The model, its parameters and ``.grad`` are left as they were (``torch.autograd.grad``).

    Parameters
    ----------
    model : nn.Module
        Any model with reported layers (:func:`gradwidgets.core.layers.reported_layers`).
    X, y : torch.Tensor
        The batch.
    scale : float
        The loss scale ``S`` > 0: the fp16 pass differentiates ``S * loss`` and divides the
        gradients by ``S`` in float64 afterwards.
    loss : {"mse", "cross_entropy"} or callable
        The loss.

    Returns
    -------
    FP16Gradients
    """
    scale = check_positive("scale", scale, maximum=2.0**64)
    X, y = prepare_batch(model, X, y)
    names = tuple(layer.name for layer in reported_layers(model))
    exact = _weight_grads(model, X, y, loss, None, 1.0)
    half = _weight_grads(model, X, y, loss, torch.float16, scale)
    tiny = torch.finfo(torch.float16).smallest_normal
    zero, sub, over, cast = [], [], [], []
    for g32, g16 in zip(exact, half, strict=True):
        nonzero = g32 != 0
        scaled = (g16 * scale).abs()
        zero.append(float(((g16 == 0) & nonzero).double().mean()))
        sub.append(float(((scaled < tiny) & (scaled > 0)).double().mean()))
        over.append(float((~torch.isfinite(g16)).double().mean()))
        cast.append(float(((g32 * scale).to(torch.float16) == 0).logical_and(nonzero).double().mean()))
    flat = torch.cat([g.reshape(-1) for g in exact])
    return FP16Gradients(
        layer_names=names,
        scale=scale,
        zero=np.array(zero),
        subnormal=np.array(sub),
        overflow=np.array(over),
        cast_zero=np.array(cast),
        log2_abs=torch.log2(flat[flat != 0].abs()).numpy(),
    )


@dataclass(frozen=True)
class RoundedUpdate:
    """An update ``u`` applied to weights ``w`` in float32 and in bfloat16.

    ``lost`` is the share of entries with ``u != 0`` whose bf16 sum ``bf16(w) + bf16(u)``
    rounds back to ``bf16(w)``; ``below_half_ulp`` the share with ``|u|`` below half a unit in
    the last place of ``bf16(w)`` (the rule that predicts it). ``example`` is the lost entry
    with the largest ``|u|`` relative to ``|w|``: its index, ``w``, ``bf16(w)``, ``u``, the
    float32 sum ``w + u`` and the bf16 sum (nan when nothing was lost).
    """

    lost: float
    below_half_ulp: float
    example: tuple[int, float, float, float, float, float]

    def __repr__(self) -> str:
        i, w, wb, u, w32, w16 = self.example
        return (
            f"RoundedUpdate({self.lost:.1%} of the updates lost in bf16; e.g. entry {i}: "
            f"w={w:.6g} (bf16: {wb:.6g}), u={u:.3g}, fp32 w+u={w32:.6g}, bf16 w+u={w16:.6g})"
        )


def half_ulp(w: torch.Tensor, name: str = "bfloat16") -> torch.Tensor:
    """Half the spacing of the format's numbers at ``w``: 2^(floor(log2|w|) - significand_bits)."""
    fmt_ = float_format(name)
    exponent = torch.floor(torch.log2(w.double().abs().clamp_min(fmt_.smallest_normal)))
    return torch.pow(2.0, exponent - fmt_.significand_bits)


def bf16_update(w: torch.Tensor, u: torch.Tensor) -> RoundedUpdate:
    """Apply the update ``u`` to the weights ``w`` in bfloat16 and count the entries it missed.

    Parameters
    ----------
    w, u : torch.Tensor
        Weights and their update (``-lr * g`` for SGD), of the same shape.

    Returns
    -------
    RoundedUpdate
    """
    if not isinstance(w, torch.Tensor) or not isinstance(u, torch.Tensor) or w.shape != u.shape:
        raise ValueError("w and u must be tensors of the same shape")
    w, u = w.detach().reshape(-1).float(), u.detach().reshape(-1).float()
    wb = w.to(torch.bfloat16)
    summed = wb + u.to(torch.bfloat16)
    moving = u != 0
    if not moving.any():
        raise ValueError("u must have a nonzero entry: there is no update to apply")
    lost = (summed == wb) & moving
    below = (u.double().abs() < half_ulp(wb)) & moving
    if lost.any():
        i = int(torch.argmax(torch.where(lost, u.abs() / w.abs().clamp_min(1e-30), -1.0)))
        example = (i, float(w[i]), float(wb[i]), float(u[i]), float(w[i] + u[i]), float(summed[i]))
    else:
        example = (-1, *(float("nan"),) * 5)
    n = float(moving.sum())
    return RoundedUpdate(float(lost.sum()) / n, float(below.sum()) / n, example)
