"""What a run recorded: one StepRecord per recorded step, gathered into a History."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._util import fmt

__all__ = ["History", "StepRecord", "build_history"]


@dataclass(frozen=True)
class StepRecord:
    """What ``train`` (handing it to its callback) or a :class:`.Watch` measured at one recorded step."""

    step: int
    loss: float
    layer_grad_norm: np.ndarray
    total_norm_before: float
    total_norm_after: float
    update_ratio: np.ndarray
    activation_rms: np.ndarray | None = None  # per layer; None: not measured (NaN in a History)

    def __repr__(self) -> str:
        return (
            f"StepRecord(step={self.step}, loss={fmt(self.loss)}, "
            f"total_norm={fmt(self.total_norm_before)}->{fmt(self.total_norm_after)})"
        )


@dataclass(frozen=True, repr=False)
class History:
    """Everything ``train`` or a :class:`.Watch` recorded, built by :func:`build_history`.

    ``loss`` has one entry per step taken, from step ``loss_start`` (0 unless a watch's
    ``window`` dropped the steps before it; :attr:`loss_steps` numbers them). The other arrays
    have one row per recorded step (``steps`` says which); per-layer arrays have one column per
    layer in ``layer_names``. Gradient norms are measured before clipping; ``total_norm_after``
    after it. ``diverged_at`` is the step whose loss or gradient was non-finite (training
    stopped there), else None. ``stopped_at`` is the step after which a callback asked to stop,
    else None. ``skipped`` lists the steps a loss scaler (mixed precision) skipped because
    their gradients were non-finite: not divergence, the scaler's normal working.
    ``activation_rms`` is each layer's output root mean square at a recorded step (NaN where
    it was not measured: ``train`` does not, a watch does with ``activations=True``).
    """

    layer_names: tuple[str, ...]
    loss: np.ndarray
    steps: np.ndarray
    layer_grad_norm: np.ndarray
    total_norm_before: np.ndarray
    total_norm_after: np.ndarray
    update_ratio: np.ndarray
    diverged_at: int | None
    stopped_at: int | None = None
    skipped: tuple[int, ...] = ()
    loss_start: int = 0
    activation_rms: np.ndarray | None = None

    @classmethod
    def from_records(
        cls,
        layer_names: tuple[str, ...],
        records: list[StepRecord],
        diverged_at: int | None = None,
        stopped_at: int | None = None,
    ) -> History:
        """A history built from the records a ``train`` callback received (``record_every=1``)."""
        return build_history(layer_names, [r.loss for r in records], records, diverged_at, stopped_at)

    @property
    def loss_steps(self) -> np.ndarray:
        """The step of each entry of ``loss``."""
        return np.arange(self.loss_start, self.loss_start + len(self.loss), dtype=np.int64)

    @property
    def final_loss(self) -> float:
        """The last finite loss, or nan if none was finite."""
        finite = self.loss[np.isfinite(self.loss)]
        return float(finite[-1]) if finite.size else float("nan")

    def __repr__(self) -> str:
        status = f"diverged at step {self.diverged_at}" if self.diverged_at is not None else "finite"
        if self.stopped_at is not None:
            status += f", stopped after step {self.stopped_at}"
        if self.skipped:
            status += f", {len(self.skipped)} skipped by the scaler"
        loss = f"{fmt(float(self.loss[0]))} -> {fmt(self.final_loss)}" if self.loss.size else "-"
        span = f"{len(self.loss)} steps" + (f" from step {self.loss_start}" if self.loss_start else "")
        return f"History({span}, {len(self.layer_names)} layers, loss {loss}, {status})"


def build_history(
    names: tuple[str, ...],
    losses: list[float],
    records: list[StepRecord],
    diverged_at: int | None = None,
    stopped_at: int | None = None,
    *,
    skipped: tuple[int, ...] = (),
    loss_start: int = 0,
) -> History:
    """The :class:`History` of a run: its losses (one per step) and its step records.

    Parameters
    ----------
    names : tuple of str
        The layers' names, one per column of the per-layer arrays.
    losses : list of float
        The loss at every step from ``loss_start``.
    records : list of StepRecord
        The recorded steps, in order.
    diverged_at, stopped_at : int, optional
        As in :class:`History`.
    skipped : tuple of int, optional
        The steps a loss scaler skipped; default none.
    loss_start : int, optional
        The step of the first loss; default 0.

    Returns
    -------
    History
    """
    n = len(names)

    def column(attr: str, dtype: type = np.float64) -> np.ndarray:
        return np.asarray([getattr(r, attr) for r in records], dtype=dtype)

    return History(
        layer_names=names,
        loss=np.asarray(losses, dtype=np.float64),
        steps=column("step", np.int64),
        layer_grad_norm=column("layer_grad_norm").reshape(-1, n),
        total_norm_before=column("total_norm_before"),
        total_norm_after=column("total_norm_after"),
        update_ratio=column("update_ratio").reshape(-1, n),
        activation_rms=np.asarray(
            [np.full(n, np.nan) if r.activation_rms is None else r.activation_rms for r in records],
            dtype=np.float64,
        ).reshape(-1, n),
        diverged_at=diverged_at,
        stopped_at=stopped_at,
        skipped=tuple(int(s) for s in skipped),
        loss_start=int(loss_start),
    )
