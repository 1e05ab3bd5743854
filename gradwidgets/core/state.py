"""What a measurement must leave as it found it: one snapshot, restored in a ``finally``.

:func:`gradwidgets.gradient_profile` and :func:`gradwidgets.diagnose` restore everything
always; :func:`gradwidgets.train` restores only when it fails (a raising loss, an interrupt):
a returned History means the model was trained, an exception means it was not touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


class Snapshot:
    """The user-owned state of a model and of torch, taken now, put back by :meth:`restore`.

    Always: train/eval modes, ``requires_grad`` flags, the buffers given (default: all of the
    model's; batch-norm statistics), the global random state (CPU and the model's CUDA
    devices: dropout draws from it) and torch's intra-op thread count. With ``values``, also
    every parameter's values and its ``.grad`` (kept by reference: the caller must replace a
    ``.grad`` with a new tensor, as ``zero_grad(set_to_none=True)`` does, before changing it).
    """

    def __init__(self, model: nn.Module, buffers: Iterable[torch.Tensor] | None = None, values: bool = False):
        self.modes = [(m, m.training) for m in model.modules()]
        params = list(model.parameters())
        self.flags = [(p, p.requires_grad) for p in params]
        bufs = model.buffers() if buffers is None else buffers
        self.buffers = [(b, b.detach().clone()) for b in bufs]
        self.values = [(p, p.detach().clone(), p.grad) for p in params] if values else []
        self.cuda = sorted({p.device.index or 0 for p in params if p.device.type == "cuda"})
        self.rng = torch.get_rng_state()
        self.cuda_rng = [torch.cuda.get_rng_state(d) for d in self.cuda]
        self.threads = torch.get_num_threads()

    def restore(self) -> None:
        """Put everything back as it was when the snapshot was taken."""
        for m, training in self.modes:
            m.training = training
        with torch.no_grad():
            for b, copy in self.buffers:
                b.copy_(copy)
            for p, value, grad in self.values:
                p.copy_(value)
                p.grad = grad
        for p, flag in self.flags:
            if p.requires_grad != flag:
                p.requires_grad_(flag)
        torch.set_rng_state(self.rng)
        for d, state in zip(self.cuda, self.cuda_rng, strict=True):
            torch.cuda.set_rng_state(state, d)
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)


@contextmanager
def kept(
    model: nn.Module,
    buffers: Iterable[torch.Tensor] | None = None,
    values: bool = False,
    on_error_only: bool = False,
) -> Iterator[Snapshot]:
    """Take a :class:`Snapshot` and restore it on the way out (only on an exception, with
    ``on_error_only``), whatever ends the block: an error, ``KeyboardInterrupt``, a return."""
    snapshot = Snapshot(model, buffers, values)
    done = False
    try:
        yield snapshot
        done = True
    finally:
        if not (on_error_only and done):
            snapshot.restore()
