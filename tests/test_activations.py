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
