"""What a watch keeps and what it makes of it: its records and losses (the last ``window`` of
them), the steps a loss scaler skipped, the step the run diverged at, and a per-layer summary."""

from __future__ import annotations

import math
import numbers
from collections import deque
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from ._util import fmt, format_table
from .history import History, StepRecord, build_history
from .outputs import split_output
from .thresholds import EXPLODING_ABSOLUTE, EXPLODING_RELATIVE, VANISHING_ABSOLUTE, VANISHING_RELATIVE

__all__ = ["RULES", "Records", "as_loss", "classify_steps", "layer_flags", "summary_line", "summary_table"]

RULES = (
    (
        "vanishing",
        f"from the input side, the run of layers whose median |dL/dW| < {VANISHING_RELATIVE:g} x "
        f"the largest median at this layer or after it (toward the output), or < {VANISHING_ABSOLUTE:g}",
    ),
    (
        "exploding",
        f"median |dL/dW| > {EXPLODING_RELATIVE:g} x the median of the medians at this layer or "
        f"after it, or > {EXPLODING_ABSOLUTE:g}",
    ),
    ("non-finite", "NaN or inf in a recorded |dL/dW| (of a step the scaler did not skip)"),
)
"""The flags of :func:`summary_table`: :func:`gradwidgets.diagnose`'s rules across layers
(:mod:`.thresholds`), applied to each layer's median over the recorded steps."""


def as_loss(value: object, arg: str) -> float:
    """A loss as a float: a real number, a one-element tensor, or a model output holding a scalar
    ``loss`` (:func:`.outputs.split_output`); else a ValueError naming ``arg``."""
    given = type(value).__name__
    if not isinstance(value, (torch.Tensor, numbers.Real)) or isinstance(value, bool):  # ABC last: slow
        try:
            value = split_output(value)[1]
        except ValueError:
            value = None
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.item())  # (no detached copy made)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise ValueError(
        f"{arg}: a loss must be a number, a one-element tensor or a model output with a scalar "
        f"'loss' entry; got {given}"
    )


def classify_steps(
    records: Iterable[StepRecord], losses: Iterable[float], first: int, scaled: bool
) -> tuple[list[int], list[int]]:
    """The non-finite steps of a run: those that diverged, and those a loss scaler skipped.

    Parameters
    ----------
    records : iterable of StepRecord
        The recorded steps.
    losses : iterable of float
        The losses of steps ``first``, ``first + 1``, ...
    first : int
        The step of the first loss.
    scaled : bool
        True when a loss scaler ran the steps: it skips a step whose gradients are not finite
        (an unrecorded step whose loss is not finite is taken to be one of those).

    Returns
    -------
    tuple of two lists of int
        The diverged steps and the skipped ones, in order. Without a scaler every step whose
        recorded gradient or loss is not finite diverged and none was skipped; with one, only a
        recorded step with finite gradients and a non-finite loss diverged.
    """
    finite = {r.step: math.isfinite(r.total_norm_before) for r in records}
    bad_loss = [first + i for i, v in enumerate(losses) if not math.isfinite(v)]
    bad_grad = [s for s, ok in finite.items() if not ok]
    if not scaled:
        return sorted({*bad_grad, *bad_loss}), []
    skipped = sorted({*bad_grad, *(s for s in bad_loss if s not in finite)})
    return [s for s in bad_loss if finite.get(s, False)], skipped


class Records:
    """A watch's records and losses: all of them, or the last ``window`` records and the losses
    from the first of them on; what leaves the window still counts for divergence and skips."""

    def __init__(self, window: int | None, scaled: bool):
        self.window, self.scaled = window, scaled
        self.records: deque[StepRecord] = deque()
        self.losses: deque[float] = deque()  # the losses of steps loss_start, loss_start + 1, ...
        self.loss_start, self.gone_skipped, self._gone_diverged = 0, 0, math.inf

    def loss_of(self, step: int) -> float:
        """The loss logged for ``step``, or NaN."""
        k = step - self.loss_start
        return self.losses[k] if 0 <= k < len(self.losses) else math.nan

    def record(self, step: int, layer: np.ndarray, total: float, rms: np.ndarray | None) -> StepRecord:
        """Keep and return a watch's record of ``step``: its loss if logged yet (else NaN), no
        clipping (the total after is the total before), update ratios NaN until measured."""
        record = StepRecord(step, self.loss_of(step), layer, total, total, np.full(len(layer), np.nan), rms)
        self.add(record)
        return record

    def add(self, record: StepRecord) -> None:
        """Keep ``record``; drop the oldest one (and the losses before the next) past the window."""
        self.records.append(record)
        if self.window is None or len(self.records) <= self.window:
            return
        gone = [self.records.popleft()]
        drop = max(0, min(self.records[0].step - self.loss_start, len(self.losses)))
        losses = [self.losses.popleft() for _ in range(drop)]
        diverged, skipped = classify_steps(gone, losses, self.loss_start, self.scaled)
        self._gone_diverged = min([self._gone_diverged, *diverged])
        self.gone_skipped += len(skipped)
        self.loss_start += drop

    def history(self, names: tuple[str, ...]) -> History:
        """The :class:`History` of what is kept; ``diverged_at`` also counts the steps gone."""
        diverged, skipped = classify_steps(self.records, self.losses, self.loss_start, self.scaled)
        first = min([self._gone_diverged, *diverged])
        return build_history(
            names,
            list(self.losses),
            list(self.records),
            None if first == math.inf else int(first),
            skipped=tuple(skipped),
            loss_start=self.loss_start,
        )


def _counted(history: History) -> np.ndarray:
    """The rows of the recorded steps the scaler did not skip."""
    return ~np.isin(np.asarray(history.steps), list(history.skipped))


def layer_flags(history: History, frozen: Sequence[bool] = ()) -> tuple[tuple[str, ...], ...]:
    """The flags of each layer (:data:`RULES`) over the recorded steps the scaler did not skip;
    a layer ``frozen`` marks (no trainable weight: its norms are NaN) gets none. As in
    :func:`gradwidgets.diagnose`, with the layers in the watch's order (the model's, which is
    the call order of most models), but without its exemptions (a zero-initialised head)."""
    norms = np.asarray(history.layer_grad_norm, dtype=np.float64)[_counted(history)]
    n = norms.shape[1]
    frozen = np.asarray(frozen if len(frozen) else [False] * n, dtype=bool)
    g = _medians(norms)
    live = ~frozen & np.isfinite(g)
    fading = True  # still in the run of small gradients from the input side
    out = []
    for i in range(n):
        f = []
        after = g[i:][live[i:]]
        small = live[i] and (g[i] < VANISHING_RELATIVE * after.max() or g[i] < VANISHING_ABSOLUTE)
        fading = fading and (small or not live[i])
        if fading and small:
            f.append("vanishing")
        median = float(np.median(after)) if after.size else 0.0
        if live[i] and ((median > 0 and g[i] > EXPLODING_RELATIVE * median) or g[i] > EXPLODING_ABSOLUTE):
            f.append("exploding")
        if not frozen[i] and not np.isfinite(norms[:, i]).all():
            f.append("non-finite")
        out.append(tuple(f))
    return tuple(out)


def _medians(norms: np.ndarray) -> np.ndarray:
    """Each column's median over its finite entries (NaN when there is none)."""
    return np.array([np.median(c[np.isfinite(c)]) if np.isfinite(c).any() else np.nan for c in norms.T])


def summary_line(
    history: History, frozen: Sequence[bool] = (), earlier_skipped: int = 0, recorded: bool = True
) -> str:
    """One line: the recorded steps (unless not ``recorded``), the steps the scaler skipped,
    divergence and the flags."""
    steps = np.asarray(history.steps)
    span = f" (steps {steps[0]}-{steps[-1]})" if steps.size > 1 else ""
    parts = [f"{steps.size} recorded{span}"] if recorded else []
    skipped = len(history.skipped) + earlier_skipped
    if skipped:
        before = f", {earlier_skipped} of them before the window" if earlier_skipped else ""
        parts.append(f"{skipped} skipped by the scaler{before}")
    if history.diverged_at is not None:
        parts.append(f"diverged at step {history.diverged_at}")
    flags = [f for layer in layer_flags(history, frozen) for f in layer]
    counts = ", ".join(f"{name} ({flags.count(name)})" for name, _ in RULES if name in flags)
    parts.append(f"flags: {counts}" if counts else "no flags")
    return "; ".join(parts)


def summary_table(
    history: History, frozen: Sequence[bool] = (), title: str = "", earlier_skipped: int = 0
) -> str:
    """A recorded run as plain text: a line of counts, one row per layer, the rules of the flags.

    Parameters
    ----------
    history : History
        From a :class:`.Watch` or :func:`gradwidgets.train`.
    frozen : sequence of bool, optional
        Per layer, True when it has no trainable weight (not flagged); default none.
    title : str, optional
        What ran, put before the counts (a watch's layers, ``every`` and steps).
    earlier_skipped : int, optional
        The steps the scaler skipped before a watch's window (counted, not listed).

    Returns
    -------
    str
        Per layer: the median and the last ``|dL/dW|`` over the recorded steps the scaler did
        not skip (the median over finite values), the median's ratio to the largest layer's and
        the flags of :func:`layer_flags` (:data:`RULES`); "non-finite (k)" counts the steps.
        Where measured, the median update-to-weight ratio and activation RMS come before the
        flags.
    """
    norms = np.asarray(history.layer_grad_norm, dtype=np.float64)[_counted(history)]
    n = len(history.layer_names)
    frozen = tuple(frozen) or (False,) * n
    g = _medians(norms)
    live = g[~np.asarray(frozen, dtype=bool) & np.isfinite(g)]
    top = live.max() if live.size and live.max() > 0 else math.nan
    extras = {  # measured on request (a watch's updates=, activations=): a column each
        "median update/weight": np.asarray(history.update_ratio, dtype=np.float64)[_counted(history)],
        "median activation RMS": np.asarray(history.activation_rms, dtype=np.float64)[_counted(history)],
    }
    extras = {k: _medians(v) for k, v in extras.items() if np.isfinite(v).any()}
    rows = []
    for i, (name, flags) in enumerate(zip(history.layer_names, layer_flags(history, frozen), strict=True)):
        bad = int((~np.isfinite(norms[:, i])).sum())
        text = " ".join(f"{f} ({bad})" if f == "non-finite" else f for f in flags) or "-"
        text += " (frozen)" if frozen[i] else ""
        last = fmt(float(norms[-1, i])) if len(norms) else "-"
        more = [fmt(float(v[i])) for v in extras.values()]
        rows.append([name, fmt(float(g[i])), last, fmt(float(g[i] / top)), *more, text])
    head = summary_line(history, frozen, earlier_skipped)
    lines = [f"{title}: {head}" if title else head]
    columns = ["layer", "median |dL/dW|", "last |dL/dW|", "median/largest", *extras, "flags"]
    lines += [format_table(columns, rows)]
    lines += ["", "Flags and their rules (medians over the recorded steps the scaler did not skip):"]
    lines += [f"  {f.ljust(10)}  {rule}" for f, rule in RULES]
    return "\n".join(lines)
