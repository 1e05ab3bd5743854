"""Activation statistics per layer: mean, std, saturated and dead fractions, batched in torch.

The outputs of layers with the same shape and activation are stacked and reduced together, a
few passes over the stack in all (saturated entries are counted by :mod:`.saturated`). The
stack and temporaries live in reused buffers: a fresh megabyte-sized allocation costs a page
fault per 4 kB on first touch.
"""

from __future__ import annotations

import contextlib
import math
import threading

import numpy as np
import torch

from .activations import Activation
from .saturated import saturated_counts, saturated_exact
from .tracing import LayerTrace

_POOL: list[torch.Tensor] = []
_POOL_LOCK = threading.Lock()
_POOL_LIMIT = 1 << 23  # float32 entries kept between calls, in all (32 MB)


@contextlib.contextmanager
def _buffers(count: int, numel: int):
    """``count`` float32 buffers of at least ``numel`` entries, returned to a pool afterwards."""
    with _POOL_LOCK:
        taken = [_POOL.pop() for _ in range(min(count, len(_POOL)))]
    bufs = [b if b.numel() >= numel else torch.empty(numel) for b in taken]
    bufs += [torch.empty(numel) for _ in range(count - len(bufs))]
    try:
        yield list(bufs)  # the caller may pop from its copy
    finally:
        with _POOL_LOCK:
            kept = sum(b.numel() for b in _POOL)
            for b in bufs:
                if kept + b.numel() <= _POOL_LIMIT:
                    _POOL.append(b)
                    kept += b.numel()


def activation_stats(traces: list[LayerTrace]) -> dict[str, np.ndarray]:
    """Mean, std, saturated fraction and dead fraction of each layer's post-activation output.

    Saturated: the fraction of (example, unit) entries whose local derivative f'(z) is below
    ``SATURATION_THRESHOLD`` times the activation's largest slope (NaN when the activation is
    unknown). Dead: the fraction of units whose output is exactly zero on the whole batch.
    A layer called several times (a recurrent cell, once per step) adds up over its calls.
    """
    n = len(traces)
    groups: dict[tuple, list[tuple[int, torch.Tensor, torch.Tensor]]] = {}
    for i, tr in enumerate(traces):
        for h, z in zip(tr.hs, tr.zs, strict=True):
            axis = tr.unit_dim % h.dim() if h.dim() else 0
            groups.setdefault((h.shape, axis, id(tr.activation)), []).append((i, h, z))
    layer, rows, silent = [], [], []  # per call: its layer, (entries, mean, M2, saturated), zero units
    with torch.no_grad():
        for (_, axis, _), calls in groups.items():
            layer += [i for i, _, _ in calls]
            stats, zero_units = _group_stats(traces[calls[0][0]].activation, calls, axis)
            rows.append(stats)
            silent.append(zero_units)
    layer = np.array(layer)
    count, mean, m2, saturated = np.concatenate(rows, axis=1)
    single = np.bincount(layer, minlength=n)[layer] == 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        entries = np.bincount(layer, count, n)
        layer_mean = np.bincount(layer, count * mean, n) / entries
        layer_mean[layer[single]] = mean[single]  # a layer called once: its mean as computed
        spread = np.where(single, 0.0, count * (mean - layer_mean[layer]) ** 2)  # Chan et al.
        unknown = np.array([tr.activation is None for tr in traces])
        return {
            "act_mean": layer_mean,
            "act_std": np.sqrt(np.bincount(layer, m2 + spread, n) / np.maximum(entries - 1, 1)),
            "saturation": np.where(unknown, np.nan, np.bincount(layer, saturated, n) / entries),
            "dead_fraction": _dead_fraction(traces, layer, silent),
        }


def _dead_fraction(traces: list[LayerTrace], layer: np.ndarray, silent: list[np.ndarray]) -> np.ndarray:
    """The fraction of each layer's units that were exactly zero in every one of its calls.

    ``silent`` holds, per group of calls, a (calls, units) array of units zero in that call.
    """
    if not any(s.any() for s in silent):
        return np.zeros(len(traces))
    dead: list[np.ndarray | None] = [None] * len(traces)
    for i, mask in zip(layer.tolist(), (m for s in silent for m in s), strict=True):
        k = len(mask) if dead[i] is None else min(len(mask), len(dead[i]))  # units in both
        dead[i] = mask if dead[i] is None else dead[i][:k] & mask[:k]
    units = [tr.hs[0].shape[tr.unit_dim] if tr.hs[0].dim() else 1 for tr in traces]
    return np.array([np.count_nonzero(d) for d in dead]) / np.array(units, dtype=np.float64)


def _stacked(tensors: list[torch.Tensor], bufs: list[torch.Tensor]) -> torch.Tensor:
    """The tensors stacked in float32, into a buffer from ``bufs`` when one is needed."""
    if len(tensors) == 1:
        return tensors[0].detach().unsqueeze(0).float()
    if any(t.dtype != torch.float32 for t in tensors):
        return torch.stack([t.detach() for t in tensors]).float()
    shape = (len(tensors), *tensors[0].shape)
    return torch.stack([t.detach() for t in tensors], out=bufs.pop()[: math.prod(shape)].view(shape))


def _moments(
    flat: torch.Tensor, total: np.ndarray, work: torch.Tensor, centred: bool
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Mean and sum of squared deviations per row of ``flat``, and whether ``work`` holds h*h.

    From the sums of h and h*h when the mean is small next to the spread (little cancellation;
    the h*h are reused for saturation), else from deviations to the float32 mean.
    """
    m = flat.shape[1]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean = total / m
        if not centred:
            m2 = torch.mul(flat, flat, out=work).sum(1).numpy().astype(np.float64) - total * mean
            if np.all(total * mean <= m2):  # mean^2 <= variance
                return mean, m2, True
        shift = np.where(np.isfinite(mean), mean, 0.0).astype(np.float32)
        dev = torch.sub(flat, torch.from_numpy(shift).unsqueeze(1), out=work)
        m2 = dev.mul_(dev).sum(1).numpy().astype(np.float64)  # sum(), not a float32 norm: accurate
        return mean, m2 - (total - m * shift.astype(np.float64)) ** 2 / m, False


def _group_stats(
    act: Activation | None, calls: list[tuple[int, torch.Tensor, torch.Tensor]], axis: int
) -> tuple[np.ndarray, np.ndarray]:
    """Same-shaped calls of layers with the same activation, computed together.

    Returns a (4, calls) array of (entries, mean, sum of squared deviations, saturated) and
    a (calls, units) array marking the units that were exactly zero.
    """
    need_z = act is not None and not act.from_output and act.name != "linear"  # linear: z is h
    numel = len(calls) * calls[0][1].numel()
    with _buffers(1 + (len(calls) > 1) * (1 + need_z), numel) as bufs:
        tmp = bufs.pop()
        stack = _stacked([h for _, h, _ in calls], bufs)
        flat = stack.reshape(len(calls), -1)
        work = tmp[: flat.numel()].view(flat.shape)
        others = [d for d in range(1, stack.dim()) if d != axis + 1]
        col = (stack.sum(others) if others else flat).numpy()  # per unit
        total = col.sum(1, dtype=np.float64)
        zero = col == 0  # a candidate; exactly zero when |h| sums to 0
        if zero.any():
            absolute = torch.abs(stack, out=tmp[: stack.numel()].view(stack.shape))
            zero = (absolute.sum(others) if others else absolute).numpy() == 0  # sum([]): every axis
        mean, m2, squares = _moments(flat, total, work, centred=act is not None and act.name == "sigmoid")
        for g in np.flatnonzero(~np.isfinite(m2) & np.isfinite(mean)):  # float32 overflow: float64
            m2[g] = float((flat[g].double() - mean[g]).pow(2).sum())
        saturated = np.zeros(len(calls))
        if act is not None and act.name != "linear":
            z = _stacked([z for _, _, z in calls], bufs).reshape(len(calls), -1) if need_z else None
            saturated = saturated_counts(act, flat, z, work, squares).numpy().astype(np.float64)
            for g in np.flatnonzero(~np.isfinite(total)):  # NaN or inf: the derivative written out
                _, h, z = calls[g]
                saturated[g] = saturated_exact(act, h.detach().float(), z.detach() if need_z else None)
    return np.stack([np.full(len(calls), float(flat.shape[1])), mean, m2, saturated]), zero
