"""Training in mixed precision on CPU: fp16 autocast with no, static or dynamic loss scaling, bf16.

:func:`train_mixed` is full-batch training whose forward and backward run under
``torch.autocast("cpu", dtype=...)`` while the weights stay in float32 (the master copy), or,
with ``precision="bfloat16-weights"``, with the weights themselves in bfloat16. Loss scaling is
none, static (the loss times ``scale``, the gradients divided by it) or dynamic with
``torch.amp.GradScaler("cpu")``. A :func:`gradwidgets.watch` with the scaler records the
unscaled gradient norms and the steps the scaler skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core.checks import check_choice, check_int, check_positive
from ..core.history import History
from ..core.losses import LossSpec, compute_loss, prepare_batch
from ..core.outputs import run_forward
from ..core.watcher import Watch

PRECISIONS = ("float32", "float16", "bfloat16", "bfloat16-weights")
"""float32; fp16 or bf16 autocast with float32 weights; bf16 weights with no float32 copy."""
SCALINGS = ("none", "static", "dynamic")


@dataclass(frozen=True)
class MixedRun:
    """One mixed-precision run, step by step.

    ``loss`` is the (unscaled) loss of every step taken; ``scale`` the loss scale each backward
    pass ran with (1 without scaling); ``zero_share`` (steps, layers) the share of each layer's
    weight-gradient entries that were exactly 0; ``first_layer_change`` ||W_1 - W_1(0)|| /
    ||W_1(0)|| after the run; ``history`` what the watch recorded (unscaled norms, ``skipped``);
    ``diverged_at`` the step whose update left a non-finite weight, else None.
    """

    precision: str
    scaling: str
    loss: np.ndarray
    scale: np.ndarray
    zero_share: np.ndarray
    first_layer_change: float
    history: History
    diverged_at: int | None

    @property
    def skipped(self) -> tuple[int, ...]:
        """The steps the scaler skipped (their gradients overflowed); none without a scaler."""
        return self.history.skipped if self.scaling == "dynamic" else ()

    def __repr__(self) -> str:
        end = f"diverged at step {self.diverged_at}" if self.diverged_at is not None else "finite"
        return (
            f"MixedRun({self.precision}, scaling={self.scaling}, {len(self.loss)} steps, "
            f"loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}, {len(self.skipped)} skipped, {end})"
        )


@dataclass(frozen=True)
class _Static:
    """A fixed loss scale, in the form a watch reads a scaler's."""

    scale: float

    def get_scale(self) -> float:
        return self.scale


def _autocast_dtype(precision: str):
    return {"float16": torch.float16, "bfloat16": torch.bfloat16}.get(precision)


def train_mixed(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
    precision: str = "float16",
    scaling: str = "dynamic",
    scale: float = 2.0**16,
    growth_interval: int = 20,
    loss: LossSpec = "mse",
    optimizer: str = "adam",
    callback: Callable[[MixedRun], object] | None = None,
    callback_every: int = 1,
) -> MixedRun:
    """Train ``model`` full-batch in mixed precision and record what the loss scaling did.

    Parameters
    ----------
    model : nn.Module
        Trained in place (cast to bfloat16 with ``precision="bfloat16-weights"``).
    X, y : torch.Tensor
        The batch.
    steps : int
        Optimiser steps, >= 1.
    lr : float
        The learning rate, > 0.
    precision : {"float32", "float16", "bfloat16", "bfloat16-weights"}
        See :data:`PRECISIONS`.
    scaling : {"none", "static", "dynamic"}
        Loss scaling: none, ``scale`` throughout, or a ``GradScaler`` starting at ``scale``
        (halved after an overflow, whose step it skips; doubled after ``growth_interval``
        steps without one).
    scale : float
        The (initial) loss scale, from 1 to 2^64.
    growth_interval : int
        The scaler's ``growth_interval`` (torch's default is 2000; short runs need fewer).
    loss : {"mse", "cross_entropy"} or callable
        The loss.
    optimizer : {"adam", "sgd"}
        Adam, or plain SGD (no momentum).
    callback : callable, optional
        Called with the run so far every ``callback_every`` steps; a true return stops training.
    callback_every : int
        >= 1.

    Returns
    -------
    MixedRun
    """
    precision = check_choice("precision", precision, PRECISIONS)
    scaling = check_choice("scaling", scaling, SCALINGS)
    steps, lr = check_int("steps", steps, 1, 100_000), check_positive("lr", lr, maximum=1e6)
    scale = check_positive("scale", scale, maximum=2.0**64) if scaling != "none" else 1.0
    growth_interval = check_int("growth_interval", growth_interval, 1)
    callback_every = check_int("callback_every", callback_every, 1)
    make = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[
        check_choice("optimizer", optimizer, ("adam", "sgd"))
    ]
    X, y = prepare_batch(model, X, y)
    if precision == "bfloat16-weights":
        model.to(torch.bfloat16)
        X = X.to(torch.bfloat16)
    dtype = _autocast_dtype(precision)
    scaler = torch.amp.GradScaler("cpu", init_scale=scale, growth_interval=growth_interval)
    scaler = scaler if scaling == "dynamic" else None
    optimizer = make(model.parameters(), lr=lr)
    first = next(w for w in model.parameters() if w.dim() >= 2)
    start = first.detach().double().clone()
    losses, scales, zeros, diverged = [], [], [], None
    # the watch divides by the scale each pass ran with: the scaler's, or the static one
    with Watch(model, scaler=scaler or _Static(scale)) as watch:
        weights = [p for p in model.parameters() if p.dim() >= 2]

        def run() -> MixedRun:
            change = float((first.detach().double() - start).norm() / start.norm())
            return MixedRun(
                precision, scaling, np.array(losses), np.array(scales),
                np.array(zeros).reshape(-1, len(weights)), change, watch.history(), diverged,
            )  # fmt: skip

        for step in range(steps):
            optimizer.zero_grad()
            with torch.autocast("cpu", dtype=dtype or torch.float16, enabled=dtype is not None):
                output = run_forward(model, X)
            value = compute_loss(loss, output.float(), y)
            watch.log_loss(value)
            losses.append(float(value.detach()))
            current = scaler.get_scale() if scaler is not None else scale
            scales.append(float(current))
            (scaler.scale(value) if scaler is not None else value * current).backward()
            zeros.append([float((w.grad == 0).double().mean()) for w in weights])
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                for p in model.parameters():
                    p.grad.div_(current)
                optimizer.step()
            if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
                diverged = step
                break
            if callback is not None and (step + 1) % callback_every == 0 and callback(run()):
                break
    return run()
