"""Trace one forward pass: which layers ran, their weights, activations and outputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.module import register_module_forward_hook

from .activations import Activation, activation_of_module

PROBED_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase, nn.RNNCellBase)
"""Layers a profile reports: those with a weight matrix (or kernel) that gradients flow into."""

_PASS_THROUGH = (_BatchNorm, nn.LayerNorm, nn.GroupNorm, nn.Dropout, nn.Identity)
_LINEAR = activation_of_module(nn.Identity())


@dataclass
class LayerTrace:
    """One probed layer in a traced forward pass.

    ``hs`` are the layer's post-activation outputs (one per call: a recurrent cell is called
    once per time step) and ``zs`` the matching activation inputs. ``activation`` is None
    when no activation module follows the layer (a functional call, or the model's output).
    """

    name: str
    module: nn.Module
    weights: list[torch.Tensor]
    activation: Activation | None
    hs: list[torch.Tensor] = field(default_factory=list)
    zs: list[torch.Tensor] = field(default_factory=list)

    @property
    def unit_dim(self) -> int:
        """The axis that indexes units: channels for convolutions, the last axis otherwise."""
        return 1 if isinstance(self.module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) else -1


@dataclass
class _Call:
    module: nn.Module
    input: torch.Tensor | None
    output: torch.Tensor


def _first_tensor(x: object) -> torch.Tensor | None:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (tuple, list)) and x and isinstance(x[0], torch.Tensor):
        return x[0]
    return None


def _record(
    modules: list[nn.Module], model: nn.Module, X: torch.Tensor, forward
) -> tuple[torch.Tensor, list[_Call]]:
    """Run ``forward(model, X)`` and log every leaf or probed module call, via one global hook."""
    wanted = {m for m in modules if isinstance(m, PROBED_TYPES) or next(m.children(), None) is None}
    log: list[_Call] = []

    def hook(module: nn.Module, args: tuple, output: object) -> None:
        if module in wanted:
            out = _first_tensor(output)
            if out is not None:
                log.append(_Call(module, _first_tensor(args), out))

    handle = register_module_forward_hook(hook)
    try:
        output = forward(model, X)
    finally:
        handle.remove()
    return output, log


def _follow(
    log: list[_Call], consumers: dict[int, list[int]], i: int
) -> tuple[Activation | None, torch.Tensor, torch.Tensor]:
    """From call ``i`` of a layer, walk through norms to its activation: (activation, z, h)."""
    call = log[i]
    module = call.module
    if isinstance(module, (nn.RNNCell, nn.RNN)):
        act = activation_of_module(nn.Tanh() if module.nonlinearity == "tanh" else nn.ReLU())
        return act, call.output, call.output
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return None, call.output, call.output
    cur, idx, seen_identity = call.output, i, False
    while True:
        nxt = next((j for j in consumers.get(id(cur), ()) if j > idx), None)
        m = log[nxt].module if nxt is not None else None
        act = activation_of_module(m) if m is not None else None
        if act is not None and not isinstance(m, nn.Identity):
            return act, cur, log[nxt].output
        if m is None or not isinstance(m, _PASS_THROUGH):
            return (_LINEAR if seen_identity else None), cur, cur
        seen_identity = seen_identity or isinstance(m, nn.Identity)
        cur, idx = log[nxt].output, nxt


def trace_forward(
    model: nn.Module, X: torch.Tensor, forward, layers: Sequence[nn.Module] | None = None
) -> tuple[torch.Tensor, list[LayerTrace]]:
    """Run the model once and describe each probed layer that ran, in call order.

    ``layers`` restricts (and orders) the report; by default every Linear, Conv and RNN
    layer that ran is included.
    """
    names = {m: n for n, m in model.named_modules()}
    output, log = _record(list(names), model, X, forward)
    consumers: dict[int, list[int]] = {}
    calls: dict[nn.Module, list[int]] = {}
    for j, c in enumerate(log):
        if c.input is not None:
            consumers.setdefault(id(c.input), []).append(j)
        if isinstance(c.module, PROBED_TYPES):
            calls.setdefault(c.module, []).append(j)
    chosen = list(calls) if layers is None else [m for m in layers if m in calls]
    traces = []
    for m in chosen:
        followed = [_follow(log, consumers, j) for j in calls[m]]
        weights = [p for n, p in m.named_parameters(recurse=False) if n.startswith("weight")]
        trace = LayerTrace(names.get(m, type(m).__name__), m, weights, followed[0][0])
        trace.zs, trace.hs = [f[1] for f in followed], [f[2] for f in followed]
        traces.append(trace)
    return output, traces
