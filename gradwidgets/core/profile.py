"""One forward/backward pass measured layer by layer, through hooks, on any nn.Module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ._util import fmt, format_table
from .actstats import activation_stats
from .blocktrace import mlp_plan, plan_buffers, run_plan
from .checks import check_model, check_submodules, check_trainable
from .coverage import Coverage, coverage
from .hooknorms import GradNorms
from .layers import Layer, declares_layers, is_probed
from .limits import check_pass, param_bytes
from .losses import Loss, LossSpec, check_loss, prepare_batch
from .norms import group_norms, norms
from .recurrence import first_recurrent, recorded_calls, through_time
from .state import kept
from .tracing import trace_forward


@dataclass(frozen=True, repr=False)
class GradientProfile:
    """Per-layer gradient and activation statistics from one forward/backward pass.

    Every array has one entry per probed layer, input to output. ``activations`` names the
    activation found after each layer (``"?"`` when none was identified). ``time_grad_norm``
    holds ||dL/dh_t|| per time step of the first recurrent layer, layer ``time_layer`` (a cell
    run step by step, or the first layer of an nn.RNN/LSTM/GRU: :mod:`.recurrence`), else None.
    ``input_dead`` is the fraction of each layer's input units that were 0 on every example
    (NaN for the model's own data): what a functional ReLU (``F.relu``) before it killed.
    ``layers`` holds each layer's module and weights (not compared, shown or pickled);
    ``coverage`` the share of the model's trainable parameters they hold.
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
    time_layer: int | None = None
    input_dead: np.ndarray | None = None
    also_grad_norm: np.ndarray | None = field(default=None, repr=False, compare=False)
    coverage: Coverage | None = field(default=None, compare=False)
    layers: tuple[Layer, ...] = field(default=(), repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "layers"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, layers=())

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
        covered = f"\n{self.coverage}" if self.coverage is not None else ""
        return f"GradientProfile(loss={fmt(self.loss)}{extra})\n" + format_table(header, rows) + covered


def _pct(x: float) -> str:
    return "n/a" if np.isnan(x) else f"{100 * x:.0f}%"


def gradient_profile(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss: LossSpec | None = None,
    layers: Sequence[nn.Module] | None = None,
) -> GradientProfile:
    """Measure gradients and activations layer by layer in one forward/backward pass.

    No optimiser step is taken, and the model's parameters, their ``.grad``, its buffers
    (batch-norm running statistics), its train/eval modes and the global random state (dropout)
    are left as they were, also when the pass fails or is interrupted.

    Parameters
    ----------
    model : nn.Module
        Any module; its layers are the modules owning a weight of 2 or more dimensions
        (:func:`.layers.is_probed`).
    X, y : torch.Tensor
        A batch of inputs and targets with the same first dimension.
    loss : {"mse", "cross_entropy"}, callable or None
        The loss: a callable receives ``(output, y)`` (the output as the model returns it) and
        returns a scalar tensor. Default (None): the model's own loss (a Hugging Face model is
        given ``labels=y``), else cross-entropy for integer labels, else MSE. The rule, and how
        tuple, dict and ``ModelOutput`` outputs are read: :class:`.losses.Loss`.
    layers : list of nn.Module, optional
        The layers to report, in order: modules of ``model`` owning a weight of 2+ dimensions,
        or attention layers. Default: ``model.hidden_linears`` when the model has it (as
        :func:`build_mlp` models do), else every such layer that ran, in the order they began.

    Returns
    -------
    GradientProfile
        Non-finite values are reported as they are, not raised.

    Raises
    ------
    ValueError
        On bad arguments; on a model with no trainable parameter (every ``requires_grad`` False:
        there is no gradient to measure); on a loss that does not depend on the parameters; when
        the pass would need more memory than :func:`.checks.max_bytes` allows.
    """
    check_model("model", model)
    check_trainable("model", model)
    check_loss("loss", loss)
    X, y = prepare_batch(model, X, y)
    if layers is not None:
        layers = check_submodules("layers", layers, model)
        for i, m in enumerate(layers):
            if not is_probed(m):
                raise ValueError(
                    f"layers[{i}] is a {type(m).__name__}, which owns no weight of 2 or more dimensions; "
                    "layers must be modules of the model with one (Linear, Conv, RNN, attention, ...)"
                )
    # what the pass keeps: each layer's z and h, what autograd saves, dL/dh; a gradient per weight
    check_pass("gradient_profile", model, X, copies=4, extra=2 * param_bytes(model))
    return measure(model, X, y, Loss(loss, "loss"), layers)


def measure(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss: Loss,
    layers: list[nn.Module] | None,
    also: Sequence[torch.Tensor] = (),
) -> GradientProfile:
    """:func:`gradient_profile` on arguments its caller has checked (``X`` as :func:`prepare_batch`
    returns it), with the model's state and the global random state kept (:mod:`.state`);
    ``also``: parameters whose gradient norms go into ``also_grad_norm``, in the same pass."""
    plan = mlp_plan(model, layers)  # a build_mlp model: its layers are read off its blocks

    def forward(model: nn.Module, X: torch.Tensor) -> object:
        return loss.forward(model, X, y)

    h_norms = None
    with (
        torch.enable_grad(),
        kept(model, None if plan is None else plan_buffers(plan)),
        recorded_calls(model) as calls,
    ):
        try:
            if plan is None:
                output, traces = trace_forward(model, X, forward, layers)
            else:
                output, traces = run_plan(plan, model, X, forward)
            value = loss(output, y)
            if not traces:
                raise ValueError(
                    "layers: no Linear, Conv, RNN or attention layer of the model ran in the forward pass"
                )
            stats = activation_stats(traces)  # now: the backward pass frees each h once it is done
            reported = tuple(Layer(tr.name, tr.module, tuple(tr.weights)) for tr in traces)
            activations = tuple(tr.activation.name if tr.activation else "?" for tr in traces)
            input_dead = np.array([tr.input_dead for tr in traces])
            w_groups = [tr.weights for tr in traces]
            sizes = [len(tr.hs) for tr in traces]
            recurrent = first_recurrent([tr.module for tr in traces], calls)
            h_norms = GradNorms(traces)
            del traces, output
            weights = [w for ws in w_groups for w in ws if w.requires_grad]
            replay = recurrent[1] if recurrent else None  # a whole-sequence RNN: its outputs' gradients
            also = [p for p in also if p.requires_grad]
            inputs = weights + h_norms.asked + also + (list(replay.outputs) if replay else [])
            grads = list(torch.autograd.grad(value, inputs, allow_unused=True)) if inputs else []
            k = len(weights) + len(h_norms.asked)
            h_values = h_norms.fill(grads[len(weights) : k])
            also_norms = norms([[g] for g in grads[k : k + len(also)]])
            time = through_time(replay, grads[k + len(also) :]) if replay else None
        finally:  # the snapshot puts back buffers (batch norm updated them), modes and random state
            if h_norms is not None:
                h_norms.remove()
    grad_of = dict(zip(map(id, weights), grads, strict=False))
    n = len(w_groups)  # every weight norm in one batched call: weight grads, then weights
    all_norms = norms([[grad_of.get(id(w)) for w in ws] for ws in w_groups] + w_groups)
    wgn, wn = all_norms[:n], all_norms[n:]
    if recurrent is not None and replay is None:  # a cell run step by step: its h_t were measured
        start = sum(sizes[: recurrent[0]])
        time = h_values[start : start + sizes[recurrent[0]]].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(wn > 0, wgn / np.where(wn > 0, wn, 1.0), np.nan)
    return GradientProfile(
        layer_names=tuple(lr.name for lr in reported),
        activations=activations,
        weight_grad_norm=wgn,
        weight_norm=wn,
        grad_to_weight=ratio,
        act_grad_norm=group_norms(h_values, sizes),
        loss=float(value.detach()),
        time_grad_norm=time,
        time_layer=None if recurrent is None else recurrent[0],
        input_dead=input_dead,
        also_grad_norm=also_norms,
        coverage=coverage(model, reported, chosen=layers is not None or declares_layers(model)),
        layers=reported,
        **stats,
    )
