"""Gradients through time inside a whole-sequence recurrent layer (nn.RNN, nn.LSTM, nn.GRU).

Torch runs such a layer as one fused operation: its hidden states h_t never exist as tensors
that a hook could reach, so a vanishing or exploding gradient through time is invisible in
the layer's weight gradients. Given the gradient that reached the layer's outputs in a real
pass, :func:`through_time` replays the layer step by step with the same weights (torch's own
cell functions) and carries that gradient back: the ||dL/dh_t|| of every step of its first
layer, exactly those of the fused layer (up to float rounding).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .norms import tensor_norms

__all__ = ["RecurrentCall", "recorded_calls", "through_time"]

_CELLS = {"RNN_TANH": torch.rnn_tanh_cell, "RNN_RELU": torch.rnn_relu_cell, "GRU": torch.gru_cell}


@dataclass
class RecurrentCall:
    """One call of a recurrent layer: its input sequence, initial state and outputs."""

    module: nn.RNNBase
    x: torch.Tensor
    hx: object
    outputs: tuple[torch.Tensor, ...]  # (output, h_n) or, for an LSTM, (output, h_n, c_n)


@contextlib.contextmanager
def recorded_calls(model: nn.Module) -> Iterator[list[RecurrentCall]]:
    """Within the block, record every call of the model's nn.RNN/LSTM/GRU layers that a
    replay can follow (a plain tensor input; not a packed sequence, not an LSTM with
    ``proj_size``); the hooks are removed on leaving, whatever happens."""
    calls: list[RecurrentCall] = []

    def hook(module: nn.RNNBase, args: tuple, kwargs: dict, output: object) -> None:
        x = args[0] if args else kwargs.get("input")
        hx = args[1] if len(args) > 1 else kwargs.get("hx")
        out, state = output
        state = state if isinstance(state, tuple) else (state,)
        if isinstance(x, torch.Tensor) and getattr(module, "proj_size", 0) == 0:
            calls.append(RecurrentCall(module, x, hx, (out, *state)))

    handles = [
        m.register_forward_hook(hook, with_kwargs=True) for m in model.modules() if isinstance(m, nn.RNNBase)
    ]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def through_time(call: RecurrentCall, grads: list[torch.Tensor | None]) -> np.ndarray:
    """||dL/dh_t||, t = 0 .. T-1, of the first layer (forward direction) of a recorded call.

    Parameters
    ----------
    call : RecurrentCall
        A call recorded by :func:`recorded_calls`.
    grads : list of tensor or None
        dL/d(each of ``call.outputs``) from the real pass (None: that output did not reach the loss).

    Returns
    -------
    numpy.ndarray
        One norm per time step. With dropout between layers in training mode the replay runs
        without it, so the norms are those of the same network without that dropout.
    """
    module = call.module
    batched = call.x.dim() == 3
    x = call.x if batched else call.x.unsqueeze(1)  # unbatched (T, features): batch_first does not apply
    if batched and module.batch_first:
        x = x.transpose(0, 1)  # (T, N, features)
    with torch.enable_grad():
        outputs, first = _replay(module, x.detach(), _initial(module, call.hx, batched))
        used = [
            (o, g) for o, g in zip(outputs, _layout(module, grads, batched), strict=True) if g is not None
        ]
        if not used:
            return np.zeros(len(first))
        got = torch.autograd.grad([o for o, _ in used], first, [g for _, g in used], allow_unused=True)
    return tensor_norms([torch.zeros_like(h) if g is None else g for h, g in zip(first, got, strict=True)])


def _layout(module: nn.RNNBase, grads: list[torch.Tensor | None], batched: bool) -> list[torch.Tensor | None]:
    """The output gradients as the replay lays its outputs out: (T, N, ...) and (layers, N, H)."""
    out, *state = grads
    if out is not None:
        out = out if batched else out.unsqueeze(1)
        out = out.transpose(0, 1) if batched and module.batch_first else out
    state = [s if s is None or batched else s.unsqueeze(1) for s in state]
    return [out, *state]


def _initial(module: nn.RNNBase, hx: object, batched: bool) -> tuple[torch.Tensor | None, ...]:
    """The initial (h, c) as (layers * directions, N, H) tensors, or None for zeros."""
    states = hx if isinstance(hx, tuple) else (hx,)
    return tuple(None if s is None else (s if batched else s.unsqueeze(1)).detach() for s in states)


def _replay(
    module: nn.RNNBase, x: torch.Tensor, initial: tuple[torch.Tensor | None, ...]
) -> tuple[tuple[torch.Tensor, ...], list[torch.Tensor]]:
    """Run ``module`` step by step: its outputs laid out as (T, N, ...), and the first layer's h_t."""
    directions = 2 if module.bidirectional else 1
    n, hidden, lstm = x.shape[1], module.hidden_size, module.mode == "LSTM"
    zeros = x.new_zeros(module.num_layers * directions, n, hidden)
    h0 = initial[0] if initial and initial[0] is not None else zeros
    c0 = initial[1] if lstm and len(initial) > 1 and initial[1] is not None else zeros
    first: list[torch.Tensor] = []
    h_n, c_n, layer_input = [], [], x
    for layer in range(module.num_layers):
        runs = []
        for d in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            weights = [
                getattr(module, f"{k}{suffix}", None)
                for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            k = layer * directions + d
            h, c = h0[k], c0[k]
            steps = range(x.shape[0]) if d == 0 else reversed(range(x.shape[0]))
            out: list[torch.Tensor | None] = [None] * x.shape[0]
            for t in steps:
                if lstm:
                    h, c = torch.lstm_cell(layer_input[t], (h, c), *weights)
                else:
                    h = _CELLS[module.mode](layer_input[t], h, *weights)
                out[t] = h
                if layer == 0 and d == 0:
                    first.append(h)
            runs.append(torch.stack(out))
            h_n.append(h)
            c_n.append(c)
        layer_input = torch.cat(runs, dim=-1) if directions == 2 else runs[0]
    outputs = (layer_input, torch.stack(h_n)) + ((torch.stack(c_n),) if lstm else ())
    return outputs, first


def first_recurrent(
    modules: list[nn.Module], calls: list[RecurrentCall]
) -> tuple[int, RecurrentCall | None] | None:
    """The first recurrent layer among ``modules`` (a profile's layers, in call order): its index,
    and its recorded call when it is a whole-sequence layer a replay can follow (None for a cell
    run step by step, whose h_t the profile has already). None when there is no such layer."""
    for i, m in enumerate(modules):
        if isinstance(m, nn.RNNCellBase):
            return i, None
        if isinstance(m, nn.RNNBase):
            call = next((c for c in reversed(calls) if c.module is m), None)  # the pass measured
            if call is not None and all(o.requires_grad for o in call.outputs):
                return i, call
    return None
