"""Norms of the same tensors step after step (a watch's gradients), planned once so each step
costs as few calls as can be: small tensors of one shape stacked, one norm per row; the others
and, joined into one vector, those that only count toward the total (biases, norm scales), in
one batched call; one conversion to floats."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .norms import (
    LIMIT,
    TINY,
    batchable,
    batched_norms,
    checked,
    chunk_partials,
    stacked_norms,
    whole_batched,
)

__all__ = ["NormPlan"]

_vn = torch.linalg.vector_norm


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
    A step costs a few calls whatever the number of tensors, as each call costs microseconds
    even on a small tensor. Own tensors of one shape and dtype taken whole, of up to ``LIMIT``
    entries (most of a network's weights), are stacked and their norms taken per row (the same
    kernel, as accurate as one tensor's); the other own tensors and the norm of the others
    joined (one ``cat``, whatever their number: a norm per bias would cost a call each, and a
    watch needs only their total) take one batched call (:func:`.norms.stacked_norms`).
    Whether a tensor is taken whole or in chunks is decided once, from ``like``
    (:func:`.norms.whole_batched`), which is as accurate as :func:`.norms.tensor_norms`; so is
    the second, careful look at a norm below ``TINY`` or infinite. A step with a tensor missing
    (None) decides again, one tensor at a time.
    """

    def __init__(self, like: Sequence[torch.Tensor], own: Sequence[int]):
        self._own = [int(i) for i in own]
        self._rest = [i for i in range(len(like)) if i not in set(self._own)]
        self._flat = any(like[i].dim() != 1 for i in self._rest)
        seen: set[int] = set()  # a repeated position counts once in the total
        self._unique = np.array([not (i in seen or seen.add(i)) for i in self._own], dtype=bool)
        self._n = len(like)
        # the plan of a step without a missing tensor: stacked groups, then singles, then the rest
        groups: dict[tuple, list[int]] = {}
        for i in dict.fromkeys(self._own):
            t = like[i]
            stackable = whole_batched(t) and 0 < t.numel() <= LIMIT and t.dim() > 0
            groups.setdefault((t.shape, t.dtype, t.device) if stackable else i, []).append(i)
        self._stacks = [(g, tuple(range(1, like[g[0]].dim() + 1))) for g in groups.values() if len(g) > 1]
        self._singles = [g[0] for g in groups.values() if len(g) == 1]
        self._whole = [whole_batched(like[i]) for i in self._singles]
        self._every_whole = all(self._whole)
        order = [i for g, _ in self._stacks for i in g] + self._singles  # the values' order
        slot = {i: k for k, i in enumerate(order)}
        self._sources = order
        self._perm = np.array([slot[i] for i in self._own], dtype=np.int64)

    def __call__(self, tensors: Sequence[torch.Tensor | None]) -> tuple[np.ndarray, float]:
        """The norm of each ``own`` tensor, in ``own``'s order (None: 0), and the norm of all
        the tensors together; NaN and inf as in :func:`.norms.tensor_norms`."""
        if len(tensors) != self._n:
            raise ValueError(f"tensors: expected {self._n}, got {len(tensors)}")
        if any(tensors[i] is None for i in self._sources):  # (the rest's are left out of the join)
            return self._missing(tensors)
        rows = [_vn(torch.stack([tensors[i] for i in g]), dim=dims) for g, dims in self._stacks]
        singles = [tensors[i] for i in self._singles]
        if not self._every_whole:
            singles = [t if w else chunk_partials(t) for t, w in zip(singles, self._whole, strict=True)]
        joined = self._join(tensors)
        if joined is not None:
            singles.append(batchable(joined))
        if singles:
            rows.append(batched_norms(singles))
        values = (rows[0] if len(rows) == 1 else torch.cat(rows)).tolist() if rows else []
        if values and (min(values) < TINY or max(values) == math.inf):  # rare: look again, carefully
            sources = [tensors[i] for i in self._sources] + ([joined] if joined is not None else [])
            values = [checked(t, v) for t, v in zip(sources, values, strict=True)]
        return np.array(values)[self._perm] if values else np.zeros(0), _total(values)

    def _join(self, tensors: Sequence[torch.Tensor | None]) -> torch.Tensor | None:
        """The tensors that are not ``own`` and not None, as one vector (None if there is none)."""
        rest = [t for t in (tensors[i] for i in self._rest) if t is not None]
        if not rest:
            return None
        return torch.cat([t.reshape(-1) for t in rest] if self._flat else rest)

    def _missing(self, tensors: Sequence[torch.Tensor | None]) -> tuple[np.ndarray, float]:
        """:meth:`__call__` for a step in which some tensors got no value (None: norm 0)."""
        own = [tensors[i] for i in self._own]
        kept = [k for k, t in enumerate(own) if t is not None]
        joined = self._join(tensors)
        sources = [own[k] for k in kept] + ([joined] if joined is not None else [])
        values = stacked_norms([batchable(t) for t in sources]) if sources else []
        values = [checked(t, v) for t, v in zip(sources, values, strict=True)]
        norms = np.zeros(len(own))
        norms[kept] = values[: len(kept)]
        others = values[-1] if joined is not None else 0.0
        return norms, _total([*norms[self._unique], others])


def _total(values: Sequence[float]) -> float:
    """sqrt of the sum of squares: NaN if any is NaN (``math.hypot`` gives inf beside an inf)."""
    total = math.hypot(*values)
    return math.nan if total == math.inf and any(v != v for v in values) else total
