"""What a watch can measure beside gradient norms, on request: each row's update-to-weight
ratio (how far the optimiser moved its weights) and the root mean square of its layers'
outputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .norms import group_norms
from .sharded import global_norms

__all__ = ["Activations", "Updates"]


def _rows_of(params: Sequence[Sequence[int]]) -> tuple[list[int], list[int], list[int]]:
    """The distinct positions the rows use, and each row's entries into that list, with sizes."""
    used = list(dict.fromkeys(i for row in params for i in row))
    where = {i: k for k, i in enumerate(used)}
    return used, [where[i] for row in params for i in row], [len(row) for row in params]


class Updates:
    """||W_after - W_before|| / ||W_before|| per row, across one optimiser step.

    :meth:`snapshot` copies the rows' weights (at the end of a recorded backward pass, before
    the step); :meth:`ratios` compares them with the weights now (at the start of the next
    backward pass, or when the watch closes), then drops the copy.
    """

    def __init__(self, params: Sequence[torch.Tensor], rows: Sequence[Sequence[int]]):
        used, self._index, self._sizes = _rows_of(rows)
        self._weights = [params[i] for i in used]
        self._before: list[torch.Tensor] | None = None

    @property
    def pending(self) -> bool:
        """True between a snapshot and its ratios."""
        return self._before is not None

    def snapshot(self) -> None:
        """Copy the weights as they are now."""
        with torch.no_grad():
            self._before = [w.detach().clone() for w in self._weights]

    def ratios(self) -> np.ndarray:
        """Each row's ratio since the snapshot (NaN for a row with no weight or a zero one)."""
        before, self._before = self._before, None
        with torch.no_grad():
            moved = global_norms([w.detach() - b for w, b in zip(self._weights, before, strict=True)])
            size = global_norms(before)
        index = np.asarray(self._index, dtype=np.int64)
        top = group_norms(moved[index], self._sizes, empty=np.nan)
        bottom = group_norms(size[index], self._sizes, empty=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(bottom > 0, top / bottom, np.nan)


class Activations:
    """The root mean square of each row's layer outputs in the forward passes of recorded steps.

    A forward hook on every layer adds up the squares and the count of its output's entries
    (the first floating tensor of a tuple or dict output) while ``armed()`` is true and
    gradients are on (an evaluation pass under ``torch.no_grad`` is not counted); :meth:`read`
    gives the rows' values and starts over.
    """

    def __init__(self, rows: Sequence[Sequence[nn.Module]], armed: Callable[[], bool]):
        self._armed = armed
        self._rows = [list(r) for r in rows]
        self._sums: dict[int, list] = {}  # id(module) -> [sum of squares (a tensor), count]
        self.handles: list = []
        try:
            for module in dict.fromkeys(m for r in self._rows for m in r):
                self.handles.append(module.register_forward_hook(self._hook))
        except BaseException:
            self.remove()
            raise

    def _hook(self, module: nn.Module, args: object, out: object) -> None:
        if not (torch.is_grad_enabled() and self._armed()):
            return
        t = _first_float(out)
        if t is None:
            return
        square = torch.linalg.vector_norm(t.detach(), dtype=torch.float64) ** 2  # no float32 overflow
        entry = self._sums.setdefault(id(module), [0.0, 0])
        entry[0] = entry[0] + square
        entry[1] += t.numel()

    def read(self) -> np.ndarray:
        """Each row's root mean square since the last read (NaN for a row whose layers did not run)."""
        sums, self._sums = self._sums, {}
        out = np.full(len(self._rows), np.nan)
        for r, modules in enumerate(self._rows):
            got = [sums[id(m)] for m in modules if id(m) in sums]
            count = sum(n for _, n in got)
            if count:
                out[r] = float(sum(float(s) for s, _ in got) / count) ** 0.5
        return out

    def remove(self) -> None:
        """Remove the forward hooks."""
        for handle in self.handles:
            handle.remove()
        self.handles.clear()


def _first_float(out: object) -> torch.Tensor | None:
    """The output itself if it is a floating tensor, else the first in a tuple, list or dict."""
    if isinstance(out, torch.Tensor):
        return out if out.is_floating_point() else None
    values = out.values() if isinstance(out, dict) else out if isinstance(out, (tuple, list)) else ()
    for v in values:
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            return v
    return None
