"""``watch`` in a notebook: a live heatmap and loss curve that follow your own training loop."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from torch import nn

from ..core.checks import check_bool, renamed
from ..core.training import History, StepRecord
from ..core.trainsetup import is_rank_zero
from ..core.watcher import Watch
from .display import baking

REDRAW_INTERVAL = 0.25
"""Seconds between redraws while training runs (the last records are drawn on close)."""


class WatchView:
    """The figures of a watch: loss and total norm per step, and a layer x step heatmap."""

    def __init__(self, history: History):
        import ipywidgets as ipw  # the plotting and widget stacks load only when a view is shown
        from bokeh.layouts import column
        from bokeh.models import ColumnDataSource
        from jupyter_bokeh import BokehModel

        from ..plots import (
            gradient_heatmap_columns,
            gradient_heatmap_figure,
            training_columns,
            training_figure,
        )

        loss, norms, diverged = training_columns(history)
        self.sources = {
            "loss": ColumnDataSource(loss),
            "norms": ColumnDataSource(norms),
            "diverged": ColumnDataSource(diverged),
            "heat": ColumnDataSource(gradient_heatmap_columns(history)),
        }
        s = self.sources
        self.layout = layout = column(
            training_figure(s["loss"], s["norms"], s["diverged"], clipping=False),  # a watch sees none
            gradient_heatmap_figure(s["heat"]),
            sizing_mode="stretch_width",
        )
        self.status = ipw.HTML()
        self.widget = ipw.VBox([self.status, BokehModel(layout)], layout=ipw.Layout(width="100%"))

    def update(self, history: History, steps: int, rows: str = "") -> None:
        """Redraw from ``history``; ``rows`` says what its rows are (default: so many layers)."""
        from ..plots import gradient_heatmap_columns, training_columns

        loss, norms, diverged = training_columns(history)
        for name, cols in (("loss", loss), ("norms", norms), ("diverged", diverged)):
            self.sources[name].data = cols
        self.sources["heat"].data = gradient_heatmap_columns(history)
        note = f", diverged at step {history.diverged_at}" if history.diverged_at is not None else ""
        note += f", {len(history.skipped)} skipped by the scaler" if history.skipped else ""
        note += f" (showing those from step {history.loss_start})" if history.loss_start else ""
        rows = rows or f"{len(history.layer_names)} layers"
        self.status.value = f"watching {rows}: {steps} steps{note}"


class LiveWatch(Watch):
    """A :class:`Watch` that also redraws a :class:`WatchView` as records arrive."""

    def __init__(self, model: nn.Module, every: int, read_loss: Callable[[], object] | None, **options):
        super().__init__(model, every, read_loss, **options)
        try:
            self.view = WatchView(self._recorded())
        except BaseException:  # no view (the widget stack missing): leave no hook behind
            super().close()
            raise
        self._drawn = 0.0

    def _on_record(self, record: StepRecord) -> None:
        now = time.monotonic()
        if now - self._drawn >= REDRAW_INTERVAL:
            self._drawn = now
            self.view.update(self._recorded(), self.steps, self.rows_text)

    def close(self) -> None:
        """Remove every hook and draw the final records."""
        super().close()
        self.view.update(self._recorded(), self.steps, self.rows_text)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self.view.widget._repr_mimebundle_(include=include, exclude=exclude)


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")  # a kernel has imported it; a script need not pay for it
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def watch(
    model: nn.Module,
    every: int = 1,
    read_loss: Callable[[], object] | None = None,
    live: bool | None = None,
    *,
    scaler: object = None,
    window: int | None = None,
    blocks: str | int = "auto",
    updates: bool = False,
    activations: bool = False,
    loss: Callable[[], object] | None = None,
) -> Watch:
    """Record per-layer gradient norms in your own training loop, through hooks.

    Parameters
    ----------
    model : nn.Module
        The model you train; its parameters get a post-accumulate-grad hook each. A
        ``torch.compile`` d or DistributedDataParallel model is watched through the module it
        wraps (its layers' names); under DDP the norms are those of the averaged gradients
        (the same on every process), under FSDP2 (``fully_shard``) those of the whole
        gradients, reduced from the shards.
    every : int
        Record the norms every this many backward passes (>= 1).
    read_loss : callable, optional
        Called with no argument once per backward pass to read the current loss; otherwise
        pass it with :meth:`Watch.log_loss`. (Not ``loss``: everywhere else in the package
        ``loss`` is the loss function; ``watch(loss=...)`` is the deprecated name of this.)
    loss : callable, optional
        Deprecated: the former name of ``read_loss``.
    live : bool, optional
        Show a live heatmap and loss curve below the cell (True or False). Default (None): in a
        Jupyter kernel, yes, except while a book build executes (``GRADWIDGETS_BAKE`` set) or
        in a process of a process group other than rank 0; elsewhere, no.
    scaler : torch.amp.GradScaler, optional
        The loss scaler of a mixed-precision loop (or any object with ``get_scale()``): the
        norms recorded are divided by the scale each backward pass ran with, so they are the
        unscaled gradients' the optimiser sees (also after ``scaler.unscale_``, which comes
        later), and a step whose gradients are non-finite is recorded in ``History.skipped``,
        as the scaler skips it, instead of as divergence. A disabled one
        (``GradScaler(enabled=False)``) is taken as none.
    window : int, optional
        Keep only the last ``window`` (>= 1) records, and the losses from the first of them on:
        memory bounded over a long run. Default (None): keep everything.
    blocks : "auto", "layers" or int, optional
        The rows recorded and shown. "layers": one per layer (a module that owns a weight of 2
        or more dimensions). An int: one per block of layers whose dotted names share their
        first ``blocks`` parts (2 groups ``layer4.1.conv1`` into ``layer4.1``); a block's norm
        is that of its layers' weight gradients taken together. Default "auto": one per layer
        up to 64 layers, else the deepest blocks that make at most 64 rows.
    updates : bool, optional
        Also record each row's update-to-weight ratio ``||W_after - W_before|| / ||W_before||``
        across the optimiser step after each recorded step (``History.update_ratio``); copies
        the weights at each recorded step. Default False.
    activations : bool, optional
        Also record the root mean square of each row's layer outputs in the forward pass of
        each recorded step (``History.activation_rms``; under ``torch.no_grad`` not counted).
        Default False.

    Returns
    -------
    Watch
        Use ``with watch(model) as w: ...`` or call ``w.close()`` (which removes every hook);
        ``w.history()`` gives a :class:`gradwidgets.History`, ``w.summary()`` the per-layer
        table with flags as text.

    Examples
    --------
    >>> with watch(model) as w:  # doctest: +SKIP
    ...     for X, y in loader:
    ...         opt.zero_grad()
    ...         loss = loss_fn(model(X), y)
    ...         loss.backward()
    ...         w.log_loss(loss)
    ...         opt.step()
    >>> w.history()  # doctest: +SKIP
    """
    read_loss = renamed("loss", loss, "read_loss", read_loss)
    if live is not None:  # the other arguments are checked by Watch, once
        live = check_bool("live", live)
    else:
        live = _in_notebook() and not baking() and is_rank_zero()
    options = {"scaler": scaler, "window": window, "blocks": blocks, "updates": updates}
    options["activations"] = activations
    if not live:
        return Watch(model, every, read_loss, **options)
    handle = LiveWatch(model, every, read_loss, **options)
    try:
        from IPython.display import display

        display(handle)
    except BaseException:  # not shown: leave no hook behind
        handle.close()
        raise
    return handle
