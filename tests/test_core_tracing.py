"""The forward-pass tracer: what it records, what it keeps, and what it leaves behind."""

import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.outputs import run_forward
from gradwidgets.core.tracing import trace_forward


def _x(n=16, d=4):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(0))


def test_no_wrapper_is_left_behind_even_when_the_forward_fails():
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
    own = nn.Identity()
    own.forward = lambda x: x * 2  # an instance attribute of the model's own: kept as it was
    model.append(own)
    trace_forward(model, _x(), run_forward)
    with pytest.raises(ValueError, match="does not fit"):
        trace_forward(model, _x(d=3), run_forward)
    assert all("forward" not in m.__dict__ for m in list(model)[:3])
    assert torch.equal(own(torch.ones(1)), torch.full((1,), 2.0))


def test_pre_activations_are_kept_only_where_needed():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 8), nn.Flatten(), nn.Linear(8, 1)
    )
    _, traces = trace_forward(model, _x(), run_forward)
    assert [tr.activation.name if tr.activation else None for tr in traces] == ["tanh", "gelu", None, None]
    tanh, gelu, flat, _ = traces
    assert tanh.zs == [None]  # f' from h: z freed once tanh has run
    with torch.no_grad():
        z = model[2](model[1](model[0](_x())))
        assert torch.equal(gelu.zs[0], z) and torch.equal(gelu.hs[0], model[3](z))
    assert flat.hs[0] is flat.zs[0]  # no activation: h is the layer's own output


def test_an_in_place_activation_after_a_linear_is_still_its_activation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Tanh(), nn.Linear(8, 1))
    _, traces = trace_forward(model, _x(), run_forward)
    with torch.no_grad():
        expected = torch.relu(model[0](_x()))
    assert traces[0].activation.name == "relu"
    assert torch.equal(traces[0].hs[0], expected)  # the ReLU's output, not released for the Tanh


def test_elu_lookups_are_remembered():
    model = gw.build_mlp(30, activation="elu")
    X = torch.randn(8, 2)
    _, traces = trace_forward(model, X, run_forward, model.hidden_linears)
    assert len({id(tr.activation) for tr in traces}) == 1  # one ELU entry, not one per layer
