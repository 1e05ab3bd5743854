"""Activation statistics per layer: mean, std, saturated and dead fractions, computed in cache."""

from __future__ import annotations

import functools

import numpy as np
import torch

from .activations import Activation
from .tracing import LayerTrace

SATURATION_THRESHOLD = 0.05
"""A unit counts as saturated when its local derivative is below this fraction of the maximum."""


@functools.cache
def _derivative_from_output(name: str, d0: float, d1: float):
    """f'(z) written through h = f(z) (numpy, into ``out``), or None when z is needed."""

    def tanh(h, out):
        np.multiply(h, h, out=out)
        return np.subtract(1.0, out, out=out)

    def sigmoid(h, out):
        np.subtract(1.0, h, out=out)
        return np.multiply(out, h, out=out)

    def step(h, out):  # relu and leaky_relu: slope d1 above zero, d0 below
        out.fill(d0)
        np.copyto(out, d1, where=h > 0)
        return out

    def exp_below(h, out):  # elu and selu: f'(z) = h + f'(0-) below zero, constant above
        np.add(h, d0, out=out)
        np.copyto(out, d1, where=h > 0)
        return out

    return {
        "tanh": tanh,
        "sigmoid": sigmoid,
        "relu": step,
        "leaky_relu": step,
        "elu": exp_below,
        "selu": exp_below,
    }.get(name)


@functools.cache
def _slopes(act: Activation) -> tuple[float, float]:
    """f'(z) just below zero and at z = 1."""
    d = act.derivative(torch.tensor([-1e-30, 1.0], dtype=torch.float64))
    return float(d[0]), float(d[1])


@functools.cache
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    return np.ones(n, dtype=dtype)


class _Accumulator:
    """Sums that add up over the calls of one layer (a recurrent cell runs once per step)."""

    def __init__(self) -> None:
        self.n = self.total = self.sumsq = self.saturated = 0.0
        self.dead: set[int] | None = None

    def add(self, h: np.ndarray, unit_dim: int) -> None:
        units = h if unit_dim == -1 else np.moveaxis(h, unit_dim, -1)
        units = units.reshape(-1, units.shape[-1])
        col = _ones(units.shape[0], units.dtype) @ units  # per-unit sums, one BLAS call
        flat = units.reshape(-1)
        self.n += flat.size
        self.total += float(col.sum())
        sumsq = float(np.dot(flat, flat))
        if not np.isfinite(sumsq):  # float32 overflow: redo in float64
            sumsq = float(np.dot(flat.astype(np.float64), flat.astype(np.float64)))
        self.sumsq += sumsq
        candidates = np.flatnonzero(col == 0)  # a zero sum is only a candidate: check it exactly
        dead = {int(j) for j in candidates if not units[:, j].any()} if candidates.size else set()
        self.dead = dead if self.dead is None else self.dead & dead

    def stats(self, num_units: int) -> tuple[float, float, float, float]:
        mean = self.total / self.n
        var = max(self.sumsq / self.n - mean * mean, 0.0) * self.n / max(self.n - 1, 1)
        return mean, float(np.sqrt(var)), self.saturated / self.n, len(self.dead or ()) / num_units


def activation_stats(traces: list[LayerTrace]) -> dict[str, np.ndarray]:
    """Mean, std, saturated fraction and dead fraction of each layer's post-activation output.

    Saturated: the fraction of (example, unit) entries whose local derivative f'(z) is below
    ``SATURATION_THRESHOLD`` times the activation's largest slope (NaN when the activation is
    unknown). Dead: the fraction of units whose output is exactly zero on the whole batch.
    """
    out = {k: np.full(len(traces), np.nan) for k in ("act_mean", "act_std", "saturation", "dead_fraction")}
    scratch: dict[tuple, np.ndarray] = {}
    with torch.no_grad(), np.errstate(over="ignore", invalid="ignore"):
        for i, tr in enumerate(traces):
            acc, act = _Accumulator(), tr.activation
            from_h = _derivative_from_output(act.name, *_slopes(act)) if act is not None else None
            for h_t, z_t in zip(tr.hs, tr.zs, strict=True):
                h = h_t.detach().float().contiguous().numpy()
                acc.add(h, tr.unit_dim)
                if act is None or act.name == "linear":
                    continue
                if from_h is not None:
                    d = from_h(h, scratch.setdefault((h.shape, h.dtype), np.empty_like(h)))
                else:
                    d = np.abs(act.derivative(z_t.detach().float()).numpy())  # GELU's slope dips below 0
                acc.saturated += np.count_nonzero(d < SATURATION_THRESHOLD * act.max_derivative)
            mean, std, sat, dead = acc.stats(tr.hs[0].shape[tr.unit_dim])
            out["act_mean"][i], out["act_std"][i], out["dead_fraction"][i] = mean, std, dead
            out["saturation"][i] = sat if act is not None else np.nan
    return out
