"""The end of a backward pass, seen from a parameter hook: run once when the pass ends, and tell
whether it raised before its end."""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["PassEnd"]

_ENGINE = torch.autograd.Variable._execution_engine  # runs a callback when a backward pass ends
_node = getattr(torch._C, "_current_autograd_node", lambda: None)  # the node being run, if any


class _Callback:
    """What the autograd engine holds and calls at the end of the pass (or, ``on_node``, a node
    of the outer pass holds and calls when it has run). The engine drops it unrun when the pass
    raises: if it is still what ``end`` waits on, that tells ``end`` the pass raised."""

    __slots__ = ("end", "on_node", "token")

    def __init__(self, end: PassEnd, on_node: bool):
        end._token += 1
        self.end, self.on_node, self.token = end, on_node, end._token

    def __call__(self, *_: object) -> None:
        end, self.token = self.end, -1  # called: its dropping says nothing
        if self.on_node:  # the outer pass finished the node: queue on that pass
            end._queue()
        else:
            end._ended()

    def __del__(self) -> None:
        end = getattr(self, "end", None)  # None: made but never initialised (torch.compile tracing)
        if end is not None and end._token == self.token and not end._done:  # dropped unrun: raised
            end.raised = True


class PassEnd:
    """Call ``fn`` once, when the backward pass running now ends.

    Make it inside a backward pass (in a hook). The engine calls it at the end of that pass;
    when that pass runs inside a node of another pass (reentrant activation checkpointing runs
    a backward pass inside the outer one's), it waits for the outer pass's end instead (for the
    outermost, through any depth). It runs after every other end-of-pass callback queued
    during the pass: DistributedDataParallel's reducer queues one that writes the averaged
    gradients into ``.grad``, and ``fn`` sees those. Only the engine holds the callback: when a
    pass raises before its end, it drops it unrun, and :attr:`raised` turns True then (a plain
    attribute, cheap to read in every hook).

    Parameters
    ----------
    fn : callable
        Called with no argument; what it raises propagates from ``backward()``.
    """

    __slots__ = ("_done", "_fn", "_last", "_token", "raised")

    def __init__(self, fn: Callable[[], None]):
        self._fn, self._done, self._last, self._token = fn, False, False, 0
        self.raised = False  # True once the pass dropped the call unrun: it raised before its end
        self._queue()

    def _queue(self) -> None:
        _ENGINE.queue_callback(_Callback(self, False))  # the engine holds the only reference

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
        node.register_hook(_Callback(self, True))  # the node holds the only reference
