"""The numbers of book/glossary.md, each checked against the package and PyTorch."""

import math

import pytest
import torch

import gradwidgets as gw


def test_saturated_means_below_5_percent_of_the_largest_slope():
    """'saturation: gradwidgets counts an activation as saturated when f'(z) is below 5% of the
    function's largest slope.'"""
    assert gw.SATURATION_THRESHOLD == 0.05


@pytest.mark.parametrize(("name", "gain"), [("relu", math.sqrt(2)), ("tanh", 5 / 3), ("linear", 1.0)])
def test_gains_in_pytorchs_convention(name, gain):
    """'gain: ... sqrt(2) for ReLU, 5/3 for tanh and 1 for a linear layer in PyTorch's convention.'"""
    assert torch.nn.init.calculate_gain(name) == pytest.approx(gain)
    assert gw.ACTIVATIONS[name].gain == pytest.approx(gain, abs=1e-3)


def test_a_dead_unit_gets_no_gradient_but_the_layers_below_can_revive_it():
    """'dead unit: ... its incoming weights and bias get a gradient of exactly zero and cannot bring it
    back; only a change in the layers below can.'"""
    lin1, lin2 = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    with torch.no_grad():
        lin1.weight.fill_(1.0), lin1.bias.fill_(0.0)
        lin2.weight.fill_(1.0), lin2.bias.fill_(-5.0)  # dead for inputs below 5
    x = torch.tensor([[1.0], [2.0]])
    out = torch.relu(lin2(torch.relu(lin1(x)))).sum()
    out.backward()
    assert lin2.weight.grad.item() == 0 and lin2.bias.grad.item() == 0
    with torch.no_grad():
        lin1.weight.fill_(4.0)  # a change below the unit
    assert torch.relu(lin2(torch.relu(lin1(x)))).max() > 0
