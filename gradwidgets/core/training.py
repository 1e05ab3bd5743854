"""Training loops that record per-layer gradients, clipping and update sizes at every step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._util import check_choice, check_int, check_positive, fmt
from .losses import LossSpec, compute_loss, prepare_batch, run_forward
from .tracing import PROBED_TYPES

OPTIMIZERS = ("sgd", "adam", "adamw")


@dataclass(frozen=True)
class StepRecord:
    """What ``train`` measured at one recorded step (handed to its callback)."""

    step: int
    loss: float
    layer_grad_norm: np.ndarray
    total_norm_before: float
    total_norm_after: float
    update_ratio: np.ndarray

    def __repr__(self) -> str:
        return (
            f"StepRecord(step={self.step}, loss={fmt(self.loss)}, "
            f"total_norm={fmt(self.total_norm_before)}->{fmt(self.total_norm_after)})"
        )


@dataclass(frozen=True, repr=False)
class History:
    """Everything ``train`` recorded.

    ``loss`` has one entry per step taken. The other arrays have one row per recorded step
    (``steps`` says which); per-layer arrays have one column per layer in ``layer_names``.
    Gradient norms are measured before clipping; ``total_norm_after`` after it.
    ``diverged_at`` is the step whose loss or gradient was non-finite (training stopped there),
    else None. ``stopped_at`` is the step after which a callback asked to stop, else None.
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

    @classmethod
    def from_records(
        cls,
        layer_names: tuple[str, ...],
        records: list[StepRecord],
        diverged_at: int | None = None,
        stopped_at: int | None = None,
    ) -> History:
        """A history built from the records a ``train`` callback received (``record_every=1``)."""
        return _history(layer_names, [r.loss for r in records], records, diverged_at, stopped_at)

    @property
    def final_loss(self) -> float:
        """The last finite loss, or nan if none was finite."""
        finite = self.loss[np.isfinite(self.loss)]
        return float(finite[-1]) if finite.size else float("nan")

    def __repr__(self) -> str:
        status = f"diverged at step {self.diverged_at}" if self.diverged_at is not None else "finite"
        if self.stopped_at is not None:
            status += f", stopped after step {self.stopped_at}"
        loss = f"{fmt(float(self.loss[0]))} -> {fmt(self.final_loss)}" if self.loss.size else "-"
        return f"History({len(self.loss)} steps, {len(self.layer_names)} layers, loss {loss}, {status})"


def tracked_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers a history tracks: ``model.hidden_linears`` if present, else every probed layer."""
    names = {m: n for n, m in model.named_modules()}
    layers = getattr(model, "hidden_linears", None)
    if layers is None:
        layers = [m for m in model.modules() if isinstance(m, PROBED_TYPES)]
    return [(names[m], m) for m in layers]


def _weights(module: nn.Module) -> list[torch.Tensor]:
    return [p for n, p in module.named_parameters(recurse=False) if n.startswith("weight")]


def _make_optimizer(
    name: str, params: list, lr: float, momentum: float, weight_decay: float
) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def train(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    weight_decay: float = 0.0,
    record_every: int = 1,
    callback: Callable[[StepRecord], object] | None = None,
    loss: LossSpec = "mse",
) -> History:
    """Train full-batch on ``(X, y)`` and record what the gradients did.

    Parameters
    ----------
    model : nn.Module
        Trained in place.
    X, y : torch.Tensor
        The training batch (every step uses all of it).
    steps : int
        Number of optimiser steps, >= 1.
    lr : float
        Learning rate, > 0.
    optimizer : {"sgd", "adam", "adamw"}
        ``"adam"`` adds ``weight_decay`` as an L2 term to the gradient; ``"adamw"`` decays
        the weights directly (Loshchilov & Hutter), which is not the same under Adam.
    momentum : float
        SGD momentum, >= 0.
    clip_norm : float, optional
        Rescale the whole gradient so its total norm is at most this (direction kept).
    clip_value : float, optional
        Clamp every gradient entry to [-clip_value, clip_value] (direction may change).
    weight_decay : float
        >= 0; see ``optimizer``.
    record_every : int
        Record per-layer statistics every this many steps (the loss is kept every step).
    callback : callable, optional
        Called with a :class:`StepRecord` at every recorded step; a truthy return stops training.
    loss : {"mse", "cross_entropy"} or callable
        The loss; a callable receives ``(output, y)`` and returns a scalar tensor.

    Returns
    -------
    History
        A non-finite loss or gradient ends training at that step (``diverged_at``); it is
        never raised.
    """
    check_int("steps", steps, 1)
    lr = check_positive("lr", lr)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    momentum = check_positive("momentum", momentum, allow_zero=True)
    weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True)
    check_int("record_every", record_every, 1)
    if clip_norm is not None:
        clip_norm = check_positive("clip_norm", clip_norm)
    if clip_value is not None:
        clip_value = check_positive("clip_value", clip_value)
    if momentum and optimizer != "sgd":
        raise ValueError(f"momentum={momentum!r} applies to optimizer='sgd' only, not {optimizer!r}")
    X, y = prepare_batch(model, X, y)
    if not callable(loss):
        check_choice("loss", loss, ("mse", "cross_entropy"))

    layers = tracked_layers(model)
    params = [p for p in model.parameters() if p.requires_grad]
    position = {id(p): i for i, p in enumerate(params)}
    tracked = [[position[id(w)] for w in _weights(m) if id(w) in position] for _, m in layers]
    flat_w = [params[i] for group in tracked for i in group]
    grouping = _Grouping([len(g) for g in tracked])
    order = np.array([i for g in tracked for i in g], dtype=np.int64)
    opt = _make_optimizer(optimizer, params, lr, momentum, weight_decay)
    before = [w.detach().clone() for w in flat_w]  # reused buffer for update sizes

    losses: list[float] = []
    records: list[StepRecord] = []
    diverged_at = stopped_at = None
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        value = compute_loss(loss, run_forward(model, X), y)
        losses.append(float(value.detach()))
        if not np.isfinite(losses[-1]):
            diverged_at = step
            break
        value.backward()
        record = step % record_every == 0
        grads = [p.grad if p.grad is not None else p.new_zeros(()) for p in params]
        # one batched call: every gradient's norm, and (when recording) the weights before the step
        norms = _norms(grads + flat_w if record else grads)
        grad_norms, w_norms = norms[: len(params)], norms[len(params) :]
        total = float(np.sqrt(np.sum(grad_norms**2)))
        layer_g = grouping(grad_norms[order]) if record else None
        if not np.isfinite(total):
            diverged_at = step
            if record:
                records.append(
                    StepRecord(step, losses[-1], layer_g, total, total, np.full(len(layers), np.nan))
                )
            break
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_norm)
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(params, clip_value)
        total_after = total
        if clip_norm is not None or clip_value is not None:
            total_after = float(np.linalg.norm(_norms([p.grad for p in params if p.grad is not None])))
        with torch.no_grad():
            if record and flat_w:
                torch._foreach_copy_(before, flat_w)
            opt.step()
        if not record:
            continue
        with torch.no_grad():
            torch._foreach_sub_(before, flat_w)  # before - after: this step's update
            delta = _norms(before)
        with np.errstate(divide="ignore", invalid="ignore"):  # a zero weight has no ratio: nan
            w_group = grouping(w_norms)
            ratio = np.where(w_group > 0, grouping(delta) / np.where(w_group > 0, w_group, 1.0), np.nan)
        records.append(StepRecord(step, losses[-1], layer_g, total, total_after, ratio))
        if callback is not None and callback(records[-1]):
            stopped_at = step
            break
    return _history(tuple(n for n, _ in layers), losses, records, diverged_at, stopped_at)


def _norms(tensors: list[torch.Tensor]) -> np.ndarray:
    """The norm of each tensor, in one batched call."""
    if not tensors:
        return np.zeros(0)
    with torch.no_grad():
        return torch.stack(torch._foreach_norm(tensors)).double().numpy()


class _Grouping:
    """Norms of consecutive groups of tensors from the norms of their members."""

    def __init__(self, sizes: list[int]):
        self.starts = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        self.empty = np.array(sizes) == 0
        self.single = all(n == 1 for n in sizes)  # one weight a layer: the norms are the layers'

    def __call__(self, norms: np.ndarray) -> np.ndarray:
        if self.single:
            return norms.copy()
        if norms.size == 0:
            return np.full(len(self.starts), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.sqrt(np.add.reduceat(norms**2, np.minimum(self.starts, norms.size - 1)))
        out[self.empty] = np.nan
        return out


def _history(
    names: tuple[str, ...],
    losses: list[float],
    records: list[StepRecord],
    diverged_at: int | None,
    stopped_at: int | None,
) -> History:
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
        diverged_at=diverged_at,
        stopped_at=stopped_at,
    )
