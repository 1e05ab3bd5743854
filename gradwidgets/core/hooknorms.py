"""||dL/dh|| of a model's recorded activations h, each taken by a hook as the backward pass
reaches it (:func:`gradwidgets.gradient_profile`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .norms import norms, single_norm

__all__ = ["GradNorms"]


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
            values[k] = single_norm(grad)

        return t.register_hook(on_grad)
    i = t.output_nr

    def on_node(grads: tuple) -> None:
        if grads[i] is not None:
            values[k] = single_norm(grads[i])

    return t.grad_fn.register_prehook(on_node)
