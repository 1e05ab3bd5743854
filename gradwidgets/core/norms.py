"""Norms of gradients and weights, batched, and ||dL/dh|| taken by hooks as the backward pass runs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch


def tensor_norms(tensors: Sequence[torch.Tensor]) -> np.ndarray:
    """The norm of each tensor, in one batched call.

    A float32 norm under- or overflows beyond about 1e-19 and 1e19 even when every entry is
    finite: such results (0 or inf) are recomputed in float64.
    """
    if not tensors:
        return np.zeros(0)
    with torch.no_grad():
        values = torch.stack(torch._foreach_norm(tensors)).double().cpu().numpy()
        for i in np.flatnonzero((values == 0) | ~np.isfinite(values)):
            values[i] = float(torch.linalg.vector_norm(tensors[i].double()))
    return values


def norms(groups: Sequence[Sequence[torch.Tensor | None]]) -> np.ndarray:
    """The norm of each group of tensors taken together (None counts as zero), batched.

    Each tensor's norm is taken by :func:`tensor_norms`; a group without tensors has norm 0.
    """
    flat = [t for ts in groups for t in ts if t is not None]
    return group_norms(tensor_norms(flat), [sum(t is not None for t in ts) for ts in groups])


def group_norms(values: np.ndarray, sizes: Sequence[int], empty: float = 0.0) -> np.ndarray:
    """sqrt of the sum of squares of consecutive runs of ``values`` of the given sizes.

    A run of size 0 gets ``empty``.
    """
    if all(n == 1 for n in sizes):  # one value a group: nothing to add up
        return values
    group = np.repeat(np.arange(len(sizes)), sizes)
    out = np.sqrt(np.bincount(group, values**2, minlength=len(sizes)))
    if empty != 0:
        out[np.asarray(sizes) == 0] = empty
    return out


def _norm(t: torch.Tensor) -> float:
    """||t||, in float64 when float32 under- or overflows."""
    value = float(torch.linalg.vector_norm(t))
    if value == 0 or not math.isfinite(value):
        value = float(torch.linalg.vector_norm(t.double()))
    return value


class GradNorms:
    """||dL/dh|| of every recorded h of ``traces``, in layer order.

    The gradient of an h whose layer has weights to train passes by on its way to them: a hook
    takes its norm there and the gradient is not kept (keeping them all until the backward
    pass ends grows the heap, and the page faults to regrow it cost more than the norms). A
    frozen layer's h is asked for explicitly: ``asked``, then ``fill`` with its gradients.
    """

    def __init__(self, traces: list) -> None:
        self.values = np.zeros(sum(len(tr.hs) for tr in traces))
        self._asked: list[int] = []
        self.asked: list[torch.Tensor] = []
        self._hooks = []
        k = 0
        for tr in traces:
            trained = any(w.requires_grad for w in tr.weights)
            for h in tr.hs:
                if h.requires_grad and trained:
                    self._hooks.append(_on_grad(h, self.values, k))
                elif h.requires_grad:
                    self._asked.append(k)
                    self.asked.append(h)
                k += 1

    def fill(self, grads: Sequence[torch.Tensor | None]) -> np.ndarray:
        """The norms, with those of the asked-for h from their ``grads``."""
        if self._asked:
            self.values[self._asked] = norms([[g] for g in grads])
        return self.values

    def remove(self) -> None:
        """Take the hooks off (an h the model keeps must not call them later)."""
        for hook in self._hooks:
            hook.remove()
        self.asked = []


def _on_grad(t: torch.Tensor, values: np.ndarray, k: int) -> torch.utils.hooks.RemovableHandle:
    """Set ``values[k] = ||dL/dt||`` when the backward pass reaches ``t`` (a pre-hook on its
    node where it has one: cheaper than a tensor hook)."""
    if t.grad_fn is None:

        def on_grad(grad: torch.Tensor) -> None:
            values[k] = _norm(grad)

        return t.register_hook(on_grad)
    i = t.output_nr

    def on_node(grads: tuple) -> None:
        if grads[i] is not None:
            values[k] = _norm(grads[i])

    return t.grad_fn.register_prehook(on_node)
