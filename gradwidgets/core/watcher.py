"""Watch your own training loop: per-layer gradient norms after every backward pass, via hooks."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .checks import check_int, check_model, check_trainable, renamed
from .history import History, StepRecord, build_history
from .layers import reported_layers
from .norms import group_norms, tensor_norms
from .outputs import split_output

_ENGINE = torch.autograd.Variable._execution_engine  # runs a callback when a backward pass ends


def watched_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers a watch reports, as (name, module): :func:`.layers.reported_layers`."""
    return [(lr.name, lr.module) for lr in reported_layers(model)]


class Watch:
    """Hooks on a model's parameters that record gradient norms in your own training loop.

    Every ``loss.backward()`` is one step. A hook on each trainable parameter collects its
    gradient as it is accumulated; when the backward pass ends (before any clipping or
    optimiser step), every ``every``-th step, the norms are taken in one batched call: per
    layer (weights only, as in :func:`gradwidgets.train`) and in total (every parameter; one
    that got no gradient in this pass counts as 0). Use it as a context manager or call
    :meth:`close`; create it with :func:`watch`.
    """

    def __init__(
        self,
        model: nn.Module,
        every: int = 1,
        read_loss: Callable[[], object] | None = None,
        *,
        loss: Callable[[], object] | None = None,
    ):
        check_trainable("model", check_model("model", model))
        self.every = check_int("every", every, 1)
        read_loss = renamed("loss", loss, "read_loss", read_loss)
        if read_loss is not None and not callable(read_loss):
            raise ValueError(
                f"read_loss must be a callable returning the current loss, got {type(read_loss).__name__}"
            )
        params = [p for p in model.parameters() if p.requires_grad]
        layers = reported_layers(model)
        position = {id(p): i for i, p in enumerate(params)}
        groups = [[position[id(w)] for w in lr.weights if id(w) in position] for lr in layers]
        self.layer_names = tuple(lr.name for lr in layers)
        self._order = np.array([i for g in groups for i in g], dtype=np.int64)
        self._sizes = [len(g) for g in groups]
        self._loss, self._n = read_loss, len(params)
        self._losses: list[float] = []
        self._records: list[StepRecord] = []
        self._step = 0
        self._new_step()
        self._handles: list = []
        try:
            for i, p in enumerate(params):
                self._handles.append(p.register_post_accumulate_grad_hook(self._hook(i)))
        except BaseException:  # a parameter that takes no hook: leave none of ours behind
            for handle in self._handles:
                handle.remove()
            raise

    def _new_step(self) -> None:
        self._grads: list[torch.Tensor | None] = [None] * self._n
        self._open = False  # a backward pass has started this step
        self._record_now = self._step % self.every == 0

    def _hook(self, i: int) -> Callable[[torch.Tensor], None]:
        def hook(param: torch.Tensor) -> None:
            if not self._open:  # the first gradient of a backward pass: close the step at its end
                self._open = True
                _ENGINE.queue_callback(self._finish)
            if self._record_now:
                self._grads[i] = param.grad

        return hook

    def _finish(self) -> None:
        """Close the current step: one batched norm of the gradients collected, if recording."""
        if not self._open:
            return
        try:
            if self._loss is not None:
                self._losses.append(math.nan)  # until read: a reader that raises leaves NaN
                self._losses[-1] = _as_float(self._loss(), "read_loss")
        finally:
            self._close_step()

    def _close_step(self) -> None:
        """Record the step's norms (if recording) and start the next step."""
        try:
            if self._record_now:
                have = [i for i, g in enumerate(self._grads) if g is not None]  # the others count as 0
                norms = np.zeros(self._n)
                norms[have] = tensor_norms([self._grads[i] for i in have])
                layer = group_norms(norms[self._order], self._sizes, empty=np.nan)  # no trainable weight: nan
                total = math.sqrt(np.sum(norms**2))
                loss = self._losses[self._step] if len(self._losses) > self._step else math.nan
                nan = np.full(len(self.layer_names), np.nan)
                record = StepRecord(self._step, loss, layer, total, total, nan)
                self._records.append(record)
                self._on_record(record)
        finally:  # a live view that fails to draw does not keep the step open
            self._step += 1
            self._new_step()

    def _on_record(self, record: StepRecord) -> None:
        """Called with each new record; a live view attaches here. Does nothing by default."""

    def log_loss(self, value: object) -> None:
        """Append this step's loss (a number, a scalar tensor or a model output with a scalar ``loss``)
        to the loss curve; once per step."""
        if self._loss is not None:
            raise ValueError("log_loss: this watch already reads the loss through its read_loss= callable")
        value = _as_float(value, "value")
        self._finish()
        self._losses.append(value)

    @property
    def steps(self) -> int:
        """The number of backward passes seen so far."""
        return self._step + self._open

    @property
    def closed(self) -> bool:
        """True once the hooks are removed."""
        return not self._handles

    def history(self) -> History:
        """Everything recorded so far, as the :class:`gradwidgets.History` that ``train`` returns.

        ``update_ratio`` is NaN (the optimiser step is not watched) and ``total_norm_after``
        equals ``total_norm_before`` (clipping is not seen). ``diverged_at`` is the first step
        whose recorded gradient or logged loss is non-finite.
        """
        self._finish()
        return self._recorded()

    def _recorded(self) -> History:
        """The history of the records so far, without closing an open step."""
        bad = [r.step for r in self._records if not math.isfinite(r.total_norm_before)]
        bad += [i for i, v in enumerate(self._losses) if not math.isfinite(v)]
        diverged_at = min(bad) if bad else None
        return build_history(self.layer_names, self._losses, self._records, diverged_at)

    def close(self) -> None:
        """Remove every hook this watch added (the records are kept); safe to call twice.

        The hooks are removed even when reading the last loss raises (the error propagates).
        """
        try:
            self._finish()
        finally:
            for handle in self._handles:
                handle.remove()
            self._handles.clear()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "watching"
        return (
            f"Watch({len(self.layer_names)} layers, every={self.every}, {self.steps} steps, "
            f"{len(self._records)} recorded, {state})"
        )


def _as_float(value: object, arg: str) -> float:
    """A loss as a float: a real number, a one-element tensor, or a model output holding a scalar
    ``loss`` (:func:`.losses.split_output`); else a ValueError naming ``arg``."""
    given = type(value).__name__
    if not isinstance(value, (numbers.Real, torch.Tensor)) or isinstance(value, bool):
        try:
            value = split_output(value)[1]
        except ValueError:
            value = None
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise ValueError(
        f"{arg}: a loss must be a number, a one-element tensor or a model output with a scalar "
        f"'loss' entry; got {given}"
    )
