"""One forward/backward pass measured layer by layer, through hooks, on any nn.Module."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._util import fmt, format_table
from .actstats import activation_stats
from .blocktrace import mlp_plan, plan_buffers, run_plan
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
    flat = [t for ts in groups for t in ts if t is not None]
    with torch.no_grad():
        values = torch.stack(torch._foreach_norm(flat)).double().numpy() if flat else np.zeros(0)
        for i in np.flatnonzero((values == 0) | ~np.isfinite(values)):
            values[i] = float(torch.linalg.vector_norm(flat[i].double()))
    if len(flat) == len(groups) == sum(map(len, groups)):  # one tensor a group: nothing to add up
        return values
    return _group_norms(values, [sum(t is not None for t in ts) for ts in groups])


def _group_norms(values: np.ndarray, sizes: list[int]) -> np.ndarray:
    """sqrt of the sum of squares of consecutive runs of ``values`` of the given sizes."""
    if len(values) == len(sizes):
        return values
    group = np.repeat(np.arange(len(sizes)), sizes)
    return np.sqrt(np.bincount(group, values**2, minlength=len(sizes)))


def _norm(t: torch.Tensor) -> float:
    """||t||, in float64 when float32 under- or overflows."""
    value = float(torch.linalg.vector_norm(t))
    if value == 0 or not math.isfinite(value):
        value = float(torch.linalg.vector_norm(t.double()))
    return value


class _GradNorms:
    """||dL/dh|| of every recorded h of ``traces``, in layer order.

    The gradient of an h whose layer has weights to train passes by on its way to them: a hook
    takes its norm there and the gradient is not kept (keeping them all until the backward
    pass ends grows the heap, and the page faults to regrow it cost more than the norms). A
    frozen layer's h is asked for explicitly: ``asked``, then ``fill`` with its gradients.
    """

    def __init__(self, traces: list) -> None:
        self.values = np.zeros(sum(len(tr.hs) for tr in traces))
        self._asked: list[int] = []
        self.asked: list[torch.Tensor] = []
        self._hooks = []
        k = 0
        for tr in traces:
            trained = any(w.requires_grad for w in tr.weights)
            for h in tr.hs:
                if h.requires_grad and trained:
                    self._hooks.append(_on_grad(h, self.values, k))
                elif h.requires_grad:
                    self._asked.append(k)
                    self.asked.append(h)
                k += 1

    def fill(self, grads: Sequence[torch.Tensor | None]) -> np.ndarray:
        """The norms, with those of the asked-for h from their ``grads``."""
        if self._asked:
            self.values[self._asked] = norms([[g] for g in grads])
        return self.values

    def remove(self) -> None:
        """Take the hooks off (an h the model keeps must not call them later)."""
        for hook in self._hooks:
            hook.remove()
        self.asked = []


def _on_grad(t: torch.Tensor, values: np.ndarray, k: int) -> torch.utils.hooks.RemovableHandle:
    """Set ``values[k] = ||dL/dt||`` when the backward pass reaches ``t`` (a pre-hook on its
    node where it has one: cheaper than a tensor hook)."""
    if t.grad_fn is None:

        def on_grad(grad: torch.Tensor) -> None:
            values[k] = _norm(grad)

        return t.register_hook(on_grad)
    i = t.output_nr

    def on_node(grads: tuple) -> None:
        if grads[i] is not None:
            values[k] = _norm(grads[i])

    return t.grad_fn.register_prehook(on_node)


def _all_buffers(model: nn.Module) -> list[torch.Tensor]:
    """Every buffer (batch-norm statistics, spectral-norm vectors, ...) of the model, once."""
    todo, seen, bufs = [model], {id(model)}, {}
    for m in todo:  # grows as it goes
        bufs.update((id(b), b) for b in m._buffers.values() if b is not None)
        for child in m._modules.values():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                todo.append(child)
    return list(bufs.values())


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
    plan = mlp_plan(model, layers)  # a build_mlp model: its layers are read off its blocks
    if plan is None and layers is None:
        layers = getattr(model, "hidden_linears", None)
    saved = [(b, b.detach().clone()) for b in (_all_buffers(model) if plan is None else plan_buffers(plan))]
    h_norms = None
    try:
        if plan is None:
            output, traces = trace_forward(model, X, run_forward, layers)
        else:
            output, traces = run_plan(plan, model, X, run_forward)
        value = compute_loss(loss, output, y)
        if not traces:
            raise ValueError(
                "layers: no Linear, Conv, RNN or attention layer of the model ran in the forward pass"
            )
        stats = activation_stats(traces)  # now: the backward pass frees each h once it is done
        layer_names = tuple(tr.name for tr in traces)
        activations = tuple(tr.activation.name if tr.activation else "?" for tr in traces)
        w_groups = [tr.weights for tr in traces]
        sizes = [len(tr.hs) for tr in traces]
        cell = next((i for i, tr in enumerate(traces) if isinstance(tr.module, nn.RNNCellBase)), None)
        h_norms = _GradNorms(traces)
        del traces, output
        weights = [w for ws in w_groups for w in ws if w.requires_grad]
        inputs = weights + h_norms.asked
        grads = torch.autograd.grad(value, inputs, allow_unused=True) if value.requires_grad else []
        h_values = h_norms.fill(grads[len(weights) :])
    finally:  # batch norm (say) updated its buffers in the forward pass: undo that
        if h_norms is not None:
            h_norms.remove()
        with torch.no_grad():
            for buf, copy in saved:
                buf.copy_(copy)
    grad_of = dict(zip(map(id, weights), grads, strict=False))
    n = len(w_groups)  # every weight norm in one batched call: weight grads, then weights
    all_norms = norms([[grad_of.get(id(w)) for w in ws] for ws in w_groups] + w_groups)
    wgn, wn = all_norms[:n], all_norms[n:]
    start = sum(sizes[:cell]) if cell is not None else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(wn > 0, wgn / np.where(wn > 0, wn, 1.0), np.nan)
    return GradientProfile(
        layer_names=layer_names,
        activations=activations,
        weight_grad_norm=wgn,
        weight_norm=wn,
        grad_to_weight=ratio,
        act_grad_norm=_group_norms(h_values, sizes),
        loss=float(value.detach()),
        time_grad_norm=None if cell is None else h_values[start : start + sizes[cell]].copy(),
        **stats,
    )
