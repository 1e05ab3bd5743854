"""Trace one forward pass: which layers ran, their weights, activations and outputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.nn.utils import parametrize

from .activations import Activation, activation_of_module

PROBED_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase, nn.RNNCellBase)
"""Layers a profile reports: those with a weight matrix (or kernel) that gradients flow into."""

ATTENTION_TYPES = (nn.MultiheadAttention,)
"""Layers probed as a whole: they use their projection weights functionally, so the hooks of
their child ``out_proj`` never fire. Kept apart from PROBED_TYPES, which ``train`` tracks by
``weight*`` parameters alone."""

_PASS_THROUGH = (_BatchNorm, nn.LayerNorm, nn.GroupNorm, nn.Dropout, nn.Identity)
_LINEAR = activation_of_module(nn.Identity())


def layer_weights(module: nn.Module) -> list[torch.Tensor]:
    """A probed layer's weight matrices: its ``weight*`` parameters; attention's projections.

    A parametrized weight (``spectral_norm``, ``orthogonal``) is represented by the parameters
    it is computed from, which are what receives the gradient.
    """
    if isinstance(module, nn.MultiheadAttention):
        names = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")
        own = [w for n in names if isinstance(w := getattr(module, n, None), nn.Parameter)]
        return [*own, *layer_weights(module.out_proj)]
    weights = [p for n, p in module.named_parameters(recurse=False) if n.startswith("weight")]
    if parametrize.is_parametrized(module):
        for name, plist in module.parametrizations.items():
            if name.startswith("weight"):
                weights += [p for n, p in plist.named_parameters(recurse=False) if n.startswith("original")]
    return weights


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
    output: torch.Tensor  # as the module produced it
    passed: torch.Tensor  # what the rest of the model received: ``output``, or a private copy of it
    fresh: bool  # the input was not modified in place between its producer and this call
    version: int  # output._version when recorded: a later change means it was modified in place


def _first_tensor(x: object) -> torch.Tensor | None:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (tuple, list)) and x and isinstance(x[0], torch.Tensor):
        return x[0]
    return None


def _record(
    modules: list[nn.Module], model: nn.Module, X: torch.Tensor, forward, private: bool
) -> tuple[torch.Tensor, list[_Call]]:
    """Run ``forward(model, X)`` and log every leaf or probed module call, via global hooks.

    With ``private``, the rest of the model receives a clone of each logged output, so that
    in-place operations downstream (``ReLU(inplace=True)``, ``x += skip``) cannot change it.
    """
    probed = PROBED_TYPES + ATTENTION_TYPES
    wanted = {m for m in modules if isinstance(m, probed) or next(m.children(), None) is None}
    log: list[_Call] = []
    handed: dict[int, int] = {}  # id of each tensor passed on -> its version at that moment
    fresh: dict[nn.Module, bool] = {}

    def pre_hook(module: nn.Module, args: tuple) -> None:
        if module in wanted:
            x = _first_tensor(args)
            fresh[module] = x is not None and handed.get(id(x)) == x._version

    def hook(module: nn.Module, args: tuple, output: object) -> object:
        out = _first_tensor(output) if module in wanted else None
        if out is None:
            return None
        result, passed = None, out
        if private and (isinstance(output, torch.Tensor) or type(output) in (tuple, list)):
            passed = out.clone()
            result = passed if output is out else type(output)([passed, *output[1:]])
        log.append(_Call(module, _first_tensor(args), out, passed, fresh.pop(module, False), out._version))
        handed[id(passed)] = passed._version
        return result

    handles = [register_module_forward_pre_hook(pre_hook), register_module_forward_hook(hook)]
    try:
        output = forward(model, X)
    finally:
        for handle in handles:
            handle.remove()
    return output, log


def _follow(log: list[_Call], consumers: dict[int, list[int]], i: int) -> tuple[Activation | None, int, int]:
    """From call ``i`` of a layer, walk through norms to its activation: (activation, z call, h call)."""
    module = log[i].module
    if isinstance(module, (nn.RNNCell, nn.RNN)):
        act = activation_of_module(nn.Tanh() if module.nonlinearity == "tanh" else nn.ReLU())
        return act, i, i
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return None, i, i
    idx, seen_identity = i, False
    while True:
        nxt = next((j for j in consumers.get(id(log[idx].passed), ()) if j > idx), None)
        m = log[nxt].module if nxt is not None else None
        act = activation_of_module(m) if m is not None else None
        if act is not None and not isinstance(m, nn.Identity):
            return act, idx, nxt
        if m is None or not isinstance(m, _PASS_THROUGH):
            return (_LINEAR if seen_identity else None), idx, idx
        seen_identity = seen_identity or isinstance(m, nn.Identity)
        idx = nxt


def covered_by_attention(module: nn.Module, covered: set[int]) -> bool:
    """True for a non-attention layer all of whose weights belong to an attention layer."""
    ids = {id(w) for w in layer_weights(module)}
    return not isinstance(module, ATTENTION_TYPES) and bool(ids) and ids <= covered


def _traces(
    names: dict[nn.Module, str], log: list[_Call], layers: Sequence[nn.Module] | None
) -> tuple[list[LayerTrace], bool]:
    """The traces of the chosen layers, and whether any recorded z or h was modified in place."""
    consumers: dict[int, list[int]] = {}
    calls: dict[nn.Module, list[int]] = {}
    for j, c in enumerate(log):
        if c.input is not None and c.fresh:  # a tensor changed in place in between is not "the same"
            consumers.setdefault(id(c.input), []).append(j)
        if isinstance(c.module, PROBED_TYPES + ATTENTION_TYPES):
            calls.setdefault(c.module, []).append(j)
    chosen = list(calls) if layers is None else [m for m in layers if m in calls]
    if layers is None:  # a layer whose weights an attention layer reports is not reported twice
        covered = {id(w) for m in chosen if isinstance(m, ATTENTION_TYPES) for w in layer_weights(m)}
        chosen = [m for m in chosen if not covered_by_attention(m, covered)]
    traces, stale = [], False
    for m in chosen:
        followed = [_follow(log, consumers, j) for j in calls[m]]
        trace = LayerTrace(names.get(m, type(m).__name__), m, layer_weights(m), followed[0][0])
        trace.zs, trace.hs = [log[f[1]].output for f in followed], [log[f[2]].output for f in followed]
        stale = stale or any(log[k].output._version != log[k].version for f in followed for k in f[1:])
        traces.append(trace)
    return traces, stale


def trace_forward(
    model: nn.Module, X: torch.Tensor, forward, layers: Sequence[nn.Module] | None = None
) -> tuple[torch.Tensor, list[LayerTrace]]:
    """Run the model once and describe each probed layer that ran, in call order.

    ``layers`` restricts (and orders) the report; by default every Linear, Conv, RNN and
    attention layer that ran is included. If an in-place operation overwrote a recorded
    output (``nn.ReLU(inplace=True)`` on a Linear's output, ``out += skip``), the forward pass
    is run again with each recorded output handed on as a private copy, so that the values
    and gradients reported are those of the layer's own output.
    """
    names = {m: n for n, m in model.named_modules()}
    version = X._version
    output, log = _record(list(names), model, X, forward, private=False)
    traces, stale = _traces(names, log, layers)
    if stale:
        if X._version != version:
            raise ValueError("X was modified in place by the model's forward pass; pass X.clone()")
        del output, log, traces
        output, log = _record(list(names), model, X, forward, private=True)
        traces, stale = _traces(names, log, layers)
        if stale:
            raise ValueError("model: an in-place operation overwrote a layer's output; cannot measure it")
    return output, traces
