"""Every checkable claim of book/vanishing-exploding.md, with the chapter's own seeds and settings.

Each test's docstring quotes the sentence it checks; a test fails if the claim becomes false.
"""

import itertools

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.explorers import compare, gradient_flow
from gradwidgets.explorers.spectrum import jacobian_spectrum
from gradwidgets.lessons.jacobians import autograd_layer_jacobians, jacobian_singular_values, layer_jacobians

DEPTH = 20


@pytest.fixture(scope="module")
def batch():
    data = gw.make_dataset("spirals", 256)
    return data.X, data.y.float()


@pytest.fixture(scope="module")
def sigmoid_net():
    return gw.build_mlp(DEPTH, activation="sigmoid", init="xavier_normal")


@pytest.fixture(scope="module")
def sigmoid_profile(sigmoid_net, batch):
    assert len(batch[0]) == 256
    return gw.gradient_profile(sigmoid_net, *batch)


@pytest.fixture(scope="module")
def spectrum(sigmoid_net, batch):
    jacobians = layer_jacobians(sigmoid_net, batch[0][0])
    return jacobian_singular_values(jacobians[1:], grad=sigmoid_net.head.weight[0], first_layer=2)


def _summary(act: str, init: str, x0):
    model = gw.build_mlp(DEPTH, activation=act, init=init)
    return jacobian_singular_values(layer_jacobians(model, x0)[1:], grad=model.head.weight[0])


def _growth(profile) -> float:
    return float(profile.act_grad_norm[0] / profile.act_grad_norm[-1])


# --- one factor per layer ----------------------------------------------------------------


def test_every_sigmoid_layer_multiplies_by_about_a_quarter(sigmoid_profile):
    """'a network of 20 sigmoid layers with Xavier initialization, measured on a batch of 256 spiral
    points' and 'Every layer multiplies the gradient by a factor between {sig_factor_lo} and
    {sig_factor_hi} on its way down.' (all below the sigmoid's 1/4 times a little)"""
    g = sigmoid_profile.act_grad_norm
    factors = g[:-1] / g[1:]
    assert np.all(factors > 0.15) and np.all(factors < 0.3)


def test_first_layer_gradient_is_orders_below(sigmoid_profile):
    """'Nineteen such factors in a row leave the first layer's ||dL/dW|| at about
    {sig_first_last} times the last layer's.'"""
    assert sigmoid_profile.first_last_ratio < 1e-10


def test_constant_factor_is_a_straight_line(sigmoid_profile):
    """'On a log axis, a constant factor per layer is a straight line.'"""
    steps = np.diff(np.log10(sigmoid_profile.weight_grad_norm))[1:]  # layer 1 has the 2-D input
    assert np.all(steps > 0) and np.ptp(steps) < 0.3


def test_depth_turns_a_factor_into_an_exponent():
    """'A factor within 10% of one is mild at depth 10 and decisive at depth 50
    (0.9^50 ≈ {a_small}, 1.1^50 ≈ {a_large}).'"""
    assert 0.3 < 0.9**10 and 1.1**10 < 3
    assert 0.9**50 < 0.01 and 1.1**50 > 100


# --- singular values ---------------------------------------------------------------------


def test_formula_jacobians_agree_with_autograd(sigmoid_net, batch):
    """'They agree (largest difference: {jac_diff}).'"""
    x0 = batch[0][0]
    a, b = layer_jacobians(sigmoid_net, x0), autograd_layer_jacobians(sigmoid_net, x0)
    assert max(float((p - q).abs().max()) for p, q in zip(a, b, strict=True)) < 1e-12


def test_gaussian_weights_stretch_by_about_two(sigmoid_net):
    """'The weight matrices W_2, ..., W_20 (not shown) stretch by at most {sigma_w_lo} to
    {sigma_w_hi}' (about 2 for 64 x 64 Gaussian matrices with variance 1/64)."""
    s = [np.linalg.norm(lin.weight.detach().numpy(), 2) for lin in sigmoid_net.hidden_linears[1:]]
    assert 1.7 < min(s) and max(s) < 2.3


def test_sigmoid_slope_caps_every_layer(sigmoid_net, spectrum):
    """'the sigmoid's slope, never more than 1/4, brings every layer's σmax(J_l) down to
    {sigma_j_hi} or less.'"""
    s_w = np.array([np.linalg.norm(lin.weight.detach().numpy(), 2) for lin in sigmoid_net.hidden_linears[1:]])
    assert np.all(spectrum.layer_sigma_max <= 0.25 * s_w * (1 + 1e-9))
    assert spectrum.layer_sigma_max.max() < 0.6


def test_every_direction_vanishes(spectrum):
    """'A product of 19 such matrices stretches no vector by more than {sigma_prod}: every
    direction vanishes.'"""
    assert len(spectrum) == 19 and spectrum.sigma_max[0] < 1e-10


def test_smallest_singular_values_reach_rounding_level(spectrum):
    """'The smallest singular values fall below what 64-bit floating point can resolve after a
    few layers and are reported as 0.'"""
    assert spectrum.sigma_min[-1] > 0 and spectrum.sigma_min[0] == 0
    assert np.flatnonzero(spectrum.sigma_min == 0).max() >= 5


def test_summary_table_rows(batch):
    """'sigmoid with Xavier: everything is tiny'; 'tanh with Xavier and ReLU with He: σrms stays
    within a factor of a few of one and the gradient arrives with its size roughly intact. Yet
    σmax and σmin are far apart'; 'ReLU with Xavier: ... 19 layers bring the gradient down about
    a thousandfold'; 'ReLU with N(0, 1) weights: ... the product explodes'; 'linear with
    orthogonal weights: every singular value of the product is exactly 1.' ('ReLU with N(0, 1)
    weights: the weights' standard deviation is 1 instead of He's sqrt(2/64) ~ 0.18'.)"""
    x0 = batch[0][0]
    s = _summary("sigmoid", "xavier_normal", x0)
    assert s.sigma_max[0] < 1e-10 and s.gradient_gain[0] < 1e-10
    for act, init in (("tanh", "xavier_normal"), ("relu", "kaiming_normal")):
        s = _summary(act, init, x0)
        assert 0.2 < s.sigma_rms[0] < 5 and 0.2 < s.gradient_gain[0] < 5
        assert s.sigma_min[0] < 1e-3 * s.sigma_max[0]
    s = _summary("relu", "xavier_normal", x0)
    assert 1e-4 < s.gradient_gain[0] < 1e-2
    assert (0.5**0.5) ** 19 == pytest.approx(1 / 724, rel=0.01)  # 'about 1/sqrt(2)', 'a thousandfold'
    assert (2 / 64) ** 0.5 == pytest.approx(0.18, abs=0.005)  # "He's sqrt(2/64) ~ 0.18"
    assert _summary("relu", "normal", x0).sigma_max[0] > 1e10
    for values in _summary("linear", "orthogonal", x0).product_values:
        np.testing.assert_allclose(values, 1.0, atol=1e-5)


def test_relu_sigma_min_is_exactly_zero_with_half_the_units_off(batch):
    """'For ReLU, σmin is exactly 0, because at this input about half the units are off
    (f'(z) = 0), which zeroes whole rows of each J_l' (Summary: 'ReLU's zero slopes make σmin = 0
    whatever the weights')."""
    x0 = batch[0][0]
    model = gw.build_mlp(DEPTH, activation="relu", init="kaiming_normal")
    jacobians = layer_jacobians(model, x0)[1:]
    off = np.mean([float((J.abs().sum(1) == 0).double().mean()) for J in jacobians])
    assert 0.3 < off < 0.7
    assert np.all(jacobian_singular_values(jacobians).sigma_min == 0)


def test_relu_xavier_level_weight_gradients_hide_fading_signals(batch):
    """'The first layer's weight gradient is {rx_dw} times the last one's, a modest difference, but the
    backward signal shrinks to {rx_dh} of its top value on the way down, and the activations
    shrink to {rx_std} of their first-layer size on the way up.'"""
    rx = gw.gradient_profile(gw.build_mlp(DEPTH, activation="relu", init="xavier_normal"), *batch)
    assert 0.1 < rx.first_last_ratio < 10
    assert _growth(rx) < 1e-2
    assert rx.act_std[-1] / rx.act_std[0] < 1e-2


# --- explorers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flow():
    return gradient_flow(
        depths=(5, 10, 20, 30),
        activations=("sigmoid", "tanh", "relu", "linear"),
        inits=("xavier_normal", "kaiming_normal", "normal"),
        norms=(None,),
        residual=(False,),
        depth=10,
    )


def test_flow_sigmoid_line_tilts_further_with_depth(flow):
    """'Start with sigmoid and Xavier at depth 5, then 10, 20 and 30 and watch the straight line
    tilt further.'"""
    ratios = []
    for depth in (5, 10, 20, 30):
        g = flow.run(flow.config(depth=depth, activation="sigmoid", init="xavier_normal")).data["grads"]
        ratios.append(g["value"][0] / g["value"][-1])
    assert all(b < a for a, b in itertools.pairwise(ratios))


def test_flow_relu_three_inits(flow):
    """'with Xavier the activations shrink from layer to layer (bottom plot) while the gradient
    line stays level, He keeps both level, and N(0, 1) explodes.' (shown at depth 30; exercise:
    'With Xavier (g = 1) the factor is about 0.71: the band shrinks ... more than ten-thousand-fold
    over 30 layers, while the weight-gradient line stays fairly level at a low value'; He: 'the band
    stays level, and so does the line, within a factor of about 4 from layer 2 to layer 30';
    N(0, 1) ('g = 8 ... the factor is about 5.7'): 'at depth 30 the loss and the gradients are no
    longer finite numbers'.)"""

    def run(init):
        return flow.run(flow.config(depth=30, activation="relu", init=init)).data

    assert 1 / 2**0.5 == pytest.approx(0.71, abs=0.005) and 8 / 2**0.5 == pytest.approx(5.7, abs=0.05)
    xavier, he, normal = run("xavier_normal"), run("kaiming_normal"), run("normal")
    std = xavier["acts"]["std"]
    assert std[-1] / std[0] < 1e-4
    g = xavier["grads"]["value"]
    assert g.max() / g.min() < 10 and g.max() < 1e-4
    std = he["acts"]["std"]
    assert 0.3 < std[-1] / std[0] < 3
    g = he["grads"]["value"][1:]
    assert g.max() / g.min() < 5
    assert not np.all(np.isfinite(normal["grads"]["value"]))


def test_compare_starts_twelve_orders_apart():
    """'It starts with sigmoid and Xavier (A) against relu and He (B): about twelve orders of
    magnitude apart at the first layer.'"""
    ex = compare(activations=("sigmoid", "tanh", "relu"), inits=("xavier_normal", "kaiming_normal"), depth=20)
    data = ex.run(ex.default_config).data
    assert ex.default_config == dict(
        a_activation="sigmoid", a_init="xavier_normal", b_activation="relu", b_init="kaiming_normal"
    )
    gap = np.log10(data["b"]["value"][0] / data["a"]["value"][0])
    assert 11 < gap < 13


def test_spectrum_explorer_claims():
    """'linear with orthogonal weights at gain 1 (every singular value is 1), then gain √2 (all of
    them grow together); ... sigmoid at every gain: even at gain 4 the product still shrinks
    every direction.'"""
    ex = jacobian_spectrum()
    lines = ex.run(ex.config(activation="linear", weights="orthogonal", gain=1.0)).data["lines"]
    np.testing.assert_allclose(lines["smax"], 1.0, atol=1e-5)
    np.testing.assert_allclose(lines["smin"], 1.0, atol=1e-5)
    lines = ex.run(ex.config(activation="linear", weights="orthogonal", gain=2**0.5)).data["lines"]
    assert lines["smax"][0] > 100 and lines["smax"][0] / lines["smin"][0] < 1.01
    for gain in ex.controls[2].options:
        lines = ex.run(ex.config(activation="sigmoid", weights="gaussian", gain=gain)).data["lines"]
        assert lines["smax"][0] < 1e-2


@pytest.mark.parametrize("init", ["lecun_normal", "orthogonal"])
def test_same_weights_for_all_activations_at_one_gain(init):
    """'for a given weight family and gain, all four activations use the very same weight
    matrices'."""
    models = [
        gw.build_mlp(DEPTH, activation=a, init=init, init_gain=2.0)
        for a in ("linear", "sigmoid", "tanh", "relu")
    ]
    for m in models[1:]:
        for a, b in zip(models[0].hidden_linears, m.hidden_linears, strict=True):
            assert torch.equal(a.weight, b.weight)


# --- myths -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def same_weights(batch):
    nets = {
        act: gw.build_mlp(DEPTH, activation=act, init="lecun_normal", init_gain=2.0)
        for act in ("linear", "relu", "tanh", "sigmoid")
    }
    return nets, {act: gw.gradient_profile(m, *batch) for act, m in nets.items()}


def test_the_four_networks_hold_the_same_weights(same_weights):
    """'The four networks hold bit-for-bit the same weights.'"""
    weights = [
        torch.cat([lin.weight.flatten() for lin in m.hidden_linears]) for m in same_weights[0].values()
    ]
    assert all(torch.equal(weights[0], w) for w in weights)


def test_same_weights_explode_or_vanish_by_activation(same_weights):
    """'With the very same weights, the gradient grows on its way down by a factor of about
    {same_linear} without an activation, {same_relu} with ReLU and {same_tanh} with tanh, and
    shrinks to {same_sigmoid} with the sigmoid.'"""
    g = {act: _growth(p) for act, p in same_weights[1].items()}
    assert g["linear"] > g["relu"] > g["tanh"] > 10
    assert g["relu"] > 100
    assert g["sigmoid"] < 1e-6


def test_sigmoid_slope_is_at_most_a_quarter_at_zero():
    """'The steepest the sigmoid ever gets is {sig_max_slope}, at z = 0.'"""
    z = torch.linspace(-6, 6, 1201, requires_grad=True)
    (slope,) = torch.autograd.grad(torch.sigmoid(z).sum(), z)
    assert float(slope.max()) == pytest.approx(0.25, abs=1e-6)
    assert abs(float(z.detach()[slope.argmax()])) < 0.01


@pytest.fixture(scope="module")
def sigmoid_sweep(batch):
    out = {}
    for gain in (1, 2, 4, 8, 16, 32):
        model = gw.build_mlp(DEPTH, activation="sigmoid", init="lecun_normal", init_gain=float(gain))
        stretch = np.mean([np.linalg.norm(lin.weight.detach(), 2) for lin in model.hidden_linears[1:]])
        out[gain] = (stretch, gw.gradient_profile(model, *batch))
    return out


def test_sigmoid_needs_huge_weights_to_grow(sigmoid_sweep):
    """'Even with weights that stretch by about 8 (gain 4), the gradient still shrinks to
    {sg_growth_4} over 20 layers. It grows only with far larger weights (gain 16), and by then
    {sg_sat_16} of the units are saturated: most units sit on the sigmoid's flat tails.'"""
    stretch, p = sigmoid_sweep[4]
    assert 7 < stretch < 9 and _growth(p) < 1e-3
    assert all(_growth(sigmoid_sweep[g][1]) < 1 for g in (1, 2, 4, 8))
    assert _growth(sigmoid_sweep[16][1]) > 1
    assert sigmoid_sweep[16][1].saturation.mean() > 0.5


# --- exercises ---------------------------------------------------------------------------


def test_exercise_residual_spectrum(batch, spectrum):
    """Exercise solution: 'Every branch stretches by at most {res_branch} (a slope of at most 1/4 times
    weights that stretch by about 2), so every factor I + A_l leaves the length of any vector between
    1 - b and 1 + b times what it was ... Nineteen such factors could in principle still shrink a
    direction by a factor of {res_shrink_bound} or stretch one by {res_stretch_bound}; measured, the
    product does far less. The typical singular value goes from about 10^-12 to {res_rms}, the
    smallest is {res_min} and the largest {res_max}, and this input's gradient arrives at the bottom
    with {res_gain} times its size at the top.'"""
    res_net = gw.build_mlp(DEPTH, activation="sigmoid", residual=True)
    jacobians = layer_jacobians(res_net, batch[0][0])[1:]
    res = jacobian_singular_values(jacobians, grad=res_net.head.weight[0])
    eye = torch.eye(64, dtype=jacobians[0].dtype)
    branches = [torch.linalg.matrix_norm(J - eye, 2).item() for J in jacobians]
    weights = [torch.linalg.matrix_norm(lin.weight.double(), 2).item() for lin in res_net.hidden_linears[1:]]
    assert all(b <= w / 4 + 1e-12 for b, w in zip(branches, weights, strict=True))
    b = max(branches)
    assert 0.3 < b < 0.5
    for J in jacobians:  # 1 - b <= every singular value of I + A_l <= 1 + b
        s = torch.linalg.svdvals(J)
        assert s.min() >= 1 - b - 1e-12 and s.max() <= 1 + b + 1e-12
    assert (1 - b) ** 19 < 1e-4 and (1 + b) ** 19 > 100
    assert spectrum.sigma_rms[0] < 1e-10
    assert 0.5 < res.sigma_rms[0] < 2
    assert res.sigma_min[0] > (1 - b) ** 19 * 1e3 and res.sigma_max[0] < (1 + b) ** 19 / 100
    assert 0.2 < res.sigma_min[0] < 1 < res.sigma_max[0] < 5
    assert 0.5 < res.gradient_gain[0] < 2


def test_residual_jacobian_is_singular_when_the_branch_has_eigenvalue_minus_one():
    """Exercise solution: 'I + A_l is even singular when A_l has an eigenvalue -1': the identity gives
    a path, not a size."""
    A = torch.diag(torch.tensor([-1.0, 0.5, 0.2], dtype=torch.float64))
    assert torch.linalg.svdvals(torch.eye(3, dtype=torch.float64) + A).min() == 0


def test_exercise_sigmoid_bound_against_actual(batch):
    """Exercise solution: 'At gains 1 and 2 every layer's σmax(J_l) is below 1, so the dashed bound
    itself falls towards the input. At gain 4 each single layer can stretch some direction by
    about 1.5, and the dashed bound rises towards the input, to about 10^3; yet the actual σmax of
    the product still falls, to below 10^-3.'"""
    x0 = batch[0][0]

    def spectrum_at(gain):
        model = gw.build_mlp(DEPTH, activation="sigmoid", init="lecun_normal", init_gain=gain)
        return jacobian_singular_values(layer_jacobians(model, x0)[1:])

    for gain in (1.0, 2.0):
        assert np.all(spectrum_at(gain).layer_sigma_max < 1)
    s = spectrum_at(4.0)
    assert np.all((s.layer_sigma_max > 1.2) & (s.layer_sigma_max < 1.8))
    bound = np.cumprod(s.layer_sigma_max[::-1])[::-1]
    assert 1e2 < bound[0] < 1e4 and np.all(np.diff(bound) < 0)
    assert s.sigma_max[0] < 1e-3


def test_exercise_one_example_outer_product(sigmoid_net, batch):
    """Exercise solution: '|dL/dW10| and |delta| |h9| ... agree to the printed digits.'"""
    X, y = batch
    with torch.no_grad():  # h_9, the input of layer 10
        h = X[:1]
        for block in sigmoid_net.blocks[:9]:
            h = block(h)
    layer = sigmoid_net.blocks[9]
    z10 = layer.linear(h)
    out = z10.sigmoid()
    for block in sigmoid_net.blocks[10:]:
        out = block(out)
    loss = torch.nn.functional.mse_loss(sigmoid_net.head(out), y[:1, None])
    grad_w, delta = torch.autograd.grad(loss, (layer.linear.weight, z10))
    assert float(grad_w.norm()) == pytest.approx(float(delta.norm() * h.norm()), rel=1e-5)
