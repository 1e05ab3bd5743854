import math

import numpy as np
import pytest
import torch

import gradwidgets as gw

Z = torch.linspace(-8, 8, 20001, dtype=torch.float64)


@pytest.mark.parametrize("name", list(gw.ACTIVATIONS))
def test_derivative_matches_autograd(name):
    act = gw.get_activation(name)
    z = Z.clone().requires_grad_(True)
    (ref,) = torch.autograd.grad(act(z).sum(), z)
    torch.testing.assert_close(act.derivative(Z), ref)


@pytest.mark.parametrize("name", list(gw.ACTIVATIONS))
def test_max_derivative_is_the_largest_slope(name):
    act = gw.get_activation(name)
    d = act.derivative(Z)
    assert float(d.max()) <= act.max_derivative + 1e-9
    assert float(d.max()) >= act.max_derivative - 1e-3


def test_sigmoid_slope_never_exceeds_a_quarter():
    d = gw.get_activation("sigmoid").derivative(Z)
    assert float(d.max()) == pytest.approx(0.25, abs=1e-9)
    assert float(d[Z.abs() > 5].max()) < 0.01


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "leaky_relu", "selu"])
def test_gain_matches_pytorch_or_lecun(name):
    expected = 1.0 if name == "selu" else torch.nn.init.calculate_gain(name)
    assert gw.get_activation(name).gain == pytest.approx(expected)


@pytest.mark.parametrize("name", ["elu", "gelu"])
def test_gain_is_the_second_moment_fixed_point(name):
    act = gw.get_activation(name)
    x = torch.randn(2_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    second_moment = float((act(x) ** 2).mean())
    assert act.gain == pytest.approx(1 / math.sqrt(second_moment), rel=5e-3)


def test_unknown_activation_names_the_argument_and_choices():
    with pytest.raises(ValueError, match=r"activation='swish'.*'sigmoid'.*'linear'"):
        gw.get_activation("swish")


def test_every_activation_has_formulas():
    for act in gw.ACTIVATIONS.values():
        assert act.formula and act.derivative_formula
        assert np.isfinite(act.gain) and act.gain > 0


@pytest.mark.parametrize("name", list(gw.ACTIVATIONS))
def test_the_registry_recognises_its_own_modules(name):
    from gradwidgets.core.activations import activation_of_module

    act = gw.ACTIVATIONS[name]
    module = act.make()
    assert isinstance(module, act.module_types)
    found = activation_of_module(module)
    assert found.name == name and found.label == act.label
    assert (found.saturates, found.from_output) == (act.saturates, act.from_output)
    assert act.label  # every activation has a display label


def test_a_module_s_own_parameters_are_read():
    from gradwidgets.core.activations import activation_of_module

    assert activation_of_module(torch.nn.LeakyReLU(0.2)).gain == pytest.approx(math.sqrt(2 / 1.04))
    assert activation_of_module(torch.nn.ELU(0.5)).max_derivative == 1.0
    assert activation_of_module(torch.nn.Softplus()) is None


@pytest.mark.parametrize("name", [n for n in gw.ACTIVATIONS if n != "linear"])
def test_from_output_decides_whether_the_tracer_keeps_z(name):
    """A layer followed by an activation whose f' is written through h keeps no z; others keep it."""
    from gradwidgets.core.outputs import run_forward
    from gradwidgets.core.tracing import trace_forward

    act = gw.ACTIVATIONS[name]
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), act.make(), torch.nn.Linear(4, 1))
    _, traces = trace_forward(model, torch.randn(5, 3), run_forward)
    assert traces[0].activation.name == name
    assert (traces[0].zs[0] is None) == act.from_output


@pytest.mark.parametrize("name", [n for n in gw.ACTIVATIONS if gw.ACTIVATIONS[n].from_output])
def test_from_output_derivative_is_a_function_of_the_output(name):
    """Two z with the same h have the same f'(z): what lets the tracer drop z."""
    act = gw.ACTIVATIONS[name]
    z = torch.linspace(-6, 6, 2001, dtype=torch.float64)
    h, d = act(z), act.derivative(z)
    order = torch.argsort(h)
    same = torch.diff(h[order]) == 0
    assert torch.equal(torch.diff(d[order])[same], torch.zeros(int(same.sum()), dtype=torch.float64))
