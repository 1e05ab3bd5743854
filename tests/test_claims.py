"""The course's claims about gradients, each a seeded experiment that fails if the claim is false."""

import numpy as np
import pytest
import torch

import gradwidgets as gw


def _profile(data, **kw):
    model = gw.build_mlp(in_features=data.X.shape[1], **kw)
    return gw.gradient_profile(model, data.X, data.y)


def test_deep_sigmoid_first_layer_gradient_is_orders_below_the_last(regression):
    prof = _profile(regression, num_layers=10, activation="sigmoid")
    assert prof.first_last_ratio < 1e-5
    # and the shrinkage is steady, layer after layer (each sigmoid' <= 1/4)
    assert np.all(np.diff(np.log10(prof.weight_grad_norm)) > 0)


@pytest.mark.parametrize("seed", range(4))
def test_relu_kaiming_keeps_scale_xavier_shrinks_normal_explodes(spirals, seed):
    X, y = spirals.X, spirals.y.float()
    std = {
        name: gw.gradient_profile(gw.build_mlp(30, activation="relu", init=name, seed=seed), X, y).act_std
        for name in ("kaiming_normal", "xavier_normal", "normal")
    }
    kaiming = std["kaiming_normal"][-1] / std["kaiming_normal"][0]
    assert 0.1 < kaiming < 10
    assert std["xavier_normal"][-1] / std["xavier_normal"][0] < 1e-3
    assert std["normal"][-1] / std["normal"][0] > 1e10


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_zero_init_gives_exactly_zero_hidden_weight_gradients(regression, activation):
    prof = _profile(regression, num_layers=5, activation=activation, init="zeros")
    assert np.all(prof.weight_grad_norm == 0)


def test_constant_init_keeps_units_identical_through_training(regression):
    """Symmetry, not linearity: every unit of a layer gets the same gradient and stays a copy."""
    model = gw.build_mlp(3, width=8, in_features=1, activation="sigmoid", init="constant", init_scale=0.3)
    hist = gw.train(model, regression.X, regression.y, 50, 0.5)
    assert hist.layer_grad_norm[-1].min() > 0  # it does learn something ...
    for lin in model.hidden_linears:  # ... but every row (unit) is still the same
        assert torch.allclose(lin.weight, lin.weight[:1].expand_as(lin.weight))


@pytest.mark.parametrize("fix", [{"norm": "batch"}, {"residual": True}])
def test_batch_norm_and_residual_bring_first_last_ratio_orders_closer_to_one(regression, fix):
    plain = _profile(regression, num_layers=20, activation="sigmoid")
    fixed = _profile(regression, num_layers=20, activation="sigmoid", **fix)
    plain_dist = abs(np.log10(plain.first_last_ratio))
    fixed_dist = abs(np.log10(fixed.first_last_ratio))
    assert plain_dist > 10
    assert fixed_dist < plain_dist - 8


def test_rnn_gradient_grows_backward_in_time_above_radius_one(adding):
    exploding = gw.gradient_profile(gw.build_rnn(spectral_radius=1.5), adding.X, adding.y).time_grad_norm
    vanishing = gw.gradient_profile(gw.build_rnn(spectral_radius=0.5), adding.X, adding.y).time_grad_norm
    assert exploding[0] > 10 * exploding[-1]
    assert vanishing[0] < 1e-6 * vanishing[-1]


def test_clip_norm_keeps_direction_clip_value_does_not():
    g = torch.tensor([3.0, 0.1])
    a, b = g.clone().requires_grad_(), g.clone().requires_grad_()
    a.grad, b.grad = g.clone(), g.clone()
    torch.nn.utils.clip_grad_norm_([a], 1.0)
    torch.nn.utils.clip_grad_value_([b], 0.5)
    cos = lambda u: float(u @ g / (u.norm() * g.norm()))  # noqa: E731
    assert cos(a.grad) == pytest.approx(1.0)
    assert cos(b.grad) < 0.99
