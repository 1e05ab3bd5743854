"""The end of a backward pass, seen from a parameter hook: run once when the pass ends, and tell
whether it raised before its end."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import torch

__all__ = ["PassEnd"]

_ENGINE = torch.autograd.Variable._execution_engine  # runs a callback when a backward pass ends
_node = getattr(torch._C, "_current_autograd_node", lambda: None)  # the node being run, if any


class _Callback:
    """What the autograd engine holds and calls at the end of the pass; it drops it unrun when
    the pass raises."""

    __slots__ = ("__weakref__", "end")

    def __init__(self, end: PassEnd):
        self.end = end

    def __call__(self) -> None:
        self.end._ended()


class PassEnd:
    """Call ``fn`` once, when the backward pass running now ends.

    Make it inside a backward pass (in a hook). The engine calls it at the end of that pass;
    when that pass runs inside a node of another pass (reentrant activation checkpointing runs
    a backward pass inside the outer one's), it waits for the outer pass's end instead (for the
    outermost, through any depth). It runs after every other end-of-pass callback queued
    during the pass: DistributedDataParallel's reducer queues one that writes the averaged
    gradients into ``.grad``, and ``fn`` sees those. Only the engine holds the callback: when a
    pass raises before its end, it drops it unrun, and :attr:`raised` turns True.

    Parameters
    ----------
    fn : callable
        Called with no argument; what it raises propagates from ``backward()``.
    """

    def __init__(self, fn: Callable[[], None]):
        self._fn, self._done, self._last = fn, False, False
        self._queue()

    def _queue(self) -> None:
        callback = _Callback(self)
        self._holder: Callable[[], object] = weakref.ref(callback)  # None once the engine dropped it
        _ENGINE.queue_callback(callback)

    def _ended(self) -> None:
        node = _node()
        if node is None and not self._last:  # the outermost pass ended: go behind the callbacks
            self._last = True  # queued since ours (the engine runs those queued while it runs them)
            self._queue()
            return
        if node is None:
            self._done = True
            self._fn()
            return

        def after(*_: object) -> None:  # the outer pass finished the node: queue on that pass
            if self._holder() is after:
                self._queue()

        node.register_hook(after)
        self._holder = weakref.ref(after)

    @property
    def raised(self) -> bool:
        """True when the pass dropped the call unrun: it raised before its end."""
        return not self._done and self._holder() is None
