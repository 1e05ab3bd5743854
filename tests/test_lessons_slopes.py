"""Slopes and backward factors, checked against autograd and plain matrix products."""

import math

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.lessons.slopes import (
    gaussian_slope_rms,
    measured_backward_factor,
    predicted_backward_factor,
    predicted_backward_factors,
    slope_rms,
)


def _manual_backward(model, X, y):
    """Each hidden layer's z and dL/dh from a hand-written forward pass (retain_grad)."""
    zs, hs, h = [], [], X
    for block in model.blocks:
        z = block.linear(h)
        z.retain_grad()
        h = block.act(z)
        h.retain_grad()
        zs.append(z)
        hs.append(h)
    loss = torch.nn.functional.mse_loss(model.head(h).reshape(-1), y)
    loss.backward()
    return zs, [t.grad for t in hs]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "gelu", "selu"])
def test_slope_rms_matches_autograd_derivative(spirals, activation):
    model = gw.build_mlp(4, activation=activation, init="lecun_normal")
    zs, _ = _manual_backward(model, spirals.X, spirals.y.float())
    expected = []
    for z in zs:
        z = z.detach().double().requires_grad_(True)
        (d,) = torch.autograd.grad(gw.get_activation(activation)(z).sum(), z)
        expected.append(float(d.pow(2).mean().sqrt()))
    np.testing.assert_allclose(slope_rms(model, spirals.X), expected, rtol=1e-6)


def test_measured_factor_matches_hand_written_backward(spirals):
    model = gw.build_mlp(8, activation="tanh")
    _, grads = _manual_backward(model, spirals.X, spirals.y.float())
    expected = (grads[0].double().norm() / grads[-1].double().norm()).item() ** (1 / 7)
    profile = gw.gradient_profile(model, spirals.X, spirals.y.float())
    assert measured_backward_factor(profile) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "elu", "selu"])
def test_prediction_is_within_ten_percent_for_lecun_networks(spirals, activation):
    model = gw.build_mlp(15, activation=activation, init="lecun_normal")
    profile = gw.gradient_profile(model, spirals.X, spirals.y.float())
    predicted, measured = predicted_backward_factor(model, spirals.X), measured_backward_factor(profile)
    assert predicted == pytest.approx(measured, rel=0.1)


def test_predicted_factors_use_the_weight_scale(spirals):
    """For a linear network the slope is 1, so the factor is the RMS row norm of W."""
    model = gw.build_mlp(5, activation="linear", init="normal", init_scale=0.5)
    factors = predicted_backward_factors(model, spirals.X)
    assert factors.shape == (4,)
    np.testing.assert_allclose(factors, 0.5 * np.sqrt(64), rtol=0.1)


def test_plain_stacks_only(spirals):
    with pytest.raises(ValueError, match="norm layers or skips"):
        slope_rms(gw.build_mlp(3, residual=True), spirals.X)
    with pytest.raises(ValueError, match="MLP"):
        slope_rms(torch.nn.Linear(2, 2), spirals.X)


def test_gaussian_slope_rms_against_closed_forms():
    """ReLU: sqrt(1/2) at any scale; sigmoid near 0: 1/4; SELU: lam^2 (1/2 + alpha^2 e^2q Phi(-2 sqrt q))."""
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    for q in (0.1, 1.0, 2.0):
        assert gaussian_slope_rms("relu", q) == pytest.approx(0.5**0.5, rel=1e-4)
        phi = 0.5 * math.erfc(2 * math.sqrt(q) / math.sqrt(2))
        expected = lam * math.sqrt(0.5 + alpha**2 * math.exp(2 * q) * phi)
        assert gaussian_slope_rms("selu", q) == pytest.approx(expected, rel=1e-6)
    assert gaussian_slope_rms("sigmoid", 1e-6) == pytest.approx(0.25, rel=1e-5)


def test_gaussian_slope_rms_matches_sampled_slopes():
    """An independent route: autograd's slope on a large seeded Gaussian sample."""
    z = torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.7
    z.requires_grad_(True)
    (d,) = torch.autograd.grad(torch.nn.functional.gelu(z).sum(), z)
    assert gaussian_slope_rms("gelu", 0.49) == pytest.approx(float(d.pow(2).mean().sqrt()), rel=2e-3)


def test_gaussian_slope_rms_checks_its_arguments():
    with pytest.raises(ValueError, match="variance"):
        gaussian_slope_rms("tanh", 0.0)
    with pytest.raises(ValueError, match="activation"):
        gaussian_slope_rms("relux", 1.0)
