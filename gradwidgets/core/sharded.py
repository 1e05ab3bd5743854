"""Norms of tensors that may be sharded across processes (FSDP2's DTensor gradients): each
process holds a shard, and the norm of the whole needs the squared norms of every shard."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np
import torch

from .norms import tensor_norms

__all__ = ["ShardedNormPlan", "global_norms", "is_sharded"]


def _dtensor_type() -> type | None:
    module = sys.modules.get("torch.distributed.tensor")  # not imported: no DTensor exists
    return getattr(module, "DTensor", None)


def is_sharded(tensors: Sequence[torch.Tensor]) -> bool:
    """Whether any of ``tensors`` is a DTensor (a tensor spread over a device mesh)."""
    dtensor = _dtensor_type()
    return dtensor is not None and any(isinstance(t, dtensor) for t in tensors)


def global_norms(tensors: Sequence[torch.Tensor]) -> np.ndarray:
    """The norm of each tensor; of a DTensor, the norm of the whole tensor, on every process.

    Parameters
    ----------
    tensors : sequence of torch.Tensor
        Plain tensors and DTensors. Every process of a DTensor's mesh must call this with the
        same DTensors in the same order: it runs collectives.

    Returns
    -------
    numpy.ndarray
        One float64 norm per tensor. A DTensor sharded along mesh dimensions (``Shard``
        placements) gets its local shard's squared norm summed over the processes of those
        dimensions (one all-reduce per mesh and set of dimensions, not per tensor); replicated
        dimensions add nothing; one with a ``Partial`` placement (values still to be summed)
        is gathered whole.
    """
    dtensor = _dtensor_type()
    if dtensor is None or not any(isinstance(t, dtensor) for t in tensors):
        return tensor_norms(tensors)
    out = np.zeros(len(tensors))
    plain = [i for i, t in enumerate(tensors) if not isinstance(t, dtensor)]
    out[plain] = tensor_norms([tensors[i] for i in plain])
    runs: dict[tuple, list[int]] = {}  # (mesh, dims to sum over) -> the tensors reduced so
    partial = []
    for i, t in enumerate(tensors):
        if not isinstance(t, dtensor):
            continue
        if any(p.is_partial() for p in t.placements):
            partial.append(i)
            continue
        dims = tuple(d for d, p in enumerate(t.placements) if p.is_shard())
        runs.setdefault((t.device_mesh, dims), []).append(i)
    for (mesh, dims), members in runs.items():
        local = tensor_norms([tensors[i].to_local() for i in members])
        squares = torch.from_numpy(local**2)
        for d in dims:
            torch.distributed.all_reduce(squares, group=mesh.get_group(d))
        out[members] = np.sqrt(squares.numpy())
    if partial:
        out[partial] = tensor_norms([tensors[i].full_tensor() for i in partial])
    return out


class ShardedNormPlan:
    """:class:`.normplan.NormPlan` for tensors among which some are DTensors: the norms of the
    ``own`` tensors (positions in ``like``, in that order) and of all of them, each DTensor's
    reduced across processes by :func:`global_norms` (every process must call it alike)."""

    def __init__(self, like: Sequence[torch.Tensor], own: Sequence[int]):
        self._own = np.asarray(own, dtype=np.int64)

    def __call__(self, tensors: Sequence[torch.Tensor | None]) -> tuple[np.ndarray, float]:
        """As :meth:`.normplan.NormPlan.__call__`."""
        have = [i for i, t in enumerate(tensors) if t is not None]
        norms = np.zeros(len(tensors))
        norms[have] = global_norms([tensors[i] for i in have])
        return norms[self._own], math.sqrt(float(np.sum(norms**2)))
