"""The profile against an independent reference: torch.autograd.grad on the same model and loss."""

import numpy as np
import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.norms import group_norms, norms


def _reference_mlp(model, X, y, loss_fn):
    """Walk the blocks by hand, keep each post-activation h, and ask autograd directly."""
    hs, x = [], X
    for b in model.blocks:
        h = b.act(b.norm(b.linear(x)))
        hs.append(h)
        x = x + h if b.residual else h
    loss = loss_fn(model.head(x), y)
    ws = [lin.weight for lin in model.hidden_linears]
    grads = torch.autograd.grad(loss, ws + hs)
    return loss, grads[: len(ws)], grads[len(ws) :], hs


CONFIGS = [
    dict(activation="sigmoid"),
    dict(activation="relu", init="kaiming_normal", norm="batch"),
    dict(activation="gelu", norm="layer", residual=True),
    dict(activation="selu", init="lecun_normal"),
    dict(activation="tanh", init="orthogonal", residual=True),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_profile_matches_autograd(cfg, spirals):
    model = gw.build_mlp(6, width=32, out_features=2, **cfg)
    X, y = spirals.X, spirals.y
    prof = gw.gradient_profile(model, X, y, loss="cross_entropy")
    loss, wg, hg, hs = _reference_mlp(model, X, y, nn.functional.cross_entropy)
    assert prof.loss == pytest.approx(float(loss.detach()))
    torch.testing.assert_close(
        torch.tensor(prof.weight_grad_norm), torch.stack([g.norm() for g in wg]).double()
    )
    torch.testing.assert_close(torch.tensor(prof.act_grad_norm), torch.stack([g.norm() for g in hg]).double())
    ws = [lin.weight for lin in model.hidden_linears]
    ratio = torch.stack([g.norm() / w.norm() for g, w in zip(wg, ws, strict=True)]).double()
    torch.testing.assert_close(torch.tensor(prof.grad_to_weight), ratio)
    torch.testing.assert_close(torch.tensor(prof.act_mean), torch.stack([h.mean() for h in hs]).double())
    # one-pass float32 moments: agree with torch's two-pass std to ~1e-6 relative
    ref_std = torch.stack([h.std() for h in hs]).double()
    torch.testing.assert_close(torch.tensor(prof.act_std), ref_std, rtol=1e-5, atol=0)
    act = gw.get_activation(cfg["activation"])
    zs = [b.norm(b.linear(x)) for b, x in zip(model.blocks, [X, *hs[:-1]], strict=False)]
    if not cfg.get("residual"):
        sat = [float((act.derivative(z) < 0.05 * act.max_derivative).float().mean()) for z in zs]
        np.testing.assert_allclose(prof.saturation, sat, atol=1e-6)
    assert prof.layer_names == tuple(f"blocks.{i}.linear" for i in range(6))


def test_dead_fraction_counts_units_silent_on_the_whole_batch(spirals):
    model = gw.build_mlp(3, width=20, activation="relu", init="kaiming_normal")
    baseline = gw.gradient_profile(model, spirals.X, spirals.y.float()).dead_fraction
    with torch.no_grad():
        model.hidden_linears[1].bias[:5] = -100.0  # five units never fire
    prof = gw.gradient_profile(model, spirals.X, spirals.y.float())
    with torch.no_grad():
        h = model.blocks[1](model.blocks[0](spirals.X))
    assert prof.dead_fraction[1] == pytest.approx(float((h == 0).all(0).float().mean()))
    assert prof.dead_fraction[1] >= 5 / 20 and prof.dead_fraction[1] > baseline[1]


def test_profile_leaves_grads_params_and_bn_stats_untouched(spirals):
    model = gw.build_mlp(4, norm="batch")
    model(spirals.X).sum().backward()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    gw.gradient_profile(model, spirals.X, spirals.y.float())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    for p, g in zip(model.parameters(), grads, strict=True):
        assert torch.equal(p.grad, g)
    assert not any(m._forward_hooks for m in model.modules())


def test_foreign_sequential_and_conv(spirals):
    """Any nn.Module works: layers are found through hooks, in call order."""
    model = nn.Sequential(nn.Linear(2, 12), nn.Tanh(), nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 2))
    prof = gw.gradient_profile(model, spirals.X, spirals.y, loss="cross_entropy")
    assert prof.layer_names == ("0", "2", "4")
    assert prof.activations == ("tanh", "relu", "?")
    loss = nn.functional.cross_entropy(model(spirals.X), spirals.y)
    ref = torch.autograd.grad(loss, [model[0].weight, model[2].weight, model[4].weight])
    np.testing.assert_allclose(prof.weight_grad_norm, [float(g.norm()) for g in ref], rtol=1e-5)

    conv = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 3),
    )
    X = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.arange(16) % 3
    prof = gw.gradient_profile(conv, X, y, loss="cross_entropy")
    loss = nn.functional.cross_entropy(conv(X), y)
    ref = torch.autograd.grad(loss, [conv[0].weight, conv[2].weight, conv[5].weight])
    np.testing.assert_allclose(prof.weight_grad_norm, [float(g.norm()) for g in ref], rtol=1e-5)
    assert prof.layer_names == ("0", "2", "5")


def test_rnn_time_steps_match_autograd(adding):
    rnn = gw.build_rnn(spectral_radius=1.3)
    prof = gw.gradient_profile(rnn, adding.X, adding.y)
    hs, h = [], adding.X.new_zeros(adding.X.shape[0], rnn.cell.hidden_size)
    for t in range(adding.X.shape[1]):
        h = rnn.cell(adding.X[:, t], h)
        hs.append(h)
    loss = nn.functional.mse_loss(rnn.head(h), adding.y)
    ref = torch.autograd.grad(loss, hs)
    np.testing.assert_allclose(prof.time_grad_norm, [float(g.norm()) for g in ref], rtol=1e-5)
    assert prof.layer_names == ("cell", "head")
    assert len(prof.time_grad_norm) == adding.X.shape[1]


def test_repr_is_a_table(regression):
    prof = gw.gradient_profile(gw.build_mlp(3, in_features=1), regression.X, regression.y)
    text = repr(prof)
    assert text.startswith("GradientProfile(loss=")
    assert "blocks.2.linear" in text and "|dL/dW|" in text


def test_same_seed_same_profile_bit_for_bit(spirals):
    a = gw.gradient_profile(gw.build_mlp(8, seed=3), spirals.X, spirals.y.float())
    b = gw.gradient_profile(gw.build_mlp(8, seed=3), spirals.X, spirals.y.float())
    assert np.array_equal(a.weight_grad_norm, b.weight_grad_norm)
    assert np.array_equal(a.act_grad_norm, b.act_grad_norm)


def test_non_finite_is_a_result_not_an_exception(regression):
    model = gw.build_mlp(4, in_features=1)
    with torch.no_grad():
        model.hidden_linears[2].weight[0, 0] = float("nan")
    prof = gw.gradient_profile(model, regression.X, regression.y)
    assert not prof.finite
    assert np.isnan(prof.loss)


def test_tiny_gradients_do_not_underflow_to_zero(spirals):
    """A 40-layer sigmoid net's first gradients are ~1e-25: float32 norms would say 0."""
    model = gw.build_mlp(40, activation="sigmoid")
    prof = gw.gradient_profile(model, spirals.X, spirals.y.float())
    loss = nn.functional.mse_loss(model(spirals.X), spirals.y.float().reshape(-1, 1))
    (ref,) = torch.autograd.grad(loss, [model.hidden_linears[0].weight])
    assert 0 < prof.weight_grad_norm[0] < 1e-15
    assert prof.weight_grad_norm[0] == pytest.approx(float(ref.double().norm()), rel=1e-4)
    assert np.all(prof.act_grad_norm > 0)


def test_gelu_negative_slopes_are_not_counted_as_saturated(spirals):
    """GELU's slope dips to about -0.13 near z = -0.75: a steep (if negative) slope is not flat."""
    model = gw.build_mlp(2, width=16, activation="gelu")
    prof = gw.gradient_profile(model, spirals.X, spirals.y.float())
    act = gw.get_activation("gelu")
    z = model.preactivations(spirals.X)[0]
    expected = float((act.derivative(z).abs() < 0.05 * act.max_derivative).float().mean())
    assert prof.saturation[0] == pytest.approx(expected)


@pytest.mark.parametrize("frozen", [[0], [2], [0, 1, 2]], ids=str)
def test_frozen_layers_still_report_dl_dh(frozen, spirals):
    """dL/dh of a layer with nothing to train is asked of autograd; the others pass a hook."""
    model = gw.build_mlp(4, width=16)
    for i in frozen:
        model.hidden_linears[i].weight.requires_grad_(False)
    y = spirals.y.float().reshape(-1, 1)
    prof = gw.gradient_profile(model, spirals.X, y)
    hs, x = [], spirals.X
    for b in model.blocks:
        x = b(x)
        hs.append(x)
    hg = torch.autograd.grad(nn.functional.mse_loss(model.head(x), y), hs)
    np.testing.assert_allclose(prof.act_grad_norm, [float(g.norm()) for g in hg], rtol=1e-5)
    assert prof.weight_grad_norm[frozen].tolist() == [0.0] * len(frozen)


def test_norms_add_up_each_group_whatever_its_size():
    a, b = torch.full((2,), 3.0), torch.full((2,), 4.0)  # norms sqrt(18) and sqrt(32)
    np.testing.assert_allclose(norms([[a, b], []]), [np.sqrt(50.0), 0.0])
    np.testing.assert_allclose(norms([[a, None], [b]]), [np.sqrt(18.0), np.sqrt(32.0)])
    np.testing.assert_allclose(group_norms(np.array([3.0, 4.0]), [2, 0]), [5.0, 0.0])
    np.testing.assert_allclose(group_norms(np.array([3.0, 4.0]), [1, 1]), [3.0, 4.0])
