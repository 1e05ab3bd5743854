"""What a request may cost, checked before it runs: hard maxima, and memory estimates.

The maxima bound what memory does not (time, the float32 range). Each memory estimate feeds
:func:`.checks.check_memory`, so that ``build_mlp(100, width=10**5)`` is a ValueError at once,
not the allocator's error minutes later. The estimates count the big tensors only (float32 =
4 bytes an entry) and err low: a refusal should never hit a request that would have fitted.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .checks import check_memory
from .layers import ATTENTION_TYPES

MAX_LAYERS = 10_000
"""Ten times the deepest networks trained (ResNet-1001). Building costs four Python modules a
layer whatever the width: 10 000 layers take seconds, 10**6 would take minutes to build."""
MAX_HIDDEN = 2048
"""The RNN's spectral radius is set by an O(h^3) eigenvalue solve: 1024 units take seconds on
a loaded 2-core machine, 2048 about a minute, 10 000 would take hours."""
MAX_STEPS = 1_000_000
"""Full-batch steps on a course-sized model run at 1-5 thousand a second: a million is minutes to
an hour; more (``10**9``) is a typo that would run for days. Longer runs: your own loop and
:func:`gradwidgets.watch`."""
MAX_RATE = 1e6
"""The largest ``lr`` and ``weight_decay``: a step of a million times the gradient already
diverges any network (a result, not an error); far above it torch cannot even convert the
rate to float32 (3.4e38) and fails inside the optimiser."""
MAX_CLIP = 1e30
"""The largest ``clip_value`` and ``clip_norm``: above it, clamping to float32 fails; below it
but far above any finite gradient, clipping does nothing."""
FLOAT = 4
"""Bytes per float32 entry."""
RECORD_BYTES = 700
"""A StepRecord's fixed cost in a History (its object, three small arrays, the stacked copy);
each layer adds three float64 entries in the record and three in the stacked arrays (48 bytes)."""


def mlp_bytes(num_layers: int, width: int, in_features: int, out_features: int, norm: str | None) -> int:
    """:func:`gradwidgets.build_mlp`: every weight and bias, plus the norms' parameters and statistics."""
    params = in_features * width + width + (num_layers - 1) * (width * width + width)
    params += width * out_features + out_features
    params += num_layers * width * {None: 0, "layer": 2, "batch": 4}[norm]
    return FLOAT * params


def rnn_bytes(input_size: int, hidden_size: int, output_size: int) -> int:
    """:func:`gradwidgets.build_rnn`: the parameters, and the float64 copy of W_hh with its
    eigenvalue solver's workspace (about two more float64 copies) that set the spectral radius."""
    params = input_size * hidden_size + hidden_size * hidden_size + 2 * hidden_size
    params += hidden_size * output_size + output_size
    return FLOAT * params + 3 * 8 * hidden_size * hidden_size


def dataset_bytes(name: str, n: int, seq_len: int) -> int:
    """:func:`gradwidgets.make_dataset`: X, y and the temporaries that make them.

    A 2-D set keeps 16 bytes an example (two float32 inputs, an int64 label) and makes about
    48 more on the way; ``"adding"`` holds values, markers, the stacked X and their product:
    about 5 float32 entries per time step.
    """
    if name == "adding":
        return n * (5 * FLOAT * seq_len + 32)
    return n * 64


def _rows(X: torch.Tensor) -> int:
    return int(X.shape[0]) if X.dim() else 1


def activation_bytes(model: nn.Module, X: torch.Tensor, copies: int) -> int:
    """A lower bound on a forward/backward pass's activations: ``copies`` tensors (outputs,
    what autograd saves, gradients) per layer output, each at least (batch x units) entries.

    A Linear or Conv counts its output units (or channels) once per example; a recurrent layer
    or cell counts its hidden units once per example and time step (the first two axes of X);
    attention counts its embedding. Spatial sizes and sequence lengths of the other layers
    are not known before the pass and are left out, so the bound stays low.
    """
    rows = _rows(X)
    steps = int(X.shape[1]) if X.dim() >= 3 else 1
    units = 0
    for m in model.modules():
        if isinstance(m, nn.Linear):
            units += m.out_features
        elif isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            units += m.out_channels
        elif isinstance(m, nn.RNNBase):
            units += steps * m.hidden_size * m.num_layers * (2 if m.bidirectional else 1)
        elif isinstance(m, nn.RNNCellBase):
            units += steps * m.hidden_size
        elif isinstance(m, ATTENTION_TYPES):
            units += m.embed_dim
    return copies * rows * units * X.element_size()


def param_bytes(model: nn.Module) -> int:
    """The bytes of all of the model's parameters (one more copy of each costs this much)."""
    return sum(p.numel() * p.element_size() for p in model.parameters())


def history_bytes(steps: int, record_every: int, num_layers: int) -> int:
    """A :class:`gradwidgets.History`: a float per step and a record per recorded step."""
    return 40 * steps + math.ceil(steps / record_every) * (RECORD_BYTES + 48 * num_layers)


def check_pass(what: str, model: nn.Module, X: torch.Tensor, copies: int, extra: int = 0) -> None:
    """Raise before a forward/backward pass of ``model`` on ``X`` that would not fit in memory:
    :func:`activation_bytes` with ``copies`` per layer output, plus ``extra`` bytes."""
    need = activation_bytes(model, X, copies) + extra
    check_memory(f"{what} with X of shape {tuple(X.shape)} on {type(model).__name__}", need)
