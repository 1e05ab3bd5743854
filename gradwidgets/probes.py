"""One forward/backward pass measured layer by layer, through hooks, on any nn.Module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._util import fmt, format_table
from .actstats import activation_stats
from .losses import LossSpec, compute_loss, prepare_batch, run_forward
from .tracing import trace_forward


@dataclass(frozen=True, repr=False)
class GradientProfile:
    """Per-layer gradient and activation statistics from one forward/backward pass.

    Every array has one entry per probed layer, input to output. ``activations`` names the
    activation found after each layer (``"?"`` when none was identified). ``time_grad_norm``
    holds ||dL/dh_t|| per time step for a recurrent cell run step by step, else None.
    """

    layer_names: tuple[str, ...]
    activations: tuple[str, ...]
    weight_grad_norm: np.ndarray
    weight_norm: np.ndarray
    grad_to_weight: np.ndarray
    act_grad_norm: np.ndarray
    act_mean: np.ndarray
    act_std: np.ndarray
    saturation: np.ndarray
    dead_fraction: np.ndarray
    loss: float
    time_grad_norm: np.ndarray | None = None

    @property
    def first_last_ratio(self) -> float:
        """||dL/dW|| of the first probed layer over that of the last."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(self.weight_grad_norm[0] / self.weight_grad_norm[-1])

    @property
    def finite(self) -> bool:
        """True when the loss and every gradient norm are finite."""
        return bool(np.isfinite(self.loss) and np.isfinite(self.weight_grad_norm).all())

    def __len__(self) -> int:
        return len(self.layer_names)

    def __repr__(self) -> str:
        header = ["layer", "act", "|dL/dW|", "|dL/dh|", "h mean", "h std", "saturated", "dead", "grad/weight"]
        rows = [
            [
                self.layer_names[i],
                self.activations[i],
                fmt(self.weight_grad_norm[i]),
                fmt(self.act_grad_norm[i]),
                fmt(self.act_mean[i]),
                fmt(self.act_std[i]),
                _pct(self.saturation[i]),
                _pct(self.dead_fraction[i]),
                fmt(self.grad_to_weight[i]),
            ]
            for i in range(len(self))
        ]
        extra = f", {len(self.time_grad_norm)} time steps" if self.time_grad_norm is not None else ""
        return f"GradientProfile(loss={fmt(self.loss)}{extra})\n" + format_table(header, rows)


def _pct(x: float) -> str:
    return "n/a" if np.isnan(x) else f"{100 * x:.0f}%"


def norms(groups: list[list[torch.Tensor | None]]) -> np.ndarray:
    """The norm of each group of tensors taken together (None counts as zero), batched.

    A float32 norm under- or overflows beyond about 1e-19 and 1e19 even when every entry is
    finite: such results (0 or inf) are recomputed in float64.
    """
    flat = [t.detach() for ts in groups for t in ts if t is not None]
    values = torch.stack(torch._foreach_norm(flat)).double() if flat else torch.zeros(0, dtype=torch.float64)
    for i in torch.nonzero((values == 0) | ~torch.isfinite(values)).flatten().tolist():
        values[i] = torch.linalg.vector_norm(flat[i].double())
    sq = iter((values**2).tolist())
    return np.sqrt([sum(next(sq) for t in ts if t is not None) for ts in groups])


def _saved_buffers(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every buffer (batch-norm statistics, spectral-norm vectors, ...) with a copy to restore."""
    return [(b, b.detach().clone()) for b in model.buffers()]


def gradient_profile(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss: LossSpec = "mse",
    layers: Sequence[nn.Module] | None = None,
) -> GradientProfile:
    """Measure gradients and activations layer by layer in one forward/backward pass.

    No optimiser step is taken, and the model's parameters, their ``.grad`` and its buffers
    (batch-norm running statistics) are left as they were.

    Parameters
    ----------
    model : nn.Module
        Any module containing Linear, Conv, RNN or MultiheadAttention layers.
    X, y : torch.Tensor
        A batch of inputs and targets with the same first dimension.
    loss : {"mse", "cross_entropy"} or callable
        The loss; a callable receives ``(output, y)`` and returns a scalar tensor.
    layers : sequence of nn.Module, optional
        The layers to report, in order. Default: ``model.hidden_linears`` when the model has
        it (as :func:`build_mlp` models do), else every Linear/Conv/RNN/attention layer in
        call order.

    Returns
    -------
    GradientProfile
        Non-finite values are reported as they are, not raised.
    """
    X, y = prepare_batch(model, X, y)
    if layers is None and hasattr(model, "hidden_linears"):
        layers = model.hidden_linears
    saved = _saved_buffers(model)
    try:
        output, traces = trace_forward(model, X, run_forward, layers)
        value = compute_loss(loss, output, y)
        if not traces:
            raise ValueError(
                "layers: no Linear, Conv, RNN or attention layer of the model ran in the forward pass"
            )
        weights = [w for tr in traces for w in tr.weights if w.requires_grad]
        hs = [h for tr in traces for h in tr.hs if h.requires_grad]
        grads = torch.autograd.grad(value, weights + hs, allow_unused=True) if value.requires_grad else []
    finally:  # batch norm (say) updated its buffers in the forward pass: undo that
        with torch.no_grad():
            for buf, copy in saved:
                buf.copy_(copy)
    grad_of = dict(zip(map(id, weights + hs), grads, strict=False))
    w_grads = [[grad_of.get(id(w)) for w in tr.weights] for tr in traces]
    h_grads = [[grad_of.get(id(h)) for h in tr.hs] for tr in traces]
    cell = next((i for i, tr in enumerate(traces) if isinstance(tr.module, nn.RNNCellBase)), None)
    time_groups = [] if cell is None else [[g] for g in h_grads[cell]]
    n = len(traces)  # every norm in one batched call: weight grads, weights, dL/dh, dL/dh_t
    all_norms = norms(w_grads + [tr.weights for tr in traces] + h_grads + time_groups)
    wgn, wn, hgn = all_norms[:n], all_norms[n : 2 * n], all_norms[2 * n : 3 * n]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(wn > 0, wgn / np.where(wn > 0, wn, 1.0), np.nan)
    return GradientProfile(
        layer_names=tuple(tr.name for tr in traces),
        activations=tuple(tr.activation.name if tr.activation else "?" for tr in traces),
        weight_grad_norm=wgn,
        weight_norm=wn,
        grad_to_weight=ratio,
        act_grad_norm=hgn,
        loss=float(value.detach()),
        time_grad_norm=None if cell is None else all_norms[3 * n :],
        **activation_stats(traces),
    )
