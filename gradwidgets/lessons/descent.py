"""Gradient descent on a loss with one weight, where theory predicts every step.

:func:`one_weight_descent` runs gradient descent (:func:`gradwidgets.train`, real autograd) on
``L(w) = s * mean((w x - y)^2)``, whose curvature ``L''(w) = 2 s mean(x^2)`` is known exactly,
so each step's error can be predicted: it is multiplied by ``1 - lr L''`` at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core.training import train

Tensor = torch.Tensor


@dataclass(frozen=True, repr=False)
class DescentRun:
    """Gradient descent on ``L(w) = loss_scale * mean((w x - y)^2)``: the path and what theory predicts.

    ``path`` holds w before the first step and after every step; ``first_grad`` is |dL/dw| at
    the start. With curvature c, each step multiplies the error ``w - w_best`` by ``1 - lr c``.
    """

    lr: float
    loss_scale: float
    curvature: float
    w_best: float
    path: np.ndarray
    first_grad: float

    @property
    def factor(self) -> float:
        """``1 - lr * curvature``: what one step multiplies the error by."""
        return 1.0 - self.lr * self.curvature

    @property
    def errors(self) -> np.ndarray:
        """``w - w_best`` before the first step and after each step."""
        return self.path - self.w_best

    @property
    def predicted_errors(self) -> np.ndarray:
        """``errors[0] * factor ** t``: the errors the quadratic's theory predicts."""
        return self.errors[0] * self.factor ** np.arange(len(self.path))

    def __repr__(self) -> str:
        e = self.errors
        shown = ", ".join(f"{v:.3g}" for v in e[:6])
        return (
            f"DescentRun(lr={self.lr:g}, loss × {self.loss_scale:g}: curvature {self.curvature:.3g}, "
            f"lr × curvature = {self.lr * self.curvature:.3g}, error × {self.factor:.3g} per step)\n"
            f"  first |dL/dw| = {self.first_grad:.3g}\n"
            f"  w - w_best: {shown}, ... → {e[-1]:.3g} after {len(e) - 1} steps"
        )


def one_weight_descent(
    x: Tensor, y: Tensor, lr: float, steps: int = 25, loss_scale: float = 1.0, w0: float = -1.0
) -> DescentRun:
    """Plain gradient descent on one weight, ``L(w) = loss_scale * mean((w x - y)^2)``.

    Parameters
    ----------
    x, y : torch.Tensor
        Inputs and targets, shape ``(n, 1)`` (e.g. from ``one_weight_problem()``).
    lr : float
        The learning rate.
    steps : int
        Number of steps.
    loss_scale : float
        Multiplies the loss, and with it the gradient and the curvature; not the minimum.
    w0 : float
        The starting weight.

    Returns
    -------
    DescentRun
    """
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(w0)
    path = [w0]

    def record(_):
        path.append(float(model.weight.detach()))

    history = train(
        model,
        x,
        y,
        steps,
        lr,
        loss=lambda out, t: loss_scale * nn.functional.mse_loss(out, t),
        callback=record,
    )
    xd, yd = x.double(), y.double()
    return DescentRun(
        lr=float(lr),
        loss_scale=float(loss_scale),
        curvature=float(2 * loss_scale * xd.pow(2).mean()),
        w_best=float((xd * yd).sum() / xd.pow(2).sum()),
        path=np.array(path),
        first_grad=float(history.total_norm_before[0]),
    )
