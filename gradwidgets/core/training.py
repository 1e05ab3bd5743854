"""Training loops that record per-layer gradients, clipping and update sizes at every step."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .checks import check_choice, check_int, check_model, check_positive, check_trainable
from .history import History, StepRecord, build_history
from .layers import reported_layers
from .limits import MAX_CLIP, MAX_RATE, MAX_STEPS, check_pass, history_bytes, param_bytes
from .losses import Loss, LossSpec, check_loss, prepare_batch
from .norms import group_norms, tensor_norms
from .state import kept

__all__ = ["OPTIMIZERS", "History", "StepRecord", "train"]

OPTIMIZERS = ("sgd", "adam", "adamw")


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
    loss: LossSpec | None = None,
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
    loss : {"mse", "cross_entropy"}, callable or None
        The loss, as in :func:`gradient_profile` (default: the model's own loss, else
        cross-entropy for integer labels, else MSE).

    Returns
    -------
    History
        A non-finite loss or gradient ends training at that step (``diverged_at``); it is
        never raised.

    Raises
    ------
    ValueError
        On bad arguments (``steps`` up to :data:`MAX_STEPS`, ``lr`` and ``weight_decay`` up to
        :data:`MAX_RATE`), a model with no trainable parameter, a loss that does not depend on
        the parameters, or a run too large for :func:`.checks.max_bytes`. Whatever is raised
        (also ``KeyboardInterrupt``), the model's parameters, ``.grad``, buffers, modes and the
        global random state are restored to what they were before the call: a returned
        History means the model was trained; an exception, that it was not touched.
    """
    check_model("model", model)
    check_trainable("model", model)
    steps = check_int("steps", steps, 1, MAX_STEPS)
    lr = check_positive("lr", lr, maximum=MAX_RATE)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    momentum = check_positive("momentum", momentum, allow_zero=True)
    weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True, maximum=MAX_RATE)
    record_every = check_int("record_every", record_every, 1)
    if clip_norm is not None:
        clip_norm = check_positive("clip_norm", clip_norm, maximum=MAX_CLIP)
    if clip_value is not None:
        clip_value = check_positive("clip_value", clip_value, maximum=MAX_CLIP)
    if momentum and optimizer != "sgd":
        raise ValueError(f"momentum={momentum!r} applies to optimizer='sgd' only, not {optimizer!r}")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be a callable taking a StepRecord, got {type(callback).__name__}")
    check_loss("loss", loss)
    X, y = prepare_batch(model, X, y)
    layers = reported_layers(model)
    # per parameter: its gradient, the update buffer, the copy kept in case of failure, and the
    # optimiser's state (momentum: 1, Adam: 2); per step a loss, per recorded step a record
    copies = 3 + (2 if optimizer != "sgd" else 1 if momentum else 0)
    extra = copies * param_bytes(model) + history_bytes(steps, record_every, len(layers))
    check_pass(f"train(steps={steps}, record_every={record_every})", model, X, copies=3, extra=extra)

    def make_opt(params: list) -> torch.optim.Optimizer:
        return _make_optimizer(optimizer, params, lr, momentum, weight_decay)

    with torch.enable_grad(), kept(model, values=True, on_error_only=True):
        run = Loss(loss, "loss")
        return _train(
            model, X, y, layers, run, steps, record_every, callback, (clip_norm, clip_value), make_opt
        )


def _train(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    layers: list,
    loss: Loss,
    steps: int,
    record_every: int,
    callback: Callable[[StepRecord], object] | None,
    clip: tuple[float | None, float | None],
    make_opt: Callable[[list], torch.optim.Optimizer],
) -> History:
    """The loop of :func:`train`, on checked arguments."""
    clip_norm, clip_value = clip
    params = [p for p in model.parameters() if p.requires_grad]
    position = {id(p): i for i, p in enumerate(params)}
    tracked = [[position[id(w)] for w in lr.weights if id(w) in position] for lr in layers]
    sizes = [len(g) for g in tracked]
    flat_w = [params[i] for group in tracked for i in group]
    order = np.array([i for g in tracked for i in g], dtype=np.int64)
    opt = make_opt(params)
    before = [w.detach().clone() for w in flat_w]  # reused buffer for update sizes

    def per_layer(values: np.ndarray) -> np.ndarray:  # a layer without trainable weight: nan
        return group_norms(values, sizes, empty=np.nan).copy()

    losses: list[float] = []
    records: list[StepRecord] = []
    diverged_at = stopped_at = None
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        value = loss(loss.forward(model, X, y), y)
        losses.append(float(value.detach()))
        if not np.isfinite(losses[-1]):
            diverged_at = step
            break
        value.backward()
        record = step % record_every == 0
        have = [i for i, p in enumerate(params) if p.grad is not None]  # the others count as 0
        # one batched call: every gradient's norm, and (when recording) the weights before the step
        norms = tensor_norms([params[i].grad for i in have] + (flat_w if record else []))
        grad_norms = np.zeros(len(params))
        grad_norms[have] = norms[: len(have)]
        w_norms = norms[len(have) :]
        total = float(np.sqrt(np.sum(grad_norms**2)))
        layer_g = per_layer(grad_norms[order]) if record else None
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
            total_after = float(np.linalg.norm(tensor_norms([p.grad for p in params if p.grad is not None])))
        with torch.no_grad():
            if record and flat_w:
                torch._foreach_copy_(before, flat_w)
            opt.step()
        if not record:
            continue
        with torch.no_grad():
            torch._foreach_sub_(before, flat_w)  # before - after: this step's update
            delta = tensor_norms(before)
        with np.errstate(divide="ignore", invalid="ignore"):  # a zero weight has no ratio: nan
            w_group = per_layer(w_norms)
            ratio = np.where(w_group > 0, per_layer(delta) / np.where(w_group > 0, w_group, 1.0), np.nan)
        records.append(StepRecord(step, losses[-1], layer_g, total, total_after, ratio))
        if callback is not None and callback(records[-1]):
            stopped_at = step
            break
    return build_history(tuple(lr.name for lr in layers), losses, records, diverged_at, stopped_at)
