"""What the training-framework callbacks share: the watch they start, and each backward pass's loss."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib import import_module

import torch
from torch import nn

from ..core.checks import check_bool, check_int, check_keywords
from ..core.history import History
from ..core.watcher import Watch

__all__ = ["Watching", "base_class"]

OWN = ("model", "every", "live")
"""``gw.watch``'s arguments the callback sets itself; the others pass through ``**watch_kwargs``."""


def base_class(modules: tuple[str, ...], name: str, extra: str) -> type:
    """The framework's class ``name`` from the first of ``modules`` installed, or an ImportError
    that says which extra to install. An installed framework that fails to import raises as is."""
    for module in modules:
        try:
            return getattr(import_module(module), name)
        except ModuleNotFoundError as err:
            if err.name is None or module.split(".")[0] != err.name.split(".")[0]:
                raise  # the framework is there, one of its own imports is missing
    raise ImportError(
        f"{name} from {' or '.join(modules)} is needed here and not installed; "
        f'pip install "gradwidgets[{extra}]"'
    )


class Watching:
    """A callback's :func:`gradwidgets.watch`: started when training starts, closed when it ends.

    Each backward pass is one step of the watch. The framework's hooks hand each pass's loss
    to :meth:`_keep` before the pass, and :meth:`_flush` logs the losses of the passes done
    since the last flush, one per pass, in order. A pass whose loss was not seen (the model
    returned none) ends the loss curve there, so that the losses never shift to other steps.
    """

    watch: Watch | None = None

    def _configure(self, every: int, live: bool | None, watch_kwargs: dict) -> None:
        from ..widgets import watch  # no plotting or widget stack: that loads when a view is shown

        self.every = check_int("every", every, 1)
        self.live = None if live is None else check_bool("live", live)
        known = [p for p in inspect.signature(watch).parameters if p not in OWN]
        check_keywords(f"{type(self).__name__}()", watch_kwargs, known)
        self.watch_kwargs = dict(watch_kwargs)
        self._reads_loss = not {"read_loss", "loss"} & set(watch_kwargs)  # else your read_loss does
        self._removers: list[Callable[[], None]] = []
        self._pending: dict[int, tuple[torch.Tensor | None, float, bool]] = {}

    def _start(self, model: nn.Module, main: bool, scaler: object) -> Watch:
        """Close any watch left open (a run that raised), then watch ``model``; only the ``main``
        process may show a live view."""
        from ..widgets import watch

        self.close()
        self._pending, self._logged, self._logging = {}, 0, self._reads_loss
        options = {"scaler": scaler, **self.watch_kwargs}  # a scaler= of yours wins
        self.watch = watch(model, self.every, live=self.live if main else False, **options)
        return self.watch

    @property
    def _listening(self) -> bool:
        """True while the losses of backward passes are wanted."""
        return self.watch is not None and self._logging and not self.watch.closed

    def _keep(self, loss: torch.Tensor | None, factor: float = 1.0, shared: bool = False) -> None:
        """The loss of the backward pass about to run: ``loss * factor``, also times the number
        of passes of its optimizer step when ``shared`` (a share of the step's loss)."""
        if self._listening:
            self._pending[self.watch.steps] = (None if loss is None else loss.detach(), factor, shared)

    def _flush(self) -> None:
        """Log the losses of the passes done since the last flush (one optimizer step's, or fewer)."""
        w = self.watch
        if w is None:
            return
        passes = range(self._logged, w.steps)
        for step in passes:
            loss, factor, shared = self._pending.pop(step, (None, 1.0, False))
            self._logging = self._logging and loss is not None
            if self._logging:
                w.log_loss(float(loss) * factor * (len(passes) if shared else 1))
        self._logged = w.steps
        self._pending = {s: v for s, v in self._pending.items() if s >= self._logged}

    def history(self) -> History:
        """What the watch recorded, as a :class:`gradwidgets.History` (one step per backward pass)."""
        return self._started().history()

    def summary(self) -> str:
        """The watch's per-layer table with flags, as text (:meth:`gradwidgets.Watch.summary`)."""
        return self._started().summary()

    def _started(self) -> Watch:
        if self.watch is None:
            raise RuntimeError(f"{type(self).__name__}: training has not started, nothing is recorded yet")
        return self.watch  # the losses of an optimizer step still running are logged at its end

    def close(self) -> None:
        """Log the last losses and remove every hook; safe to call twice, and before training."""
        try:
            if self.watch is not None and not self.watch.closed:
                self._flush()
        finally:
            while self._removers:
                self._removers.pop()()
            if self.watch is not None:
                self.watch.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = repr(self.watch) if self.watch is not None else "not started"
        return f"{type(self).__name__}(every={self.every}; {state})"
