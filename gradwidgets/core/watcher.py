"""Watch your own training loop: per-layer gradient norms after every backward pass, via hooks."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from .checks import check_bool, check_int, check_model, check_trainable, renamed
from .history import History, StepRecord
from .normplan import NormPlan
from .norms import group_norms
from .passend import PassEnd
from .sharded import ShardedNormPlan, is_sharded
from .trainsetup import check_scaler, unwrap
from .watchextras import Activations, Updates
from .watchrecords import Records, as_loss, summary_line, summary_table
from .watchrows import check_blocks, watch_rows, watched_layers

__all__ = ["Watch", "watched_layers"]


class Watch:
    """Hooks on a model's parameters that record gradient norms in your own training loop.

    Every ``loss.backward()`` is one step. A hook on each trainable parameter notes its gradient
    as it is accumulated; when the backward pass ends (after DistributedDataParallel
    has averaged the gradients, before any clipping, unscaling or optimiser step), every
    ``every``-th step, the norms are taken in one batched call: per row (a layer, or a block of
    layers: weights only, as in :func:`gradwidgets.train`) and in total (every parameter; one
    that got no gradient in this pass counts as 0). Sharded gradients (FSDP2's DTensors) are
    reduced across processes. With ``scaler`` the norms are divided by the loss scale of that
    pass. A backward pass that raises before its end is not a step: the next one drops what it
    had collected. A backward pass run inside another's (reentrant activation checkpointing)
    ends with the outer one. Use it as a context manager or call :meth:`close`; create it with
    :func:`watch`, which says what each argument takes.
    """

    def __init__(
        self,
        model: nn.Module,
        every: int = 1,
        read_loss: Callable[[], object] | None = None,
        *,
        scaler: object = None,
        window: int | None = None,
        blocks: str | int = "auto",
        updates: bool = False,
        activations: bool = False,
        loss: Callable[[], object] | None = None,
    ):
        model = check_trainable("model", unwrap(check_model("model", model)))  # wrappers own none
        self.every = check_int("every", every, 1)
        read_loss = renamed("loss", loss, "read_loss", read_loss)
        if read_loss is not None and not callable(read_loss):
            raise ValueError(
                f"read_loss must be a callable returning the current loss, got {type(read_loss).__name__}"
            )
        self.window = None if window is None else check_int("window", window, 1)
        self.scaler = check_scaler(scaler)
        blocks = check_blocks(blocks)
        updates, activations = check_bool("updates", updates), check_bool("activations", activations)
        params = [p for p in model.parameters() if p.requires_grad]
        rows = watch_rows(model, params, blocks)
        self.layer_names, self.frozen = rows.names, rows.frozen  # frozen: no trainable weight, nan
        self._layers = sum(len(m) for m in rows.modules)
        self._order = np.array([i for g in rows.params for i in g], dtype=np.int64)
        self._sizes = [len(g) for g in rows.params]
        self._grouped = any(n != 1 for n in self._sizes)  # else a row's norm is its weight's; 0: nan
        self._loss, self._n = read_loss, len(params)
        plan = ShardedNormPlan if is_sharded(params) else NormPlan
        self._norms = plan(params, self._order)
        self._kept = Records(self.window, self.scaler is not None)
        self._step = 0
        self._new_step()
        self._updates = Updates(params, rows.params) if updates else None
        self._acts: Activations | None = None
        self._handles: list = []
        try:
            for i, p in enumerate(params):
                self._handles.append(p.register_post_accumulate_grad_hook(self._hook(i)))
            self._hook_dicts = [p._post_accumulate_grad_hooks for p in params]  # ours and any other
            if activations:
                self._acts = Activations(rows.modules, lambda: self._record_now)
        except BaseException:  # a parameter that takes no hook: leave none of ours behind
            self._remove_hooks()
            raise

    def _new_step(self) -> None:
        self._grads: list[torch.Tensor | None] = [None] * self._n
        self._open = False  # a backward pass has started this step
        self._end: PassEnd | None = None  # closes the step at the end of that pass
        self._record_now = self._step % self.every == 0

    def _hook(self, i: int) -> Callable[[torch.Tensor], None]:
        def hook(param: torch.Tensor) -> None:  # runs for every gradient: kept lean
            end = self._end
            if end is None or end.raised:  # the first gradient of a pass, or the open one raised
                self._begin()
            if self._record_now:  # .grad is read at the pass's end (taking it here costs ~1 us more)
                self._grads[i] = param.grad if self._capture else param

        return hook

    def _begin(self) -> None:
        """Open a step at the first gradient of a backward pass: close it at the pass's end."""
        if self._open:  # the pass that opened the step raised: its gradients are partial, drop them
            self._new_step()
        self._open = True
        self._end = PassEnd(self._finish)
        self._capture = sum(map(len, self._hook_dicts)) != self._n  # another hook may rebind .grad
        self._measure_update()  # the optimiser has stepped since the last record

    def _measure_update(self) -> None:
        """Put the update ratios since the last record's snapshot into that record."""
        if self._updates is not None and self._updates.pending:
            last = self._kept.records[-1]
            self._kept.records[-1] = replace(last, update_ratio=self._updates.ratios())

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
                grads = self._grads if self._capture else [p if p is None else p.grad for p in self._grads]
                norms, total = self._norms(grads)  # None (no gradient in this pass) counts as 0
                if self.scaler is not None:  # read at the end of the pass: the scale it ran with
                    scale = float(self.scaler.get_scale())
                    norms, total = norms / scale, total / scale
                layer = group_norms(norms, self._sizes, empty=np.nan) if self._grouped else norms
                rms = self._acts.read() if self._acts is not None else None
                record = self._kept.record(self._step, layer, total, rms)
                if self._updates is not None:
                    self._updates.snapshot()
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

        ``update_ratio`` is NaN unless the watch measures ``updates`` (then a record's ratios
        arrive with the next backward pass, or at :meth:`close`), ``activation_rms`` NaN unless
        it measures ``activations``; ``total_norm_after`` equals ``total_norm_before``
        (clipping is not seen). With a ``window``, it holds the
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
        return f"{self.rows_text}, every={self.every}{window}, {self.steps} steps"

    @property
    def rows_text(self) -> str:
        """What the rows are: "12 layers", or "42 blocks of 82 layers"."""
        n = len(self.layer_names)
        return f"{n} layers" if n == self._layers else f"{n} blocks of {self._layers} layers"

    def close(self) -> None:
        """Remove every hook this watch added (the records are kept); safe to call twice.

        With ``updates``, the last record's update ratios are measured now (after the
        optimiser's last step, if you close after it). The hooks are removed even when
        reading the last loss raises (the error propagates).
        """
        try:
            self._finish()
            if self._handles:
                self._measure_update()
        finally:
            self._remove_hooks()

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        if self._acts is not None:
            self._acts.remove()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "watching"
        line = summary_line(self._recorded(), self.frozen, self._kept.gone_skipped, recorded=False)
        return f"Watch({self._title()}, {len(self._kept.records)} recorded, {state}; {line})"
