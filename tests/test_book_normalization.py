"""The claims of book/normalization-skips.md, each recomputed with the chapter's own settings."""

import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.explorers import gradient_flow, norm_training
from gradwidgets.lessons.normalization import activation_drift, inject_shift, input_scales
from gradwidgets.plots import EXPLODING_ABOVE

LN2 = math.log(2)


@functools.cache
def _data():
    """'the batch of how-to-use: 256 points of the two-class spiral'."""
    return gw.make_dataset("spirals", 256)


def _xy():
    data = _data()
    return data.X, data.y.float()


@functools.cache
def _model(depth, activation, norm=None, residual=False, init="xavier_normal"):
    return gw.build_mlp(depth, activation=activation, norm=norm, residual=residual, init=init)


@functools.cache
def _profile(depth, activation, norm=None, residual=False, init="xavier_normal"):
    return gw.gradient_profile(_model(depth, activation, norm, residual, init), *_xy())


@functools.cache
def _scales(depth, activation, norm=None, residual=False):
    return input_scales(_model(depth, activation, norm, residual), _xy()[0])


def _dh_ratio(p):
    return p.act_grad_norm[0] / p.act_grad_norm[-1]


def _per_layer(p):
    return _dh_ratio(p) ** (1 / (len(p) - 1))


# ---- skip connections


def test_plain_sigmoid_gradient_vanishes():
    """'Without skips, the gradient reaching the first layer is {sig_plain_dh} of the one at the top.'"""
    assert _dh_ratio(_profile(20, "sigmoid")) < 1e-10


def test_residual_sigmoid_gradient_arrives_at_about_its_top_size():
    """'With skips, the ratio is {sig_res_dh:.2f}: the gradient arrives at about the size it had at the
    top. Here the branches are small (a slope of at most 1/4), so the terms they add change little'."""
    assert 0.5 < _dh_ratio(_profile(20, "sigmoid", residual=True)) < 2
    model, X = _model(20, "sigmoid", residual=True), _xy()[0]
    slopes = [gw.ACTIVATIONS["sigmoid"].derivative(z.double()) for z in model.preactivations(X)]
    assert max(float(d.max()) for d in slopes) <= 0.25
    assert all(torch.linalg.matrix_norm(lin.weight.detach(), 2) < 2.5 for lin in model.hidden_linears[1:])


def test_the_identity_guarantees_a_path_not_a_size():
    """'It guarantees a path, not a size: the other terms are added to it, and their sum can be much
    larger than I or partly cancel it (a factor I + A_l is even singular when A_l has an eigenvalue
    -1).' and 'the gradient arriving at a block is passed down as it is, plus a term through the
    branch, which can add to it or partly cancel it'."""
    g = torch.tensor([1.0, 1.0], dtype=torch.float64)
    cancel = torch.tensor([[-1.0, 0.0], [0.0, -0.5]], dtype=torch.float64)  # A^T g points against g
    assert torch.linalg.norm(g + cancel.T @ g) < torch.linalg.norm(g)
    assert torch.linalg.svdvals(torch.eye(2, dtype=torch.float64) + cancel).min() == 0
    relu = _dh_ratio(_profile(20, "relu", residual=True))
    assert relu > 100  # with ReLU branches the sum is much larger than the identity alone


def test_residual_sigmoid_weight_gradients_differ_because_inputs_grow():
    """'With skips, |dL/dW1| is still only {sig_res_dw} of |dL/dW20| ... Every sigmoid branch adds a
    positive number (about 0.5) to the running sum, so after 19 blocks its entries have a root mean
    square of {sig_res_rms:.1f}, while the first layer's input is the data itself.'"""
    p, s = _profile(20, "sigmoid", residual=True), _scales(20, "sigmoid", residual=True)
    assert p.first_last_ratio < 1e-2
    assert 0.4 < p.act_mean.mean() < 0.6 and p.act_mean.min() > 0.25  # each branch adds about 0.5
    assert s.input_rms[-1] > 5 and s.input_rms[-1] > 10 * s.input_rms[0]


def test_residual_relu_grows_instead():
    """'With skips (and Xavier's scale) the ratio is {relu_res_dh}. A ReLU branch is not small ... The
    running sum grows too, and the largest weight gradient reaches {relu_res_max}. The identity gives
    the gradient a path; it does not keep its size.'"""
    p, s = _profile(20, "relu", residual=True), _scales(20, "relu", residual=True)
    assert _dh_ratio(p) > 100
    assert s.input_rms[-1] > 10 * s.input_rms[1]
    assert p.weight_grad_norm.max() > EXPLODING_ABOVE


def test_plain_relu_needs_he_not_skips():
    """'Without skips and with Xavier's scale the gradient reaching the first layer is {relu_plain_dh}
    of the top one; with He's initialization and still no skips it is {relu_he_dh}: for a plain ReLU
    network of this depth the initialization, not a skip, is the cure.'"""
    assert _dh_ratio(_profile(20, "relu")) < 1e-2
    assert 0.2 < _dh_ratio(_profile(20, "relu", init="kaiming_normal")) < 2


# ---- batch normalization: the formulas


def test_batch_norm_backward_formula_matches_autograd():
    """'dL/dz_i = gamma / sqrt(sigma^2 + eps) (g_i - mean g - zhat_i mean(g zhat))' and 'the bracket ...
    [is] a projection that can only shorten it.'"""
    gen = torch.Generator().manual_seed(0)
    z = (3 * torch.randn(64, 5, generator=gen, dtype=torch.float64) + 1).requires_grad_()
    bn = nn.BatchNorm1d(5).double()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0, generator=gen)
    g = torch.randn(64, 5, generator=gen, dtype=torch.float64)
    (auto,) = torch.autograd.grad(bn(z), z, g)
    var = z.detach().var(0, correction=0)
    zhat = (z.detach() - z.detach().mean(0)) / torch.sqrt(var + bn.eps)
    bracket = g - g.mean(0) - zhat * (g * zhat).mean(0)
    formula = bn.weight.detach() / torch.sqrt(var + bn.eps) * bracket
    torch.testing.assert_close(auto, formula)
    assert torch.all(bracket.norm(dim=0) <= g.norm(dim=0) + 1e-12)


def test_batch_norm_fixes_each_units_mean_and_spread():
    """'Whatever the scale of W_l and of h_(l-1), each unit enters the activation with mean beta_j and
    standard deviation gamma_j over the batch.'"""
    model = gw.build_mlp(5, activation="relu", init="normal", norm="batch")
    zs = model.preactivations(_xy()[0])
    for z in zs:
        assert z.mean(0).abs().max() < 1e-5
        assert torch.allclose(z.std(0, correction=0), torch.ones(z.shape[1]), atol=1e-2)  # up to eps


def test_bias_has_no_effect_under_batch_norm():
    """'The constant bias b_l is removed by the mean subtraction, so it has no effect.'"""
    X = _xy()[0]
    model = gw.build_mlp(5, activation="tanh", norm="batch")
    before = model(X)
    with torch.no_grad():
        model.hidden_linears[2].bias.add_(3.0)
    torch.testing.assert_close(model(X), before, atol=1e-5, rtol=1e-5)


# ---- batch norm in a deep sigmoid network


def test_plain_sigmoid_squeezes_examples_together():
    """'In the plain network, the spread of z20 over the batch is {plain_batch_std}: the twenty layers
    have made all 256 spiral points look the same.'"""
    assert _scales(20, "sigmoid").batch_std[-1] < 1e-6


def test_batch_norm_restores_the_spread_and_divides_by_it():
    """'What reaches z20 has a spread of {bn_batch_std:.2f} ... a factor of about {bn_inverse:.1f} in
    each layer's backward pass. That more than cancels the sigmoid's slope of at most 1/4.' ('If the
    signal had shrunk by a factor of 5 ... scales the gradient up by as much as 5.')"""
    std = _scales(20, "sigmoid", "batch").batch_std
    assert np.all((std[1:] > 0.1) & (std[1:] < 0.3))
    assert 0.25 * (1 / std[-1]) > 1


def test_batch_norm_turns_the_sigmoids_shrinking_into_growth():
    """'The gradient now changes by a factor of {bn_factor:.2f} per layer instead of
    {plain_factor:.2f}. Above 1: going down, it grows, and the first layer's gradient is
    {bn_dh_ratio:.0f} times the last one's.'"""
    plain, bn = _profile(20, "sigmoid"), _profile(20, "sigmoid", "batch")
    assert _per_layer(plain) < 0.3
    assert _per_layer(bn) > 1
    assert _dh_ratio(bn) > 10


def test_spread_over_units_stays_near_a_half():
    """'The spread of z20 over the units of one example stays around 0.5 in all three networks.'"""
    for norm in (None, "batch", "layer"):
        assert 0.3 < _scales(20, "sigmoid", norm).feature_std[-1] < 0.8


def test_layer_norm_divides_by_about_two_and_the_gradient_still_vanishes():
    """'The spread of z20 over the units of one example stays around 0.5 ... Layer norm divides by this
    spread, a factor of about 2 ... The gradient still shrinks by a factor of {ln_factor:.2f} per
    layer, to {ln_dh_ratio} at the first layer; and the differences between examples still
    vanish.'"""
    s, p = _scales(20, "sigmoid", "layer"), _profile(20, "sigmoid", "layer")
    assert np.all((1 / s.feature_std[1:] > 1.4) & (1 / s.feature_std[1:] < 2.5))
    assert _per_layer(p) < 0.5
    assert _dh_ratio(p) < 1e-6
    assert s.batch_std[-1] < 1e-5


def test_layer_norm_does_not_depend_on_the_rest_of_the_batch():
    """'It does not depend on the rest of the batch.'"""
    X = _xy()[0]
    model = gw.build_mlp(5, activation="tanh", norm="layer")
    torch.testing.assert_close(model(X[:7]), model(X)[:7])


def test_layer_norm_does_much_better_with_tanh_and_relu():
    """'With tanh or ReLU ... layer norm does much better.'"""
    sig = abs(math.log10(_dh_ratio(_profile(20, "sigmoid", "layer"))))
    for act in ("tanh", "relu"):
        assert abs(math.log10(_dh_ratio(_profile(20, act, "layer")))) < 2 < sig


# ---- the gradient-flow explorer


@functools.cache
def _flow():
    return gradient_flow(
        depths=(10, 20, 40),
        activations=("sigmoid", "tanh", "relu"),
        inits=("xavier_normal",),
        norms=(None, "batch", "layer"),
        residual=(False, True),
    )


def _flow_grads(**cfg):
    ex = _flow()
    return ex.run(ex.config(**cfg)).data["grads"]["value"]


def test_flow_explorer_grid_is_small():
    """The chapter's gradient-flow explorer bakes at most ~60 configurations."""
    assert _flow().grid_size <= 60


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_batch_norm_first_layer_wins_more_with_depth(activation):
    """'Batch norm without skips at depths 10, 20 and 40, with each activation: the first layer's gradient
    is larger than the last one's, by more in deeper networks.'"""
    ratios = [
        (g := _flow_grads(depth=d, activation=activation, norm="batch", residual=False))[0] / g[-1]
        for d in (10, 20, 40)
    ]
    assert ratios[0] > 1 and ratios[0] < ratios[1] < ratios[2]


def test_residual_relu_climbs_into_the_exploding_zone():
    """'ReLU with skip connections and no normalization, at depths 10, 20 and 40: the gradient climbs
    into the exploding zone.'"""
    peaks = [_flow_grads(depth=d, activation="relu", norm=None, residual=True).max() for d in (10, 20, 40)]
    assert peaks[0] < peaks[1] < peaks[2] and peaks[2] > EXPLODING_ABOVE


# ---- the training explorer


@functools.cache
def _training():
    return norm_training(
        norms=(None, "batch"),
        residual=(False, True),
        activations=("sigmoid", "relu"),
        depths=(20,),
        steps=150,
    )


@functools.cache
def _trained(norm, residual, activation):
    ex = _training()
    return ex.run(ex.config(norm=norm, residual=residual, activation=activation))


def _final_loss(result):
    return float(np.asarray(result.data["loss"]["loss"])[-1])


def _heat(result):
    return np.asarray(result.data["heat"]["value"]).reshape(-1, 20)


def test_training_explorer_grid_is_small():
    """The chapter's training explorer bakes at most ~18 configurations."""
    assert _training().grid_size <= 18


@pytest.mark.slow
def test_plain_networks_learn_nothing():
    """'Without normalization or skips, neither network of the explorer learns anything in 150 steps:
    in the heatmap the sigmoid network's lower layers are dark, starved of gradient. (The ReLU one
    has Xavier's initialization...)' ('20-layer networks of 32 units for 150 full-batch steps of SGD
    (learning rate 0.1, momentum 0.9) ... a network that has learned nothing sits at ln 2 ~
    0.693')"""
    assert f"{LN2:.3f}" == "0.693"
    assert gw.build_mlp(2).config["init"] == "xavier_normal"  # the explorer builds with the default
    for act in ("sigmoid", "relu"):
        assert _final_loss(_trained(None, False, act)) > 0.6
    assert np.all(_heat(_trained(None, False, "sigmoid"))[:, 0] < 1e-8)


@pytest.mark.slow
def test_skips_alone_start_sigmoid_and_blow_up_relu():
    """'Skips alone let the sigmoid network start, slowly; with ReLU they make the running sum and the
    gradient explode, and training diverges within a few steps.'"""
    sig = _trained(None, True, "sigmoid")
    assert 0.1 < _final_loss(sig) < LN2
    relu = _trained(None, True, "relu")
    assert relu.problem and relu.status.startswith("Diverged at step")
    assert int(relu.status.split("step ")[1].split(":")[0]) <= 5


@pytest.mark.slow
def test_batch_norm_trains_both_with_and_without_skips():
    """'Batch norm makes both activations train, with or without skips.'"""
    for residual in (False, True):
        for act in ("sigmoid", "relu"):
            assert _final_loss(_trained("batch", residual, act)) < 0.3


@pytest.mark.slow
def test_batch_norm_spread_of_layer_gradients_narrows_after_a_few_steps():
    """'Without skips, at step 0, the first layer's gradient is more than 20 times the last one's ...
    by step 5 the largest layer gradient is within a factor of 10 of the smallest.'"""
    for act in ("sigmoid", "relu"):
        heat = _heat(_trained("batch", False, act))
        assert heat[0, 0] / heat[0, -1] > 20
        assert heat[5].max() / heat[5].min() < 10


# ---- myths


def test_batch_norm_rescues_weights_of_the_wrong_scale():
    """'Take a network whose weights are far too large, every weight drawn from N(0, 1): each layer
    multiplies the signal by about sqrt(64/2) ~ 6, and over 20 layers the activations, the loss and the
    gradients blow up. With batch norm, every hidden layer's input is rescaled and nothing
    overflows.'"""
    plain, bn = _profile(20, "relu", init="normal"), _profile(20, "relu", "batch", init="normal")
    growth = (plain.act_std[-1] / plain.act_std[1]) ** (1 / 18)
    assert 4 < growth < 8
    assert plain.loss > 1e20 and plain.weight_grad_norm.max() > 1e20
    assert bn.finite and bn.loss < 100 and bn.weight_grad_norm.max() < 1e4
    # 'The loss and the gradients stay finite, though still large: nothing normalizes the output
    # layer, whose weights are N(0, 1) too.'
    model, X = _model(20, "relu", "batch", init="normal"), _xy()[0]
    assert bn.loss > 10 and bn.weight_grad_norm.max() > 100
    assert float(model.head.weight.detach().std()) == pytest.approx(1, abs=0.3)
    with torch.no_grad():
        assert float(model(X).std()) > 3  # the N(0, 1) read-out of unit-scale features


def test_batch_norm_gradient_ratio_grows_with_depth():
    """'The ratio of the table grows with depth, to {bn_growth_80} at 80 layers: the gradient explodes
    from the last layer to the first, because of batch norm.' (depths 5, 10, 20, 40 and 80)"""
    X, y = _xy()
    ratios = [
        gw.gradient_profile(gw.build_mlp(d, activation="relu", norm="batch"), X, y).first_last_ratio
        for d in (5, 10, 20, 40, 80)
    ]
    assert np.all(np.diff(ratios) > 0)
    assert ratios[-1] > 1e5


@functools.cache
def _fair(lr, init, norm):
    data = _data()
    model = gw.build_mlp(20, width=32, activation="relu", init=init, norm=norm, out_features=2)
    return gw.train(model, data.X, data.y, 150, lr, momentum=0.9, loss="cross_entropy")


@pytest.mark.slow
def test_fair_baseline_he_plain_relu_learns_but_only_at_small_learning_rates():
    """'With He's initialization the plain ReLU network does learn: at lr = 0.01 its loss falls to
    {fair_he_001_final}. But its training is fragile. At 0.03 the loss reaches {fair_he_003_lowest}
    and climbs back to {fair_he_003_final}; at 0.1 it gets down to {fair_he_01_lowest} and then
    diverges at step {fair_he_01_diverged}. With batch norm the final loss is at most
    {fair_bn_worst}, at every one of these learning rates ... at learning rates ten times larger than
    the plain network can take.'"""
    he = {lr: _fair(lr, "kaiming_normal", None) for lr in (0.1, 0.03, 0.01)}
    assert he[0.01].diverged_at is None and he[0.01].final_loss < 0.3
    assert min(he[0.03].loss) < 0.3 and he[0.03].final_loss > 2 * min(he[0.03].loss)
    assert he[0.1].diverged_at is not None and min(he[0.1].loss[: he[0.1].diverged_at]) < 0.6
    for lr in (0.1, 0.03, 0.01):
        bn = _fair(lr, "xavier_normal", "batch")
        assert bn.diverged_at is None and bn.final_loss < 0.01
        assert _fair(lr, "xavier_normal", None).final_loss > 0.5  # the explorer's plain network
    assert he[0.01].final_loss > 10 * _fair(0.1, "xavier_normal", "batch").final_loss


@functools.cache
def _drift(init, norm, shift):
    data = _data()
    model = gw.build_mlp(20, width=32, activation="relu", init=init, norm=norm, out_features=2)
    inject_shift(model, shift)
    return activation_drift(model, data.X, data.y, 150, 0.1, momentum=0.9, loss="cross_entropy")


@pytest.mark.slow
def test_batch_norm_still_trains_with_injected_covariate_shift():
    """'The injected shift does what it was meant to: at every step each unit's mean moves by a median
    {ics_shift_mean} of its spread and the spread changes by {ics_shift_scale}, where in the same
    network without the noise both move by {ics_bn_drift} or less. That is of the same size as the
    drift of the plain He-initialized network at this learning rate ({ics_he_mean} and
    {ics_he_scale}) before it diverges at step {ics_he_diverged}. Yet the shifted network still
    trains: its final loss is {ics_shift}, against {ics_bn} for plain batch norm and
    {ics_plain:.2f} for the Xavier network without normalization, which learns nothing.' (each unit
    multiplied by e^(0.1 a) and shifted by 0.1 b); Summary: 'a random "covariate shift" injected at
    every step, thousands of times larger than the drift of the same network without it'."""
    plain, he = _drift("xavier_normal", None, 0.0), _drift("kaiming_normal", None, 0.0)
    bn, shift = _drift("xavier_normal", "batch", 0.0), _drift("xavier_normal", "batch", 0.1)
    assert plain.history.final_loss > 0.5
    assert shift.history.final_loss < 0.05 and bn.history.final_loss < shift.history.final_loss
    assert he.history.diverged_at is not None
    assert all(0.05 < v < 0.15 for v in shift.typical)
    assert max(bn.typical) < 1e-3 * min(shift.typical)
    he_mean, he_scale = he.typical
    assert 0.5 < he_mean / shift.typical[0] < 3 and 0.5 < he_scale / shift.typical[1] < 3


# ---- exercises


def test_tanh_40_exercise():
    """'Batch norm without skips gives by far the largest ratio, {t40_bn:.0f} ... The plain tanh network
    is the closest to 1 ({t40_plain:.1f}) ... Adding skips to the batch-norm network cuts its ratio to
    {t40_bn_skip:.0f}.' (depth 40)"""
    r = {(n, s): _profile(40, "tanh", n, s).first_last_ratio for n in (None, "batch") for s in (False, True)}
    largest = r[("batch", False)]
    assert all(largest > 5 * v for k, v in r.items() if k != ("batch", False))
    assert min(r, key=lambda k: abs(math.log(r[k]))) == (None, False)
    assert r[("batch", True)] < r[("batch", False)] / 3


def test_scaling_weights_under_batch_norm():
    """'The loss is unchanged to five digits and the gradient of W5 is divided by 10 ... The other layers'
    gradients barely change (by at most a few percent, through epsilon).'"""
    X, y = _xy()
    model = gw.build_mlp(20, activation="relu", norm="batch")
    before = gw.gradient_profile(model, X, y)
    with torch.no_grad():
        model.hidden_linears[4].weight.mul_(10)
    after = gw.gradient_profile(model, X, y)
    assert after.loss == pytest.approx(before.loss, rel=1e-5)
    ratio = before.weight_grad_norm / after.weight_grad_norm
    assert ratio[4] == pytest.approx(10, rel=0.05)
    assert np.all(np.abs(np.delete(ratio, 4) - 1) < 0.05)


def test_residual_relu_stream_far_above_one():
    """'The running sum's root mean square at layer 19 is far above 1.'"""
    assert _scales(20, "relu", residual=True).input_rms[-1] > 10


@pytest.mark.slow
def test_layer_norm_training_exercise():
    """'At the learning rate 0.1 ... none of the layer-norm networks learns anything: they all end at
    ln 2. At 0.01 the tanh network trains well, the ReLU one partly and the sigmoid one not at all.'"""
    data, final = _data(), {}
    for lr in (0.1, 0.01):
        for act in ("sigmoid", "tanh", "relu"):
            model = gw.build_mlp(20, width=32, activation=act, norm="layer", out_features=2)
            history = gw.train(model, data.X, data.y, 150, lr, momentum=0.9, loss="cross_entropy")
            final[lr, act] = history.final_loss
    assert all(abs(final[0.1, act] - LN2) < 0.02 for act in ("sigmoid", "tanh", "relu"))
    assert final[0.01, "tanh"] < 0.2
    assert 0.2 < final[0.01, "relu"] < 0.65
    assert final[0.01, "sigmoid"] > 0.65
