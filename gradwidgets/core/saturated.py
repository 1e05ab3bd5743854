"""Saturated units, counted exactly: where an activation's slope is below 5% of its maximum.

For each activation the count is taken through its output h = f(z) where the derivative can be
written so (tanh, sigmoid, the ReLU family, ELU, SELU), at float32 cut points found once, so
that a count agrees entry by entry with evaluating f' and comparing; GELU, whose slope needs z,
is counted on the intervals of z where |f'| is small. ``x < t`` is counted through ``sign``
(NaN gives 0): torch's float-to-bool comparisons are several times slower on CPU.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch.nn.modules.conv import _ConvNd

from .activations import Activation
from .thresholds import SATURATION_THRESHOLD


@functools.cache
def _slopes(act: Activation) -> tuple[float, float]:
    """f'(z) just below zero and at z = 1, rounded to float32 as the statistics are."""
    d = act.derivative(torch.tensor([-1e-30, 1.0], dtype=torch.float64)).float()
    return float(d[0]), float(d[1])


@functools.cache
def _threshold(act: Activation) -> float:
    """The saturation threshold of ``act``, rounded to float32."""
    return float(np.float32(SATURATION_THRESHOLD * act.max_derivative))


@functools.cache
def saturated_z_intervals(act: Activation) -> tuple[tuple[float, float], ...]:
    """The open intervals of z where ``|f'(z)| < SATURATION_THRESHOLD * max f'``, in float64.

    Found on a grid over [-40, 40] and refined by bisection; the status at either end is taken
    to hold beyond it (an infinite bound). Used for the activations that need z (GELU).
    """
    t = SATURATION_THRESHOLD * act.max_derivative

    def flat(z: torch.Tensor | float) -> torch.Tensor:
        return act.derivative(torch.as_tensor(z, dtype=torch.float64)).abs() < t

    grid = torch.linspace(-40.0, 40.0, 80001, dtype=torch.float64)
    inside, edges = flat(grid), []
    for k in torch.nonzero(inside[1:] != inside[:-1]).flatten().tolist():
        lo, hi, lo_in = float(grid[k]), float(grid[k + 1]), bool(inside[k])
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if bool(flat(mid)) == lo_in else (lo, mid)
        edges.append(0.5 * (lo + hi))
    bounds = [-math.inf] * bool(inside[0]) + edges + [math.inf] * bool(inside[-1])
    return tuple(zip(bounds[::2], bounds[1::2], strict=True))


def _first_float32(pred, lo: float, hi: float) -> float | None:
    """The smallest float32 x in [lo, hi] where ``pred`` (vectorised, float32) holds.

    ``pred`` must go from False to True once over [lo, hi]; that is checked on the 4096 float32
    values around the answer, and None is returned if it fails.
    """

    def key(x: float) -> int:  # float32 order as integer order
        i = int(np.array(x, dtype=np.float32).view(np.int32))
        return i if i >= 0 else -(i & 0x7FFFFFFF)

    def value(k: np.ndarray) -> np.ndarray:
        k = np.asarray(k, dtype=np.int64)
        return np.where(k >= 0, k, -k | -0x80000000).astype(np.int32).view(np.float32)

    a, b = key(lo), key(hi)
    if pred(value([a]))[0] or not pred(value([b]))[0]:
        return None
    while b - a > 1:
        mid = (a + b) // 2
        a, b = (a, mid) if pred(value([mid]))[0] else (mid, b)
    window = np.arange(b - 2048, b + 2048)
    return float(value([b])[0]) if np.array_equal(pred(value(window)), window >= b) else None


@functools.cache
def _bounds(act: Activation) -> tuple[float, ...] | None:
    """Exact float32 cut points p of the saturated set of an activation's h, or None.

    tanh: saturated iff h*h > p0; sigmoid: iff not h > p0, or h > p1; elu and selu, h <= 0:
    iff -h > p0. Each is where the derivative formula, rounded in float32 as the statistics
    round it, crosses the threshold.
    """
    t, one, zero = np.float32(_threshold(act)), np.float32(1.0), np.float32(0.0)

    def below(x: float | None) -> float | None:  # the float32 just below x
        return None if x is None else float(np.nextafter(np.float32(x), np.float32(-np.inf)))

    if act.name == "tanh":  # f' = 1 - h*h
        cuts = [below(_first_float32(lambda x: one - x < t, 0.0, 1.0))]
    elif act.name == "sigmoid":  # f' = (1 - h) h
        cuts = [
            below(_first_float32(lambda x: (one - x) * x >= t, 0.0, 0.5)),
            below(_first_float32(lambda x: (one - x) * x < t, 0.5, 1.0)),
        ]
    elif act.name in ("elu", "selu"):  # f' = h + f'(0-) for h <= 0
        d0 = np.float32(_slopes(act)[0])
        if not zero + d0 >= t:  # every h <= 0 is saturated
            return (math.inf,)
        cuts = [_first_float32(lambda x: x + d0 >= t, -3e38, 0.0)]
        cuts = [None if cuts[0] is None else -cuts[0]]
    else:
        return None
    return None if None in cuts or min(cuts) < 0 else tuple(cuts)


def _count_above(x: torch.Tensor, p: float, tmp: torch.Tensor) -> torch.Tensor:
    """Per row of the 2-d ``x``: how many entries are > p >= 0 (NaN: none). Writes ``tmp``."""
    return torch.threshold(x, p, 0.0, out=tmp).sign_().sum(1, dtype=_count_dtype(x))


def _count_dtype(x: torch.Tensor) -> torch.dtype | None:
    return None if x.shape[1] < 2**24 else torch.float64  # float32 counts are exact to 2**24


def saturated_counts(
    act: Activation, h: torch.Tensor, z: torch.Tensor | None, tmp: torch.Tensor, squares: bool = False
) -> torch.Tensor:
    """Saturated entries per row of a finite ``h`` (of z for the activations that need it).

    ``squares``: ``tmp`` holds h*h already.
    """
    t, m, cuts = _threshold(act), h.shape[1], _bounds(act)
    if act.name in ("relu", "leaky_relu") or (act.name in ("elu", "selu") and cuts):
        d0, d1 = _slopes(act)  # d1 where h > 0; relu, leaky_relu: d0 elsewhere
        positive = _count_above(h, 0.0, tmp)
        if act.name in ("relu", "leaky_relu"):
            return positive * float(d1 < t) + (m - positive) * float(d0 < t)
        if cuts[0] == math.inf:  # elu, selu: h + d0 below 0
            return (m - positive) + positive * float(d1 < t)
        return _count_above(torch.neg(h, out=tmp), cuts[0], tmp) + positive * float(d1 < t)
    if act.name == "tanh" and cuts:
        return _count_above(tmp if squares else torch.mul(h, h, out=tmp), cuts[0], tmp)
    if act.name == "sigmoid" and cuts:
        return m - _count_above(h, cuts[0], tmp) + _count_above(h, cuts[1], tmp)
    if z is None:  # no exact cut points: the derivative written out
        return torch.tensor([float(saturated_exact(act, row, None)) for row in h])
    count = torch.zeros(z.shape[0], dtype=torch.float64)  # |f'(z)| < t on intervals of z (GELU)
    for lo, hi in saturated_z_intervals(act):
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        if lo == -math.inf:  # z < hi
            count += _count_above(torch.sub(z, hi, out=tmp).neg_(), 0.0, tmp)
        elif hi == math.inf:  # z > lo
            count += _count_above(torch.sub(z, lo, out=tmp), 0.0, tmp)
        else:  # |z - mid| < half
            count += _count_above(torch.sub(z, mid, out=tmp).abs_().neg_().add_(half), 0.0, tmp)
    return count


def saturated_exact(act: Activation, h: torch.Tensor, z: torch.Tensor | None) -> int:
    """Saturated entries of one call, the derivative written out: for a non-finite call."""
    d0, d1 = _slopes(act) if act.from_output else (0.0, 0.0)
    d = {
        "tanh": lambda: 1 - h * h,
        "sigmoid": lambda: (1 - h) * h,
        "relu": lambda: torch.where(h > 0, torch.tensor(d1), torch.tensor(d0)),
        "leaky_relu": lambda: torch.where(h > 0, torch.tensor(d1), torch.tensor(d0)),
        "elu": lambda: torch.where(h > 0, torch.tensor(d1), h + d0),
        "selu": lambda: torch.where(h > 0, torch.tensor(d1), h + d0),
    }.get(act.name, lambda: act.derivative(z.float()).abs())()  # GELU's slope dips below 0
    return int((d < _threshold(act)).sum())


def silent_input(module: torch.nn.Module, x: torch.Tensor | None) -> float:
    """The fraction of a layer's input units (channels for a convolution) that are exactly 0 on
    every example: those a functional ReLU (``F.relu``) has killed. NaN for data (an input
    that depends on no parameter) and integers: a data set may hold features that are all 0."""
    if x is None or not x.requires_grad or not x.is_floating_point() or x.dim() < 2:
        return math.nan
    axis = 1 if isinstance(module, _ConvNd) else x.dim() - 1
    with torch.no_grad():
        alive = x.ne(0).movedim(axis, 0).reshape(x.shape[axis], -1).any(dim=1)
    return 1.0 - float(alive.sum()) / max(len(alive), 1)
