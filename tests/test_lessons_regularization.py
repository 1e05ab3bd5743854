"""gradwidgets.lessons.regularization: clipping compared with torch's own, the L2 loss, the parameter norm."""

import math

import pytest
import torch

import gradwidgets as gw
from gradwidgets.lessons.regularization import ClipComparison, clip_comparison, l2_loss, parameter_norm


def _torch_clipped(model, X, y, c, how):
    """The gradient after torch.nn.utils' own clipping, on .grad: the independent reference."""
    model.zero_grad()
    torch.nn.functional.mse_loss(model(X), y).backward()
    params = list(model.parameters())
    if how == "norm":
        torch.nn.utils.clip_grad_norm_(params, c)
    else:
        torch.nn.utils.clip_grad_value_(params, c)
    out = torch.cat([p.grad.reshape(-1) for p in params]).double()
    model.zero_grad()
    return out


@pytest.mark.parametrize("c", [0.1, 1.0, 50.0, 1e5])
def test_clip_comparison_matches_torch_clipping(adding, c):
    model = gw.build_rnn(spectral_radius=2.0)
    cmp = clip_comparison(model, adding.X, adding.y, c)
    model.zero_grad()
    torch.nn.functional.mse_loss(model(adding.X), adding.y).backward()
    g = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double()
    for how, norm, cos in (
        ("norm", cmp.norm_clipped_norm, cmp.cos_norm),
        ("value", cmp.value_clipped_norm, cmp.cos_value),
    ):
        ref = _torch_clipped(model, adding.X, adding.y, c, how)
        assert norm == pytest.approx(float(ref.norm()), rel=1e-5)
        assert cos == pytest.approx(float(ref @ g / (ref.norm() * g.norm())), abs=1e-6)
    assert cmp.norm == pytest.approx(float(g.norm()), rel=1e-5)
    assert cmp.clamped == pytest.approx(float((g.abs() > c).double().mean()))
    assert cmp.size == g.numel()
    assert cmp.value_clipped_norm <= c * math.sqrt(cmp.size) * (1 + 1e-9)


def test_clip_comparison_leaves_the_model_alone(adding):
    model = gw.build_rnn(spectral_radius=2.0)
    before = [p.detach().clone() for p in model.parameters()]
    cmp = clip_comparison(model, adding.X, adding.y, 1.0)
    assert isinstance(cmp, ClipComparison) and "by value" in repr(cmp)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    with pytest.raises(ValueError, match="threshold"):
        clip_comparison(model, adding.X, adding.y, 0.0)


def test_l2_loss_adds_lambda_times_the_parameters_to_the_gradient(regression):
    model = gw.build_mlp(2, in_features=1)
    X, y = regression.X, regression.y
    params = list(model.parameters())
    plain = torch.autograd.grad(torch.nn.functional.mse_loss(model(X), y), params)
    penalized = torch.autograd.grad(l2_loss(model, 0.3)(model(X), y), params)
    for g, h, p in zip(plain, penalized, params, strict=True):
        torch.testing.assert_close(h, g + 0.3 * p)
    with pytest.raises(ValueError, match="strength"):
        l2_loss(model, -1.0)


def test_parameter_norm_is_the_norm_of_everything(regression):
    model = gw.build_mlp(3, in_features=1)
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()
    assert parameter_norm(model) == pytest.approx(float(flat.norm()))
