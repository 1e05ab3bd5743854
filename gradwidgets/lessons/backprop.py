"""Backpropagation by hand through a 2-2-1 network, small enough to follow every number.

The network is ``z1 = W1 x + b1``, ``h1 = tanh(z1)``, ``yhat = W2 h1 + b2`` with the loss
``L = (yhat - y)^2 / 2`` on one example. :func:`manual_backprop` applies the chain rule step
by step with plain tensor arithmetic (no autograd), so its numbers can be checked against
``torch.autograd.grad`` on :func:`tiny_loss`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

Tensor = torch.Tensor
PARAMETER_NAMES = ("W1", "b1", "W2", "b2")


def _t(values) -> Tensor:
    return torch.tensor(values, dtype=torch.float64)


def _fmt(t: Tensor) -> str:
    """A tensor's numbers with 4 significant digits: a scalar, [a, b] or [[a, b], [c, d]]."""
    if t.dim() == 0 or t.numel() == 1:
        return f"{float(t):.4g}"
    if t.dim() == 1:
        return "[" + ", ".join(f"{float(v):.4g}" for v in t) + "]"
    return "[" + ", ".join(_fmt(row) for row in t) + "]"


def tiny_loss(x: Tensor, y: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    """The loss (yhat - y)^2 / 2 of the 2-2-1 tanh network, in torch operations autograd can follow."""
    yhat = W2 @ torch.tanh(W1 @ x + b1) + b2
    return 0.5 * ((yhat - y) ** 2).sum()


@dataclass(frozen=True)
class TinyNet:
    """The parameters of a 2-2-1 network: ``W1`` (2x2), ``b1`` (2), ``W2`` (1x2), ``b2`` (1)."""

    W1: Tensor
    b1: Tensor
    W2: Tensor
    b2: Tensor

    def parameters(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(W1, b1, W2, b2)``, in the order :func:`tiny_loss` takes them."""
        return self.W1, self.b1, self.W2, self.b2

    def loss(self, x: Tensor, y: Tensor) -> float:
        """The loss on one example."""
        return float(tiny_loss(x, y, *self.parameters()))

    def step(self, grads: Backprop, lr: float) -> TinyNet:
        """The network after one gradient-descent step, ``p <- p - lr * dL/dp`` for every parameter."""
        new = [p - lr * g for p, g in zip(self.parameters(), grads.grads, strict=True)]
        return TinyNet(*new)

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={_fmt(p)}" for n, p in zip(PARAMETER_NAMES, self.parameters(), strict=True))
        return f"TinyNet({parts})"


def tiny_example() -> tuple[TinyNet, Tensor, Tensor]:
    """The chapter's network (biases start at 0), one input ``x`` and its target ``y``."""
    net = TinyNet(W1=_t([[0.6, -0.2], [0.3, 0.8]]), b1=_t([0.0, 0.0]), W2=_t([[1.0, -0.5]]), b2=_t([0.0]))
    return net, _t([1.0, 2.0]), _t([1.0])


@dataclass(frozen=True)
class ChainProduct:
    """One weight's gradient written as the product of the local derivatives along its path."""

    weight: str
    factors: tuple[tuple[str, float], ...]

    @property
    def value(self) -> float:
        """The product of the factors."""
        out = 1.0
        for _, f in self.factors:
            out *= f
        return out

    def __repr__(self) -> str:
        names = " · ".join(name for name, _ in self.factors)
        numbers = " · ".join(f"({f:.4g})" for _, f in self.factors)
        return f"dL/d{self.weight} = {names}\n{' ' * (len(self.weight) + 4)} = {numbers} = {self.value:.4g}"


@dataclass(frozen=True, repr=False)
class Backprop:
    """Every intermediate value of one forward and one backward pass through the tiny network.

    ``grad_<name>`` is dL/d<name>, ``slope`` is tanh'(z1) and ``delta1`` is dL/dz1.
    """

    net: TinyNet
    x: Tensor
    y: Tensor
    z1: Tensor
    h1: Tensor
    yhat: Tensor
    loss: float
    grad_yhat: Tensor
    grad_w2: Tensor
    grad_b2: Tensor
    grad_h1: Tensor
    slope: Tensor
    delta1: Tensor
    grad_w1: Tensor
    grad_b1: Tensor

    @property
    def grads(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(dL/dW1, dL/db1, dL/dW2, dL/db2)``, in the order of :meth:`TinyNet.parameters`."""
        return self.grad_w1, self.grad_b1, self.grad_w2, self.grad_b2

    def chain(self, i: int, j: int) -> ChainProduct:
        """dL/dW1[i, j] as the product dL/dyhat · dyhat/dh1[i] · dh1[i]/dz1[i] · dz1[i]/dW1[i, j]."""
        return ChainProduct(
            f"W1[{i},{j}]",
            (
                ("dL/dŷ", float(self.grad_yhat[0])),
                (f"dŷ/dh1[{i}]", float(self.net.W2[0, i])),
                (f"dh1[{i}]/dz1[{i}]", float(self.slope[i])),
                (f"dz1[{i}]/dW1[{i},{j}]", float(self.x[j])),
            ),
        )

    def max_abs_diff(self, other: tuple[Tensor, ...]) -> float:
        """The largest absolute difference between these gradients and ``other`` (e.g. autograd's)."""
        return max(float((a - b).abs().max()) for a, b in zip(self.grads, other, strict=True))

    def __repr__(self) -> str:
        rows = [
            ("forward", None, None),
            ("z1 = W1 x + b1", self.z1, None),
            ("h1 = tanh(z1)", self.h1, None),
            ("ŷ = W2 h1 + b2", self.yhat, None),
            ("L = (ŷ - y)² / 2", None, f"{self.loss:.4g}"),
            ("backward, output to input", None, None),
            ("dL/dŷ = ŷ - y", self.grad_yhat, None),
            ("dL/dW2 = dL/dŷ · h1ᵀ", self.grad_w2, None),
            ("dL/db2 = dL/dŷ", self.grad_b2, None),
            ("dL/dh1 = W2ᵀ dL/dŷ", self.grad_h1, None),
            ("f'(z1) = 1 - tanh²(z1)", self.slope, None),
            ("dL/dz1 = f'(z1) ⊙ dL/dh1", self.delta1, None),
            ("dL/dW1 = dL/dz1 · xᵀ", self.grad_w1, None),
            ("dL/db1 = dL/dz1", self.grad_b1, None),
        ]
        width = max(len(r[0]) for r in rows if r[1] is not None or r[2] is not None)
        lines = [f"Backprop(x={_fmt(self.x)}, y={_fmt(self.y)})"]
        for label, tensor, text in rows:
            if tensor is None and text is None:
                lines.append(f"  {label}")
            else:
                lines.append(f"    {label:<{width}}  = {text if text is not None else _fmt(tensor)}")
        return "\n".join(lines)


def manual_backprop(net: TinyNet, x: Tensor, y: Tensor) -> Backprop:
    """Forward and backward pass of the tiny network by the chain rule, without autograd.

    Parameters
    ----------
    net : TinyNet
        The parameters.
    x : torch.Tensor
        One input, shape (2,).
    y : torch.Tensor
        Its target, shape (1,).

    Returns
    -------
    Backprop
        The forward values, each local derivative and the four parameter gradients.
    """
    with torch.no_grad():
        W1, b1, W2, b2 = net.parameters()
        z1 = W1 @ x + b1
        h1 = torch.tanh(z1)
        yhat = W2 @ h1 + b2
        grad_yhat = yhat - y  # d/dŷ of (ŷ - y)² / 2
        grad_h1 = W2.T @ grad_yhat  # ŷ = W2 h1 + b2, so dŷ/dh1 = W2
        slope = 1 - torch.tanh(z1) ** 2  # tanh'(z)
        delta1 = slope * grad_h1  # elementwise: h1[i] depends on z1[i] only
        return Backprop(
            net=net,
            x=x,
            y=y,
            z1=z1,
            h1=h1,
            yhat=yhat,
            loss=float(0.5 * ((yhat - y) ** 2).sum()),
            grad_yhat=grad_yhat,
            grad_w2=torch.outer(grad_yhat, h1),
            grad_b2=grad_yhat.clone(),
            grad_h1=grad_h1,
            slope=slope,
            delta1=delta1,
            grad_w1=torch.outer(delta1, x),
            grad_b1=delta1.clone(),
        )
