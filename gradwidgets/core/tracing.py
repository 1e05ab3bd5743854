"""Trace one forward pass: which layers ran, their weights, activations and outputs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from .activations import ACTIVATIONS, Activation, activation_of_module
from .layers import Layer, is_probed, layer_kind, layer_weights, module_names, reported_layers
from .saturated import silent_input

_PASS_THROUGH = (_BatchNorm, nn.LayerNorm, nn.GroupNorm, nn.Dropout, nn.Identity)


def _z_source(module: nn.Module) -> bool:
    """True for a module whose output is a pre-activation z when an activation consumes it first."""
    return isinstance(module, _PASS_THROUGH) or (is_probed(module) and layer_kind(module) in _Z_KINDS)


_Z_KINDS = ("linear", "conv", "attention")

_LINEAR = activation_of_module(nn.Identity())
_ACTIVATIONS: dict[tuple, Activation | None] = {}


def activation_of(module: nn.Module) -> Activation | None:
    """``activation_of_module``, remembered per module type and slope (an ELU entry costs ms)."""
    attrs = module.__dict__  # not getattr: a missing attribute takes nn.Module's slow path
    key = (type(module), attrs.get("negative_slope"), attrs.get("alpha"))
    try:
        return _ACTIVATIONS[key]
    except KeyError:
        return _ACTIVATIONS.setdefault(key, activation_of_module(module))
    except TypeError:  # an unhashable attribute: look it up every time
        return activation_of_module(module)


@dataclass
class LayerTrace:
    """One probed layer in a traced forward pass.

    ``hs`` are the layer's post-activation outputs (one per call: a recurrent cell is called
    once per time step) and ``zs`` the matching activation inputs (None for an activation
    whose derivative is written through its output, ``Activation.from_output``). ``activation``
    is None when no activation module follows the layer (a functional call, or the model's output).
    """

    name: str
    module: nn.Module
    weights: list[torch.Tensor]
    activation: Activation | None
    hs: list[torch.Tensor] = field(default_factory=list)
    zs: list[torch.Tensor | None] = field(default_factory=list)
    input_dead: float = math.nan

    @property
    def unit_dim(self) -> int:
        """The axis that indexes units: channels for convolutions, the last axis otherwise."""
        return 1 if isinstance(self.module, _ConvNd) else -1


@dataclass(slots=True)
class _Call:
    module: nn.Module
    source: int | None  # the call whose output this one received unmodified as its input, if any
    output: torch.Tensor | None  # as the module produced it (None once released)
    passed: torch.Tensor | None  # what the rest of the model received: ``output`` or a private copy
    version: int  # output._version when recorded: a later change means it was modified in place
    silent: float  # a probed layer's input: the fraction of its units 0 on every example (else nan)
    start: int  # calls completed when this one began: a parent begins before its children


@dataclass(slots=True)
class _Handed:
    version: int  # the tensor's version when last handed on
    call: int  # the call that last handed it on
    holders: list[int]  # the calls whose output it is (a module may return its input)
    consumed: bool = False  # taken as input by a call that returned something else


def _first_tensor(x: object) -> torch.Tensor | None:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (tuple, list)) and x and isinstance(x[0], torch.Tensor):
        return x[0]
    return None


_MISSING = object()


def _record(
    modules: list[nn.Module], model: nn.Module, X: torch.Tensor, forward, private: bool
) -> tuple[torch.Tensor, list[_Call]]:
    """Run ``forward(model, X)`` and log every leaf or probed module call.

    Each such module's ``forward`` is wrapped for the duration of the call (an instance
    attribute, removed afterwards): unlike global module hooks, this leaves every other module
    on torch's fast path and other models untouched. With ``private``, the rest of the model
    receives a clone of each logged output, so that in-place operations downstream
    (``ReLU(inplace=True)``, ``x += skip``) cannot change it.
    """
    wanted = [
        m for m in modules if not m._modules or is_probed(m) or all(c is None for c in m._modules.values())
    ]
    log: list[_Call] = []
    handed: dict[int, _Handed] = {}  # id of each tensor passed on -> what became of it

    def wrap(module: nn.Module, call):
        probed = is_probed(module)
        act = None if probed else activation_of(module)
        drops_z = act is not None and act.from_output

        def traced(*args, **kwargs):
            x = args[0] if args and isinstance(args[0], torch.Tensor) else None
            given, start = handed.get(id(x)) if x is not None else None, len(log)
            if given is not None and given.version != x._version:
                given = None  # modified in place since: not the tensor that was handed on
            output = call(*args, **kwargs)
            out = output if isinstance(output, torch.Tensor) else _first_tensor(output)
            if out is None:
                return output
            passed = out
            if private and (isinstance(output, torch.Tensor) or type(output) in (tuple, list)):
                passed = out.clone()
                output = passed if output is out else type(output)([passed, *output[1:]])
            index = len(log)
            silent = silent_input(module, x) if probed else math.nan
            log.append(
                _Call(module, None if given is None else given.call, out, passed, out._version, silent, start)
            )
            if given is not None and passed is x:  # handed on as it came (an Identity, say)
                given.version, given.call = passed._version, index
                given.holders.append(index)
                given.consumed = given.consumed or not isinstance(module, _PASS_THROUGH)
                return output
            if given is not None:
                if drops_z and not given.consumed and _z_source(log[given.holders[0]].module):
                    for k in given.holders:  # a z whose first consumer is this activation: unneeded
                        log[k].output = log[k].passed = None
                    del handed[id(x)]
                given.consumed = True
            handed[id(passed)] = _Handed(passed._version, index, [index])
            return output

        return traced

    own = [(m, m.__dict__.get("forward", _MISSING)) for m in wanted]
    try:
        for m in wanted:
            m.__dict__["forward"] = wrap(m, m.forward)
        output = forward(model, X)
    finally:
        for m, previous in own:
            if previous is _MISSING:
                m.__dict__.pop("forward", None)
            else:
                m.__dict__["forward"] = previous
    return output, log


def _follow(log: list[_Call], consumers: dict[int, list[int]], i: int) -> tuple[Activation | None, int, int]:
    """From call ``i`` of a layer, walk through norms to its activation: (activation, z call, h call)."""
    module = log[i].module
    if isinstance(module, (nn.RNNCell, nn.RNN)):
        act = ACTIVATIONS["tanh" if module.nonlinearity == "tanh" else "relu"]
        return act, i, i
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return None, i, i
    idx, seen_identity = i, False
    while True:
        nxt = consumers[idx][0] if idx in consumers else None
        m = log[nxt].module if nxt is not None else None
        act = activation_of(m) if m is not None else None
        if act is not None and not isinstance(m, nn.Identity):
            return act, idx, nxt
        if m is None or not isinstance(m, _PASS_THROUGH):
            return (_LINEAR if seen_identity else None), idx, idx
        seen_identity = seen_identity or isinstance(m, nn.Identity)
        idx = nxt


def _traces(log: list[_Call], layers: list[Layer], by_calls: bool) -> tuple[list[LayerTrace], bool]:
    """The traces of those ``layers`` that ran (in call order if ``by_calls``, else as given), and
    whether any recorded z or h was modified in place."""
    consumers: dict[int, list[int]] = {}
    calls: dict[nn.Module, list[int]] = {}
    for j, c in enumerate(log):
        if c.source is not None:  # a tensor changed in place in between is not "the same"
            consumers.setdefault(c.source, []).append(j)
        if is_probed(c.module):
            calls.setdefault(c.module, []).append(j)
    if by_calls:
        of = {lr.module: lr for lr in layers}
        # in the order the layers began: a parent's own weights (a class token) before its children's
        first = {m: js[0] for m, js in calls.items() if m in of}
        chosen = [of[m] for m in sorted(first, key=lambda m: (log[first[m]].start, -first[m]))]
    else:
        chosen = [lr for lr in layers if lr.module in calls]
    traces, stale = [], False
    for lr in chosen:
        followed = [_follow(log, consumers, j) for j in calls[lr.module]]
        zs, hs = [log[f[1]].output for f in followed], [log[f[2]].output for f in followed]
        for f in followed:
            for call in (log[f[1]], log[f[2]]):
                stale = stale or (call.output is not None and call.output._version != call.version)
        silent = log[calls[lr.module][0]].silent
        traces.append(LayerTrace(lr.name, lr.module, list(lr.weights), followed[0][0], hs, zs, silent))
    return traces, stale


def trace_forward(
    model: nn.Module,
    X: torch.Tensor,
    forward,
    layers: Sequence[nn.Module] | None = None,
    names: dict[nn.Module, str] | None = None,
) -> tuple[torch.Tensor, list[LayerTrace]]:
    """Run the model once and describe each probed layer that ran, in call order.

    ``layers`` restricts (and orders) the report; by default the model's
    :func:`.layers.reported_layers` that ran are included, in call order. If an in-place
    operation overwrote a recorded output (``nn.ReLU(inplace=True)`` on a Linear's output,
    ``out += skip``), the forward pass is run again with each recorded output handed on as a
    private copy, so that the values and gradients reported are those of the layer's own output. ``names`` is
    ``module_names(model)`` when the caller has it already.
    """
    names = module_names(model) if names is None else names
    if layers is None:
        chosen = reported_layers(model, names)
    else:
        chosen = [Layer(names.get(m, type(m).__name__), m, tuple(layer_weights(m))) for m in layers]
    version = X._version
    output, log = _record(list(names), model, X, forward, private=False)
    traces, stale = _traces(log, chosen, layers is None)
    if stale:
        if X._version != version:
            raise ValueError("X was modified in place by the model's forward pass; pass X.clone()")
        del output, log, traces
        output, log = _record(list(names), model, X, forward, private=True)
        traces, stale = _traces(log, chosen, layers is None)
        if stale:
            raise ValueError("model: an in-place operation overwrote a layer's output; cannot measure it")
    return output, traces
