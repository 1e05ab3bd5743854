"""Remedies read the model: nothing it already has, the measured reason each fits, none for a design."""

import math

import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.remedies import read_model


def _stack(depth, act, width=32, norm=None, seed=0):
    torch.manual_seed(seed)
    layers = [nn.Linear(4, width)]
    for _ in range(depth):
        layers += [nn.BatchNorm1d(width)] if norm else []
        layers += [act(), nn.Linear(width, width)]
    return nn.Sequential(*layers, act(), nn.Linear(width, 1))


def _batch(scale=1.0):
    g = torch.Generator().manual_seed(1)
    return scale * torch.randn(64, 4, generator=g), torch.randn(64, 1, generator=g)


def test_what_the_model_lacks_is_advised_and_what_it_has_is_not():
    X, y = _batch()
    plain = gw.diagnose(_stack(30, nn.Sigmoid), X, y)
    (advice,) = [r.advice for r in plain.remedies if r.flag == "vanishing"]
    assert "sigmoid shrinks the gradient" in advice and "add normalization" in advice

    normed = gw.diagnose(_stack(30, nn.Sigmoid, norm=True), X, y)
    for r in normed.remedies:
        assert "add normalization" not in r.advice
    vanishing = [r.advice for r in normed.remedies if r.flag == "vanishing"]
    assert not vanishing or "it has normalization (BatchNorm1d) but no residual connections" in vanishing[0]


def test_exploding_names_the_layer_and_its_measured_init_scale():
    model = _stack(6, nn.ReLU)
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                m.weight.normal_(0, 4 / math.sqrt(m.in_features))  # std x sqrt(fan_in) = 4
    report = gw.diagnose(model, *_batch())
    (remedy,) = [r for r in report.remedies if r.flag == "exploding"]
    assert "std(W) x sqrt(fan_in) = 4" in remedy.advice and "lower the init scale" in remedy.advice


def test_dead_units_are_traced_to_negative_biases_when_that_is_the_cause():
    model = _stack(3, nn.ReLU)
    with torch.no_grad():
        model[2].bias.fill_(-3.0)
    report = gw.diagnose(model, *_batch())
    (remedy,) = [r for r in report.remedies if r.flag == "dead"]
    assert remedy.advice.startswith("the biases of 2 average -3: start them at 0;")


def test_saturation_from_unscaled_inputs_says_so():
    X, y = _batch(scale=40.0)
    report = gw.diagnose(_stack(2, nn.Tanh), X, y)
    (remedy,) = [r for r in report.remedies if r.flag == "saturated"]
    assert f"X has std {float(X.std()):.3g}: standardize it" in remedy.advice  # the measured scale


def test_read_model_measures_gains_biases_and_structure():
    model = _stack(2, nn.ReLU, norm=True)
    X, y = _batch()
    profile = gw.gradient_profile(model, X, y)
    facts = read_model(model, profile, X, ())
    for gain, layer in zip(facts.gains, profile.layers, strict=True):
        w = layer.weights[0].detach().double()
        assert gain == pytest.approx(float(w.std()) * math.sqrt(w.shape[1]))
    assert facts.norms == ("BatchNorm1d",) and not facts.residual
    assert facts.input_std == pytest.approx(float(X.double().std()))


def test_a_zero_initialised_head_gets_no_advice_at_all():
    model = _stack(3, nn.ReLU)
    with torch.no_grad():
        model[-1].weight.zero_()
    report = gw.diagnose(model, *_batch())
    assert report.remedies == () and report.healthy


@pytest.mark.parametrize("residual", [False, True])
def test_the_packages_own_blocks_say_whether_they_are_residual(residual):
    """build_mlp's blocks are called Block whether or not they add their input back: their own
    ``residual`` flag decides, not the class name (a plain MLP was read as residual)."""
    model = gw.build_mlp(4, width=16, in_features=4, residual=residual)
    X, y = _batch()
    facts = read_model(model, gw.gradient_profile(model, X, y), X, ())
    assert facts.residual is residual
