"""A Lightning callback that watches the gradients of ``Trainer.fit``
(``pip install "gradwidgets[lightning]"``).

Importing this module does not import Lightning: ``WatchCallback``, a subclass of Lightning's
``Callback``, is made on first use (from ``lightning``, else ``pytorch_lightning``).
"""

from __future__ import annotations

from typing import Any

from ._common import Watching, base_class

__all__ = ["WatchCallback"]  # noqa: F822 (made on first use, by __getattr__)

FRAMEWORKS = ("lightning.pytorch", "pytorch_lightning")
"""Where Lightning's ``Callback`` is looked for, in order."""


class _WatchCallback(Watching):
    """Watch the gradients of a Lightning ``Trainer.fit``: :func:`gradwidgets.watch` on its module.

    When training starts it watches the LightningModule, and it closes the watch (removes its
    hooks) when training ends or raises. Every backward pass is one step of the watch, with
    its loss: what ``training_step`` returned (Lightning divides it by
    ``accumulate_grad_batches`` for the backward pass; this multiplies it back), or what you
    gave ``manual_backward``. With gradient accumulation a step's norms are those of the
    gradient accumulated so far. The ``GradScaler`` of the trainer's precision plugin (with
    ``precision="16-mixed"``) is passed as ``scaler=``: norms and losses are unscaled, and a
    step the scaler skips is counted as skipped. Every process records; only global rank 0
    may show a live view.

    Parameters
    ----------
    every : int
        Record the norms every this many backward passes (>= 1).
    live : bool, optional
        Show the live heatmap below the cell (global rank 0 only). Default (None): in a
        Jupyter kernel, yes.
    **watch_kwargs
        Passed on to :func:`gradwidgets.watch`, e.g. ``window=``; a ``scaler=`` of yours
        replaces the plugin's, a ``read_loss=`` of yours replaces the losses read here.

    Attributes
    ----------
    watch : Watch or None
        The watch of the last run; None before training starts.

    Examples
    --------
    >>> from gradwidgets.integrations.lightning import WatchCallback
    >>> callback = WatchCallback()
    >>> trainer = L.Trainer(max_epochs=3, callbacks=[callback])  # doctest: +SKIP
    >>> trainer.fit(model, loader)  # doctest: +SKIP
    >>> print(callback.summary())  # doctest: +SKIP
    """

    def __init__(self, every: int = 1, live: bool | None = None, **watch_kwargs: Any):
        self._configure(every, live, watch_kwargs)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._start(pl_module, trainer.is_global_zero, _scaler(trainer))

    def on_before_backward(self, trainer: Any, pl_module: Any, loss: Any) -> None:
        if not self._listening:
            return
        factor = trainer.accumulate_grad_batches if pl_module.automatic_optimization else 1
        scaler = _scaler(trainer)  # it has scaled the loss already: this is the scale of this pass
        self._keep(loss, factor / (float(scaler.get_scale()) if scaler is not None else 1.0))

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._flush()

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self.close()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.close()


def _scaler(trainer: Any) -> object:
    """The loss scaler of the trainer's precision plugin, if it has one that is enabled."""
    scaler = getattr(getattr(trainer, "precision_plugin", None), "scaler", None)
    if scaler is None or not getattr(scaler, "is_enabled", lambda: True)():
        return None
    return scaler


def __getattr__(name: str) -> type:
    if name != "WatchCallback":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    base = base_class(FRAMEWORKS, "Callback", "lightning")
    namespace = {"__module__": __name__, "__qualname__": name, "__doc__": _WatchCallback.__doc__}
    globals()[name] = cls = type(name, (_WatchCallback, base), namespace)
    return cls
