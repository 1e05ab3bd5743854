import math

import numpy as np
import pytest
import torch

import gradwidgets as gw

FAN_OUT, FAN_IN = 384, 256


@pytest.mark.parametrize("name", list(gw.INITS))
def test_empirical_variance_matches_formula(name):
    scheme = gw.get_init(name)
    w = torch.empty(FAN_OUT, FAN_IN)
    scheme.apply(w, gain=1.7, scale=None, generator=torch.Generator().manual_seed(1))
    expected = scheme.variance(FAN_IN, FAN_OUT, gain=1.7)
    got = float(w.var())
    if name == "constant":
        assert torch.all(w == w[0, 0]) and float(w[0, 0]) == pytest.approx(0.1)
    if expected == 0:
        assert got == pytest.approx(0, abs=1e-12)
    else:
        # 98k draws: the sample variance is within 2% of the truth with overwhelming probability
        assert got == pytest.approx(expected, rel=0.02)


def test_pytorch_default_is_what_nn_linear_does():
    torch.manual_seed(0)
    layer = torch.nn.Linear(FAN_IN, FAN_OUT)
    assert float(layer.weight.detach().abs().max()) <= 1 / math.sqrt(FAN_IN)
    expected = gw.get_init("pytorch_default").variance(FAN_IN, FAN_OUT)
    assert float(layer.weight.detach().var()) == pytest.approx(expected, rel=0.02)


def test_xavier_is_not_lecun():
    """The 1/fan_in rule is LeCun's; Glorot & Bengio average fan_in and fan_out."""
    xavier = gw.get_init("xavier_normal").variance(100, 400)
    lecun = gw.get_init("lecun_normal").variance(100, 400)
    assert xavier == pytest.approx(2 / 500)
    assert lecun == pytest.approx(1 / 100)


def test_orthogonal_weights_are_orthogonal():
    w = torch.empty(64, 64)
    gw.get_init("orthogonal").apply(w, gain=2.0, scale=None, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(w.T @ w, 4.0 * torch.eye(64), atol=1e-4, rtol=0)


def test_scale_sets_normal_std():
    w = torch.empty(500, 500)
    gw.get_init("normal").apply(w, gain=1.0, scale=0.3, generator=torch.Generator().manual_seed(0))
    assert float(w.std()) == pytest.approx(0.3, rel=0.01)


def test_default_gains():
    relu = gw.get_activation("relu").gain
    assert gw.core.inits.resolve_gain(gw.get_init("kaiming_normal"), None, relu) == pytest.approx(
        math.sqrt(2)
    )
    assert gw.core.inits.resolve_gain(gw.get_init("xavier_normal"), None, relu) == 1.0
    assert gw.core.inits.resolve_gain(gw.get_init("xavier_normal"), 0.5, relu) == 0.5


def test_formulas_are_text():
    assert all(isinstance(i.formula, str) and "W" in i.formula for i in gw.INITS.values())
    assert np.isclose(gw.get_init("uniform").variance(1, 1, scale=3.0), 3.0)


def test_every_init_carries_its_label():
    labels = {name: init.label for name, init in gw.INITS.items()}
    assert labels["kaiming_normal"] == "He" and labels["xavier_normal"] == "Xavier"
    assert labels["normal"] == "N(0, 1)" and labels["orthogonal"] == "orthogonal"
    assert all(labels.values())
