"""Watch your own training loop: per-layer gradient norms after every backward pass, via hooks."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .checks import check_int, check_model, check_trainable, renamed
from .history import History, StepRecord
from .layers import reported_layers
from .norms import group_norms, tensor_norms
from .passend import PassEnd
from .watchrecords import Records, as_loss, summary_line, summary_table


def unwrap_compiled(model: nn.Module) -> nn.Module:
    """The module ``torch.compile`` wrapped (its ``_orig_mod``), else ``model`` itself."""
    eval_frame = sys.modules.get("torch._dynamo.eval_frame")  # not imported: nothing was compiled
    optimized = getattr(eval_frame, "OptimizedModule", None)
    while optimized is not None and isinstance(model, optimized):
        model = model._orig_mod
    return model


def watched_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers a watch reports, as (name, module): :func:`.layers.reported_layers` (of the
    original module, for a ``torch.compile`` d one)."""
    return [(lr.name, lr.module) for lr in reported_layers(unwrap_compiled(model))]


def check_scaler(scaler: object) -> object:
    """Return ``scaler`` if it has a ``get_scale()`` giving a finite number > 0; None for None or
    a disabled one (``GradScaler(enabled=False)``: it skips no step); else raise."""
    allowed = "a torch.amp.GradScaler, or any object whose get_scale() returns the loss scale"
    if scaler is not None and not callable(getattr(scaler, "get_scale", None)):
        raise ValueError(f"scaler={scaler!r} is not allowed; it must be {allowed}")
    if scaler is None or not getattr(scaler, "is_enabled", lambda: True)():
        return None
    scale = scaler.get_scale()
    try:
        value = math.nan if isinstance(scale, bool) else float(scale)  # a float, or a 1-element tensor
    except (TypeError, ValueError, RuntimeError):
        value = math.nan
    if not 0 < value < math.inf:
        raise ValueError(f"scaler: its get_scale() returned {scale!r}; it must be {allowed} (> 0)")
    return scaler


class Watch:
    """Hooks on a model's parameters that record gradient norms in your own training loop.

    Every ``loss.backward()`` is one step. A hook on each trainable parameter collects its
    gradient as it is accumulated; when the backward pass ends (before any clipping,
    unscaling or optimiser step), every ``every``-th step, the norms are taken in one batched
    call: per layer (weights only, as in :func:`gradwidgets.train`) and in total (every
    parameter; one that got no gradient in this pass counts as 0). With ``scaler`` the norms
    are divided by the loss scale of that pass. A backward pass that raises before its end
    is not a step: the next one drops what it had collected. A backward pass run inside
    another's (reentrant activation checkpointing) ends with the outer one. Use it as a
    context manager or call :meth:`close`; create it with :func:`watch`, which says what each
    argument takes.
    """

    def __init__(
        self,
        model: nn.Module,
        every: int = 1,
        read_loss: Callable[[], object] | None = None,
        *,
        scaler: object = None,
        window: int | None = None,
        loss: Callable[[], object] | None = None,
    ):
        model = unwrap_compiled(check_trainable("model", check_model("model", model)))
        self.every = check_int("every", every, 1)
        read_loss = renamed("loss", loss, "read_loss", read_loss)
        if read_loss is not None and not callable(read_loss):
            raise ValueError(
                f"read_loss must be a callable returning the current loss, got {type(read_loss).__name__}"
            )
        self.window = None if window is None else check_int("window", window, 1)
        self.scaler = check_scaler(scaler)
        params = [p for p in model.parameters() if p.requires_grad]
        layers = reported_layers(model)
        position = {id(p): i for i, p in enumerate(params)}
        groups = [[position[id(w)] for w in lr.weights if id(w) in position] for lr in layers]
        self.layer_names = tuple(lr.name for lr in layers)
        self.frozen = tuple(not g for g in groups)  # no trainable weight: its norm is nan
        self._order = np.array([i for g in groups for i in g], dtype=np.int64)
        self._sizes = [len(g) for g in groups]
        self._loss, self._n = read_loss, len(params)
        self._kept = Records(self.window, self.scaler is not None)
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
        self._end: PassEnd | None = None  # closes the step at the end of that pass
        self._record_now = self._step % self.every == 0

    def _hook(self, i: int) -> Callable[[torch.Tensor], None]:
        def hook(param: torch.Tensor) -> None:
            if self._open and self._end is not None and self._end.raised:  # that pass raised:
                self._new_step()  # its gradients are partial, drop them
            if not self._open:  # the first gradient of a backward pass: close the step at its end
                self._open = True
                self._end = PassEnd(self._finish)
            if self._record_now:
                self._grads[i] = param.grad

        return hook

    def _finish(self) -> None:
        """Close the current step: one batched norm of the gradients collected, if recording."""
        if not self._open:
            return
        if self._end is not None and self._end.raised:  # its pass raised: not a step
            self._new_step()
            return
        try:
            if self._loss is not None:
                self._kept.losses.append(math.nan)  # until read: a reader that raises leaves NaN
                self._kept.losses[-1] = as_loss(self._loss(), "read_loss")
        finally:
            self._close_step()

    def _close_step(self) -> None:
        """Record the step's norms (if recording) and start the next step."""
        try:
            if self._record_now:
                have = [i for i, g in enumerate(self._grads) if g is not None]  # the others count as 0
                norms = np.zeros(self._n)
                norms[have] = tensor_norms([self._grads[i] for i in have])
                if self.scaler is not None:  # read at the end of the pass: the scale it ran with
                    norms /= float(self.scaler.get_scale())
                layer = group_norms(norms[self._order], self._sizes, empty=np.nan)  # no trainable weight: nan
                total = math.sqrt(np.sum(norms**2))
                nan = np.full(len(self.layer_names), np.nan)
                record = StepRecord(self._step, self._kept.loss_of(self._step), layer, total, total, nan)
                self._kept.add(record)
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
        value = as_loss(value, "value")
        self._finish()
        self._kept.losses.append(value)

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
        equals ``total_norm_before`` (clipping is not seen). With a ``window``, it holds the
        last ``window`` records and the losses from the first of them on (``loss_start``).
        ``diverged_at`` is the first step (also before the window) whose recorded gradient or
        logged loss is non-finite; with a ``scaler``, a recorded step whose gradients are
        non-finite (or an unrecorded one whose loss is) was skipped by the scaler instead
        (``skipped``: those in the window), and is not divergence.
        """
        self._finish()
        return self._recorded()

    def _recorded(self) -> History:
        """The history of the records so far, without closing an open step."""
        return self._kept.history(self.layer_names)

    def summary(self) -> str:
        """The per-layer table of what was recorded, with flags, as plain text.

        Per layer: the median and the last gradient norm over the recorded steps the scaler
        did not skip, the median's ratio to the largest layer's, and the flags
        (:func:`.watchrecords.summary_table`); above it a line that counts steps, skipped steps
        and flags; below it the rules behind the flags.
        """
        title = f"Watch of {self._title()}"
        return summary_table(self.history(), self.frozen, title, self._kept.gone_skipped)

    def _title(self) -> str:
        window = f", window={self.window}" if self.window is not None else ""
        return f"{len(self.layer_names)} layers, every={self.every}{window}, {self.steps} steps"

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
        line = summary_line(self._recorded(), self.frozen, self._kept.gone_skipped, recorded=False)
        return f"Watch({self._title()}, {len(self._kept.records)} recorded, {state}; {line})"
