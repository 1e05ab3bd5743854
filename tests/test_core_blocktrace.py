"""A build_mlp model traced off its own blocks gives what the general tracer gives."""

import numpy as np
import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.activations import ACTIVATIONS
from gradwidgets.core.blocktrace import mlp_trace
from gradwidgets.core.models import MLP
from gradwidgets.core.outputs import run_forward
from gradwidgets.core.tracing import trace_forward

FIELDS = (
    "weight_grad_norm",
    "weight_norm",
    "grad_to_weight",
    "act_grad_norm",
    "act_mean",
    "act_std",
    "saturation",
    "dead_fraction",
)


def _batch(n=32):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 2, generator=g), torch.randn(n, 1, generator=g)


def _general(model):
    """The same model forced onto the general tracer: a forward hook the fast path declines."""
    return model.register_forward_hook(lambda *args: None)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize(
    ("norm", "residual"), [(None, False), ("batch", False), ("layer", True), (None, True)]
)
def test_the_traces_and_the_profile_equal_the_general_tracers(activation, norm, residual):
    model = gw.build_mlp(4, width=8, activation=activation, norm=norm, residual=residual, seed=3)
    X, y = _batch()
    out, traces = mlp_trace(model, X, run_forward, None)
    hook = _general(model)
    ref_out, ref = trace_forward(model, X, run_forward, model.hidden_linears)
    assert torch.equal(out, ref_out)
    assert [t.name for t in traces] == [t.name for t in ref]
    assert [t.activation.name for t in traces] == [t.activation.name for t in ref]
    for t, r in zip(traces, ref, strict=True):
        assert [id(w) for w in t.weights] == [id(w) for w in r.weights]
        assert all(torch.equal(h, rh) for h, rh in zip(t.hs, r.hs, strict=True))
        assert [z is None for z in t.zs] == [z is None for z in r.zs]
    general = gw.gradient_profile(model, X, y)
    hook.remove()
    fast = gw.gradient_profile(model, X, y)
    assert fast.layer_names == general.layer_names and fast.activations == general.activations
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(fast, field), getattr(general, field), err_msg=field)
    assert fast.loss == general.loss


class _Doubled(MLP):
    def forward(self, x):
        return 2 * super().forward(x)


def _changed(kind):
    model = gw.build_mlp(3, width=8, seed=0)
    if kind == "inplace":
        model.blocks[1].act = nn.ReLU(inplace=True)
    elif kind == "unknown activation":
        model.blocks[1].act = nn.Softplus()
    elif kind == "other norm":
        model.blocks[1].norm = nn.GroupNorm(2, 8)
    elif kind == "subclass":
        model = _Doubled(list(model.blocks), model.head, model.config)
    elif kind == "hook on an activation":
        model.blocks[2].act.register_forward_hook(lambda m, i, o: o * 0)
    elif kind == "buffer on a linear":
        model.blocks[0].linear.register_buffer("mask", torch.ones(8, 2))
    elif kind == "own forward":
        model.blocks[0].linear.forward = lambda x: torch.zeros(x.shape[0], 8)
    return model


CHANGES = ["inplace", "unknown activation", "other norm", "subclass", "hook on an activation", "own forward"]
CHANGES += ["buffer on a linear"]


@pytest.mark.parametrize("kind", CHANGES)
def test_a_model_the_fast_path_cannot_vouch_for_goes_to_the_general_tracer(kind):
    model = _changed(kind)
    X, y = _batch()
    assert mlp_trace(model, X, run_forward, None) is None
    profile = gw.gradient_profile(model, X, y)
    _, ref = trace_forward(model, X, run_forward, model.hidden_linears)
    assert profile.activations == tuple(t.activation.name if t.activation else "?" for t in ref)


def test_other_layers_than_the_hidden_ones_go_to_the_general_tracer():
    model = gw.build_mlp(3, width=8)
    X, _ = _batch()
    assert mlp_trace(model, X, run_forward, list(model.hidden_linears)) is not None
    assert mlp_trace(model, X, run_forward, model.hidden_linears[::-1]) is None
    assert mlp_trace(model, X, run_forward, [model.head]) is None


def test_a_batch_that_does_not_fit_names_the_argument():
    model = gw.build_mlp(3, width=8)
    with pytest.raises(ValueError, match="X of shape"):
        gw.gradient_profile(model, torch.randn(8, 5), torch.randn(8, 1))
