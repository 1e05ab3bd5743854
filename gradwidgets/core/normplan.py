"""Norms of the same tensors step after step (a watch's gradients), planned once so each step
costs as few calls as can be: the tensors that need their own norm and, joined into one vector,
those that only count toward the total (biases, norm scales), all in one batched call."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .norms import TINY, careful_norm, chunk_partials, stacked_norms, whole_batched

__all__ = ["NormPlan"]


class NormPlan:
    """Own norms of some tensors, and the norm of all of them together.

    Parameters
    ----------
    like : sequence of torch.Tensor
        Tensors of the shapes and dtypes to come (a model's parameters, for their gradients).
    own : sequence of int
        The positions of the tensors whose own norm is needed, in the order wanted (a watch's
        rows' weights, one after another; a position may repeat).

    Notes
    -----
    One batched call (:func:`.norms.stacked_norms`) takes the own norms and the norm of the others joined (one
    ``cat``, whatever their number): a norm per bias would cost a call each, and a watch needs
    only their total. Whether a tensor is taken whole or in chunks is decided once, from
    ``like`` (:func:`.norms.whole_batched`), which is as accurate as
    :func:`.norms.tensor_norms`; so is the second, careful look at a norm below ``TINY`` or
    infinite. A step with a tensor missing (None) decides again.
    """

    def __init__(self, like: Sequence[torch.Tensor], own: Sequence[int]):
        self._own = [int(i) for i in own]
        self._rest = [i for i in range(len(like)) if i not in set(self._own)]
        self._whole = [whole_batched(like[i]) for i in self._own]
        self._every_whole = all(self._whole)
        self._flat = any(like[i].dim() != 1 for i in self._rest)
        seen: set[int] = set()  # a repeated position counts once in the total
        self._unique = np.array([not (i in seen or seen.add(i)) for i in self._own], dtype=bool)
        self._repeats = not self._unique.all()
        self._n = len(like)

    def __call__(self, tensors: Sequence[torch.Tensor | None]) -> tuple[np.ndarray, float]:
        """The norm of each ``own`` tensor, in ``own``'s order (None: 0), and the norm of all
        the tensors together; NaN and inf as in :func:`.norms.tensor_norms`."""
        if len(tensors) != self._n:
            raise ValueError(f"tensors: expected {self._n}, got {len(tensors)}")
        own = [tensors[i] for i in self._own]
        rest = [t for t in (tensors[i] for i in self._rest) if t is not None]
        missing = any(t is None for t in own)
        if missing:
            kept = [k for k, t in enumerate(own) if t is not None]
            whole = [whole_batched(own[k]) for k in kept]
            batch = [own[k] if w else chunk_partials(own[k]) for k, w in zip(kept, whole, strict=True)]
        else:
            kept = range(len(own))
            batch = (
                own
                if self._every_whole
                else [t if w else chunk_partials(t) for t, w in zip(own, self._whole, strict=True)]
            )
        joined = None
        if rest:
            joined = torch.cat([t.reshape(-1) for t in rest] if self._flat else rest)
            batch = [*batch, joined if whole_batched(joined) else chunk_partials(joined)]
        values = stacked_norms(batch) if batch else []
        if values and (min(values) < TINY or max(values) == math.inf):  # rare: look again, carefully
            sources = [own[k] for k in kept] + ([joined] if joined is not None else [])
            values = [
                careful_norm(t) if v < TINY or v == math.inf else v
                for t, v in zip(sources, values, strict=True)
            ]
        if not (missing or self._repeats):  # values: each tensor once
            return np.array(values[: len(own)]), _total(values)
        norms = np.zeros(len(own))
        norms[list(kept)] = values[: len(kept)]
        others = values[-1] if joined is not None else 0.0
        return norms, _total([*norms[self._unique], others])


def _total(values: Sequence[float]) -> float:
    """sqrt of the sum of squares: NaN if any is NaN (``math.hypot`` gives inf beside an inf)."""
    total = math.hypot(*values)
    return math.nan if total == math.inf and any(v != v for v in values) else total
