"""Explorer of the learning rate: too small, right, too large, on a loss with one weight."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..core.training import StepRecord, train
from ..plots import (
    descent_exit_columns,
    descent_path_columns,
    descent_training_figure,
    divergence_columns,
    loss_columns,
    loss_curve_columns,
    norm_columns,
)
from ..widgets.explorer import Explorer, Result
from ._args import MAX_STEPS, FactoryArgs, ints, positives
from ._common import control

W_START = -1.0
W_TRUE = 2.0


def one_weight_problem(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Data for y = 2x + noise, with x scaled so mean(x^2) = 1: the loss curvature is exactly 2."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, generator=g)
    x = x / x.pow(2).mean().sqrt()
    return x, W_TRUE * x + 0.3 * torch.randn(n, 1, generator=g)


def curvature(x: torch.Tensor) -> float:
    """d^2L/dw^2 of L(w) = mean((w x - y)^2): 2 mean(x^2)."""
    return float(2 * x.pow(2).mean())


def regime(lr: float, c: float) -> str:
    """What theory predicts for gradient descent with step ``lr`` on curvature ``c``."""
    k = lr * c
    if k < 0.2:
        return "each step shrinks the error only a little: slow"
    if k <= 1.0:
        return "the error shrinks fast without overshooting"
    if k < 2.0:
        return "each step overshoots the minimum, but by less each time: oscillates, then converges"
    return "each step overshoots by more than it corrects: diverges"


def learning_rate(
    lrs: Sequence[float] = (0.02, 0.2, 0.5, 0.9, 1.05), steps: int = 25, **defaults
) -> Explorer:
    """Gradient descent on L(w) = mean((w x - y)^2) with one weight, for several learning rates.

    Parameters
    ----------
    lrs : sequence of float
        Learning rates offered; with this data the curvature is 2, so lr 0.5 lands on the
        minimum in one step and lr above 1 diverges.
    steps : int
        Steps of plain gradient descent (real autograd on a ``nn.Linear(1, 1)``).
    **defaults
        ``lr``: the starting learning rate.

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(learning_rate)
    lrs = args.choices("lrs", lrs, positives())
    args.value("steps", steps, ints(1, MAX_STEPS))
    args.defaults(defaults, lr=lrs)
    x, y = one_weight_problem()
    c = curvature(x)
    grid = torch.linspace(W_TRUE - 3.5, W_TRUE + 3.5, 141)
    with torch.no_grad():
        curve_loss = ((grid[:, None] * x.T - y.T) ** 2).mean(dim=1)
    view = (float(grid[0]), float(grid[-1]), float(curve_loss.max()))  # the plot shows the curve's box
    controls = (control("lr", "Learning rate", lrs, defaults, lrs[min(1, len(lrs) - 1)]),)

    def compute(cfg, emit):
        model = nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            model.weight.fill_(W_START)
        ws = [W_START]

        def record(rec: StepRecord) -> bool:
            ws.append(float(model.weight.detach()))
            return False

        history = train(model, x, y, steps, cfg["lr"], callback=record)
        with torch.no_grad():
            losses = [float(((w * x - y) ** 2).mean()) for w in ws]
        exit = descent_exit_columns(ws, losses, view)
        left = f" It leaves the plot at step {int(exit['step'][0])}." if exit["step"].size else ""
        status = (
            f"lr × curvature = {cfg['lr'] * c:.2f}: {regime(cfg['lr'], c)}.{left} "
            f"Final w = {ws[-1]:.4g} after {steps} steps (best ≈ {W_TRUE})."
        )
        data = {
            "curve": loss_curve_columns(grid.numpy(), curve_loss.numpy()),
            "path": descent_path_columns(np.array(ws), np.array(losses)),
            "exit": exit,
            "loss": loss_columns(history),
            "norms": norm_columns(history),
            "diverged": divergence_columns(history),
        }
        return Result(data, status, problem=cfg["lr"] * c >= 2.0)

    def figures(sources):
        return descent_training_figure(
            sources["curve"],
            sources["path"],
            sources["loss"],
            sources["norms"],
            sources["diverged"],
            exit_source=sources["exit"],
            clipping=False,
        )

    return Explorer("learning-rate", "Learning rate: too small, right, too large", controls, compute, figures)
