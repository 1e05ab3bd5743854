"""A Hugging Face ``Trainer`` callback that watches the gradients of ``Trainer.train``
(``pip install "gradwidgets[huggingface]"``).

Importing this module does not import transformers: ``WatchCallback``, a subclass of
``transformers.TrainerCallback``, is made on first use.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..core.outputs import split_output
from ._common import Watching, base_class

__all__ = ["WatchCallback"]  # noqa: F822 (made on first use, by __getattr__)


class _WatchCallback(Watching):
    """Watch the gradients of a Hugging Face ``Trainer.train``: :func:`gradwidgets.watch` on its model.

    When training begins it watches the trainer's model, and it closes the watch (removes its
    hooks) when training ends. Every backward pass is one step of the watch, with its loss: the
    ``loss`` of the model's output in that pass, read by a forward hook. With gradient
    accumulation a step's norms are those of the gradient accumulated so far, and when the
    Trainer had the model normalise its loss over the whole optimizer step (it passes
    ``num_items_in_batch`` to models that take it, such as GPT-2), that share is multiplied by
    the step's number of passes: in one process, the mean of an optimizer step's losses here is
    the loss the Trainer logs for it. A loss the model does not compute (label smoothing, a
    ``compute_loss_func``) is not seen: the loss curve stays empty. The loss scaler of an
    ``fp16`` run (``optimizer.scaler``) is passed as ``scaler=``. Every process records; only
    the main one (``state.is_world_process_zero``) may show a live view.

    ``Trainer`` has no hook for an exception: if ``train()`` raises, the hooks stay until
    :meth:`close` (or the end of a ``with`` block over the callback) or the next ``train()``,
    which closes the old watch first.

    Parameters
    ----------
    every : int
        Record the norms every this many backward passes (>= 1).
    live : bool, optional
        Show the live heatmap below the cell (main process only). Default (None): in a Jupyter
        kernel, yes.
    **watch_kwargs
        Passed on to :func:`gradwidgets.watch`, e.g. ``window=``; a ``scaler=`` of yours
        replaces the optimizer's, a ``read_loss=`` of yours replaces the forward hook.

    Attributes
    ----------
    watch : Watch or None
        The watch of the last run; None before training begins.

    Examples
    --------
    >>> from gradwidgets.integrations.huggingface import WatchCallback
    >>> with WatchCallback() as callback:  # doctest: +SKIP
    ...     Trainer(model=model, args=args, train_dataset=data, callbacks=[callback]).train()
    >>> print(callback.summary())  # doctest: +SKIP
    """

    def __init__(self, every: int = 1, live: bool | None = None, **watch_kwargs: Any):
        self._configure(every, live, watch_kwargs)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        model = kwargs.get("model")
        scaler = getattr(kwargs.get("optimizer"), "scaler", None)  # accelerate's optimizer holds it
        self._start(model, state.is_world_process_zero, scaler)
        if self._reads_loss:
            handle = model.register_forward_hook(self._on_forward, with_kwargs=True)
            self._removers.append(handle.remove)

    def _on_forward(self, module: nn.Module, args: tuple, kwargs: dict, output: object) -> None:
        """Keep the loss of a training forward pass (not of an evaluation's, under no_grad)."""
        if not (module.training and torch.is_grad_enabled() and self._listening):
            return
        try:
            loss = split_output(output)[1]
        except ValueError:
            loss = None
        self._keep(loss, shared=kwargs.get("num_items_in_batch") is not None)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._flush()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.close()


def __getattr__(name: str) -> type:
    if name != "WatchCallback":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    base = base_class(("transformers",), "TrainerCallback", "huggingface")
    namespace = {"__module__": __name__, "__qualname__": name, "__doc__": _WatchCallback.__doc__}
    globals()[name] = cls = type(name, (_WatchCallback, base), namespace)
    return cls
