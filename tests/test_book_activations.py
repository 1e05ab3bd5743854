"""The claims of book/activations.md, each recomputed with the chapter's own settings."""

import functools
import math

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.explorers import gradient_flow, saturation
from gradwidgets.lessons.slopes import (
    gaussian_slope_rms,
    measured_backward_factor,
    predicted_backward_factor,
    predicted_backward_factors,
    slope_rms,
)

NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "selu"]


@functools.cache
def _batch():
    """'the same batch: 256 points of the two-class spiral, with the mean squared error'."""
    data = gw.make_dataset("spirals", 256)
    return data.X, data.y.float()


@functools.cache
def _profile(depth, activation, init, gain=None):
    X, y = _batch()
    return gw.gradient_profile(gw.build_mlp(depth, activation=activation, init=init, init_gain=gain), X, y)


@functools.cache
def _factors(name):
    """(predicted rho, measured rho, end-to-end ratio) of the chapter's 20-layer LeCun table."""
    X, y = _batch()
    model = gw.build_mlp(20, activation=name, init="lecun_normal")
    profile = gw.gradient_profile(model, X, y)
    g = profile.act_grad_norm
    return predicted_backward_factor(model, X), measured_backward_factor(profile), g[0] / g[-1]


# ---- seven activation functions


def test_largest_slopes():
    """'The sigmoid's slope is never more than 1/4 ... Every other function here reaches a slope of
    at least 1, and GELU and SELU go above it (about 1.13 and lambda alpha ~ 1.76).'"""
    z = torch.linspace(-10, 10, 200001, dtype=torch.float64)
    slopes = {n: float(gw.ACTIVATIONS[n].derivative(z).max()) for n in NAMES}
    assert slopes["sigmoid"] == pytest.approx(0.25, abs=1e-9)
    assert all(slopes[n] >= 1 - 1e-9 for n in NAMES if n != "sigmoid")
    assert slopes["gelu"] == pytest.approx(1.13, abs=0.005)
    assert slopes["selu"] == pytest.approx(1.76, abs=0.005)


def test_selu_constants():
    """'SELU is an ELU scaled by lambda ~ 1.0507, with alpha ~ 1.6733, constants chosen so that, with
    weights of mean 0 and variance 1/n, activations of zero mean and unit variance keep them from
    layer to layer' (checked below: a wide LeCun SELU network keeps mean 0 and variance 1)."""
    lam = float(torch.nn.functional.selu(torch.tensor(1.0, dtype=torch.float64)))
    floor = float(torch.nn.functional.selu(torch.tensor(-50.0, dtype=torch.float64)))
    assert lam == pytest.approx(1.0507, abs=5e-5)
    assert -floor / lam == pytest.approx(1.6733, abs=5e-5)
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(4096, 512, generator=gen, dtype=torch.float64)
    for _ in range(10):
        W = torch.randn(512, 512, generator=gen, dtype=torch.float64) / 512**0.5
        h = torch.nn.functional.selu(h @ W.T)
    assert abs(float(h.mean())) < 0.02 and float(h.var()) == pytest.approx(1, abs=0.03)


# ---- what one layer does to the gradient


@pytest.mark.parametrize("name", NAMES)
def test_prediction_matches_measurement_within_a_few_percent(name):
    """'Prediction and measurement agree to within a few percent.'"""
    predicted, measured, _ = _factors(name)
    assert abs(predicted / measured - 1) < 0.05


def test_end_to_end_ratios_span_twelve_orders():
    """'... over twelve orders of magnitude of end-to-end ratios.'"""
    ends = [_factors(n)[2] for n in NAMES]
    assert max(ends) / min(ends) > 1e12


def test_sigmoid_divides_by_more_than_four_per_layer():
    """'sigmoid: rho ~ {rho_sigmoid:.2f}. Its slope is at most 1/4, so each layer divides the gradient by
    more than 4, and twenty layers by {end_sigmoid}.'"""
    _, rho, end = _factors("sigmoid")
    assert rho < 0.25
    assert end < 1e-12


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_relu_factor_is_near_root_half(name):
    """'ReLU and Leaky ReLU: rho ~ {rho_relu:.2f}. The biases are 0 and the weights symmetric around
    0, so for any one example about half of the units have z < 0 and slope 0 (or 0.01), the other
    half slope 1, and the RMS slope is close to sqrt(1/2) ~ 0.71.'"""
    _, rho, _ = _factors(name)
    assert 0.6 < rho < math.sqrt(0.5) + 0.02
    model = gw.build_mlp(20, activation=name, init="lecun_normal")
    assert all(torch.all(lin.bias == 0) for lin in model.hidden_linears)
    off = np.mean([float((z < 0).double().mean()) for z in model.preactivations(_batch()[0])])
    assert 0.4 < off < 0.6
    assert 0.5**0.5 == pytest.approx(0.71, abs=0.005)


@pytest.mark.parametrize("name", ["tanh", "elu"])
def test_tanh_and_elu_factor_close_to_one(name):
    """'tanh and ELU: close to 1.'"""
    assert 0.9 < _factors(name)[1] < 1.0


def test_gelu_factor_about_a_half():
    """'GELU: about {rho_gelu:.2f}. Near 0 GELU is about z/2, so each layer halves the signal, the
    pre-activations shrink towards 0, and there its slope is 1/2.'"""
    assert 0.45 < _factors("gelu")[1] < 0.55
    assert float(gw.ACTIVATIONS["gelu"].derivative(torch.zeros(1))) == pytest.approx(0.5)
    zs = gw.build_mlp(20, activation="gelu", init="lecun_normal").preactivations(_batch()[0])
    std = np.array([float(z.std()) for z in zs])
    assert np.all(np.diff(std) < 0) and 0.4 < std[5] / std[4] < 0.6
    slopes = [float(gw.ACTIVATIONS["gelu"].derivative(z.double()).pow(2).mean().sqrt()) for z in zs[5:]]
    assert all(s == pytest.approx(0.5, abs=0.01) for s in slopes)


def test_selu_factor_above_one_and_grows_the_gradient():
    """'SELU: {rho_selu:.2f}, above 1: its slope is lambda ~ 1.05 for z > 0 and up to 1.76 just below
    zero, so the gradient grows on its way back, to {end_selu:.1f} times its top value after twenty
    layers.'"""
    _, rho, end = _factors("selu")
    assert 1.05 < rho < 1.15
    assert end > 3


@functools.cache
def _selu_layers():
    X, _ = _batch()
    model = gw.build_mlp(20, activation="selu", init="lecun_normal")
    return np.array([float(z.var()) for z in model.preactivations(X)]), slope_rms(model, X)


def test_selu_factor_depends_on_the_scale_of_the_preactivations():
    """'The spiral points are small (their entries have a root mean square of about 0.4), so the first
    layer's pre-activations have a variance of only {selu_var_first} ... the RMS slope is
    {selu_rms_first}. Layer by layer the variance grows towards SELU's fixed point, q = 1, and the RMS
    slope falls, to {selu_rms_last} in layer 20. At the fixed point itself E[f'(z)^2] ~
    {selu_fixed_sq}: the gradient grows by about {selu_fixed} per layer ...; for tiny
    pre-activations the factor approaches lambda sqrt((1 + alpha^2)/2) ~ {selu_small}. So the
    {rho_selu:.2f} of the table is a property of this network and this data.'"""
    X, _ = _batch()
    assert float(X.pow(2).mean().sqrt()) == pytest.approx(0.4, abs=0.02)
    var, rms = _selu_layers()
    assert 0.1 < var[0] < 0.3 and 0.8 < var[-3:].mean() < 1.1
    assert 1.15 < rms[0] < 1.3 and 1.02 < rms[-1] < 1.08
    assert np.polyfit(np.arange(20), var, 1)[0] > 0 and np.polyfit(np.arange(20), rms, 1)[0] < 0
    np.testing.assert_allclose(rms, [gaussian_slope_rms("selu", q) for q in var], rtol=0.05)
    assert gaussian_slope_rms("selu", 1.0) ** 2 == pytest.approx(1.07, abs=0.005)
    assert gaussian_slope_rms("selu", 1.0) == pytest.approx(1.035, abs=0.0005)
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    assert gaussian_slope_rms("selu", 1e-6) == pytest.approx(lam * ((1 + alpha**2) / 2) ** 0.5, rel=1e-3)
    assert gaussian_slope_rms("selu", 1e-6) == pytest.approx(1.45, abs=0.005)
    assert _factors("selu")[1] > gaussian_slope_rms("selu", 1.0) + 0.03  # not SELU's own constant


# ---- saturation


def test_saturation_thresholds_of_tanh_and_sigmoid():
    """'tanh saturates for |z| > 2.18, the sigmoid for |z| > 4.36' (f' at 5% of its maximum: for
    tanh, f'(z) = 1 - tanh^2 z, so that happens when tanh^2 z > 0.95)."""
    t = gw.SATURATION_THRESHOLD
    z_tanh = float(np.arctanh(np.sqrt(1 - t)))
    for name, z in (("tanh", z_tanh), ("sigmoid", 2 * z_tanh)):
        act = gw.ACTIVATIONS[name]
        d = act.derivative(torch.tensor([z - 1e-3, z, z + 1e-3], dtype=torch.float64)) / act.max_derivative
        assert d[0] > t > d[2]
        assert float(d[1]) == pytest.approx(t, rel=1e-6)
    assert z_tanh == pytest.approx(2.18, abs=0.005)


@pytest.mark.parametrize("name", ["elu", "selu"])
def test_elu_and_selu_saturate_only_below_about_minus_three(name):
    """'ELU and SELU saturate only on the negative side, for z below about -3.'"""
    act = gw.ACTIVATIONS[name]
    z = torch.linspace(-10, 10, 20001, dtype=torch.float64)
    flat = act.derivative(z) < gw.SATURATION_THRESHOLD * act.max_derivative
    assert not flat[z > 0].any()
    assert float(z[flat].max()) == pytest.approx(-3.0, abs=0.05)


@pytest.mark.parametrize("gain", [0.5, 1.0, 2.0, 4.0])
def test_relu_saturated_share_is_near_half_and_gain_free(gain):
    """'At initialization, with biases of 0 and weights symmetric around 0, that is close to half of
    them' and (Explore) 'the saturated and dead shares are the same at every gain, because with biases
    of 0, scaling all the weights by a positive constant never changes the sign of a pre-activation';
    'the band shrinks at gain 1 and grows at gain 4'."""
    ref = _profile(10, "relu", "xavier_normal", 1.0)
    prof = _profile(10, "relu", "xavier_normal", gain)
    assert np.all((prof.saturation > 0.35) & (prof.saturation < 0.65))
    np.testing.assert_array_equal(prof.saturation, ref.saturation)
    np.testing.assert_array_equal(prof.dead_fraction, ref.dead_fraction)
    grows = prof.act_std[-1] > prof.act_std[0]
    assert grows if gain == 4.0 else True
    assert not grows if gain == 1.0 else True


def test_relu_saturated_share_is_not_a_constant_of_relu():
    """'it is not a constant of ReLU, though: with negative biases, as in Dead units below, it reaches
    {dead_sat_first} in the first layer and 100% further up.'"""
    sat = _dead_bias_profile("relu").saturation
    assert 0.8 < sat[0] < 0.95 and np.all(sat[3:] == 1.0)


@functools.cache
def _tanh_gain_rows():
    X, y = _batch()
    rows = {}
    for gain in [0.5, 1, 2, 4, 8]:
        model = gw.build_mlp(10, activation="tanh", init="xavier_normal", init_gain=gain)
        profile = gw.gradient_profile(model, X, y)
        rows[gain] = (profile.saturation[-1], slope_rms(model, X)[-1], measured_backward_factor(profile))
    return rows


def test_more_gain_more_saturation_less_slope_yet_larger_factor():
    """'As the gain grows, more units saturate and the RMS slope falls. Yet rho = g rms f' keeps
    growing.'"""
    rows = _tanh_gain_rows()
    gains = sorted(rows)
    sat, rms, rho = (np.array([rows[g][i] for g in gains]) for i in range(3))
    assert np.all(np.diff(sat) >= 0) and sat[-1] > sat[0]
    assert np.all(np.diff(rms) < 0)
    assert np.all(np.diff(rho) > 0)
    assert np.all(np.diff(np.array(gains) * rms) > 0)


def test_at_gain_four_most_units_saturate_and_the_gradient_still_grows():
    """'at g = 4, {sat_g4} of the units in layer 10 are saturated and the gradient still grows by a
    factor {rho_g4:.2f} per layer' and the figure: 'more than half of them lie in the flat, shaded
    parts, many of them beyond +-6 (the hatched bars at the edges).'"""
    sat, _, rho = _tanh_gain_rows()[4]
    assert sat > 0.5
    assert rho > 1.2
    z = gw.build_mlp(10, activation="tanh", init="xavier_normal", init_gain=4).preactivations(_batch()[0])[-1]
    assert float((z.abs() > 6).double().mean()) > 0.05  # many of them beyond 6 in size


# ---- dead units


def _dead_bias_profile(activation):
    X, y = _batch()
    model = gw.build_mlp(10, activation=activation, init="kaiming_normal")
    with torch.no_grad():
        for linear in model.hidden_linears:
            linear.bias.fill_(-0.5)
    return gw.gradient_profile(model, X, y)


def test_negative_bias_kills_layers_and_cuts_every_gradient():
    """'sets every hidden bias to -0.5' ... 'The dead share grows with depth ... until from layer
    {first_dead_layer} on every unit is dead. And then every layer's |dL/dW| is exactly 0, even layer
    1, where only {dead_layer1} of the units are dead.'"""
    dead = _dead_bias_profile("relu")
    d = dead.dead_fraction
    assert np.all(np.diff(d) >= 0)
    first = int(np.argmax(d == 1.0))
    assert d[first] == 1.0 and np.all(d[first:] == 1.0) and first >= 1
    assert np.all(dead.weight_grad_norm == 0)
    assert d[0] < 0.5


def test_leaky_relu_with_negative_bias_has_no_dead_units_but_tiny_gradients():
    """Exercise: 'No unit is dead ... Every layer gets a gradient. It is tiny in the first layers
    ... the gradient loses about two orders of magnitude per layer where almost all units are off.'"""
    prof = _dead_bias_profile("leaky_relu")
    assert np.all(prof.dead_fraction == 0)
    assert np.all(prof.weight_grad_norm > 0)
    assert prof.weight_grad_norm[0] < 1e-10
    g = prof.act_grad_norm
    off = np.flatnonzero(prof.saturation > 0.99)  # the layers where (almost) every unit is off
    steps = g[off[1:]] / g[off[1:] - 1]
    assert off.size >= 5 and np.all((steps > 30) & (steps < 150))


# ---- depth


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "selu"])
@pytest.mark.parametrize("depth", [5, 10, 20])
def test_product_of_predicted_factors_is_within_two(name, depth):
    """'The predicted product is within a factor of two of the measurement at every depth.' ('A
    factor of 0.9 per layer costs a factor 0.59 over 5 layers and 8 x 10^-5 over 90.')"""
    assert f"{0.9**5:.2f}" == "0.59" and f"{0.9**90:.0e}" == "8e-05"
    X, y = _batch()
    model = gw.build_mlp(depth, activation=name, init="lecun_normal")
    profile = gw.gradient_profile(model, X, y)
    predicted = np.prod(predicted_backward_factors(model, X))
    measured = profile.act_grad_norm[0] / profile.act_grad_norm[-1]
    assert 0.5 < predicted / measured < 2


def test_extra_layers_divide_by_4_and_1_4_and_selu_grows_by_less_and_less():
    """'each extra layer divides the sigmoid network's gradient by about 4 more and the ReLU network's
    by about 1.4 more. SELU's grows by less with every layer added, as its pre-activations approach
    the fixed point.' (the table's depths 5, 10 and 20; SELU from the predicted product, which the
    measurement follows within a factor of two)"""
    X, y = _batch()

    def end(name, depth):
        g = gw.gradient_profile(gw.build_mlp(depth, activation=name, init="lecun_normal"), X, y).act_grad_norm
        return g[0] / g[-1]

    for name, lo, hi in (("sigmoid", 3.5, 5), ("relu", 1.3, 1.6)):
        per_layer = (end(name, 5) / end(name, 20)) ** (1 / 15)
        assert lo < per_layer < hi, name
    selu = {
        d: np.prod(predicted_backward_factors(gw.build_mlp(d, activation="selu", init="lecun_normal"), X))
        for d in (5, 10, 20)
    }
    early, late = (selu[10] / selu[5]) ** (1 / 5), (selu[20] / selu[10]) ** (1 / 10)
    assert 1 < late < early


def test_dead_units_accumulate_with_depth_at_initialization():
    """'Dead units also accumulate with depth, even at initialization ... {dead_l1} of the first
    layer's units are dead on this batch and {dead_l30} of the last layer's.'"""
    d = _profile(30, "relu", "kaiming_normal").dead_fraction
    assert d[0] == 0
    assert d[-1] > 0.3
    assert d[20:].mean() > d[:10].mean() + 0.1


def test_relu_weight_gradients_level_but_sinking_sigmoid_falls():
    """'every layer gets about the same weight gradient, but a smaller one the deeper the network.
    ... its [the sigmoid's] weight gradients fall layer by layer towards the input.'"""
    for depth in (5, 20):
        w = _profile(depth, "relu", "lecun_normal").weight_grad_norm
        assert 0.2 < w[1] / w[-1] < 5
    assert (
        _profile(20, "relu", "lecun_normal").weight_grad_norm[-1]
        < 0.1 * (_profile(5, "relu", "lecun_normal").weight_grad_norm[-1])
    )
    for depth in (5, 20):
        assert np.all(np.diff(_profile(depth, "sigmoid", "lecun_normal").weight_grad_norm) > 0)


# ---- explorers


SATURATION = dict(
    activations=("sigmoid", "tanh", "relu", "elu"),
    gains=(0.5, 1.0, 2.0, 4.0),
    layers=(1, 5, 10),
    depth=10,
    activation="tanh",
    layer=10,
)
FLOW = dict(
    depths=(5, 10, 20),
    activations=tuple(NAMES),
    inits=("lecun_normal", "kaiming_normal"),
    norms=(None,),
    residual=(False,),
)


def test_explorer_grids_are_small_and_start_where_the_text_says():
    """Explore: the saturation explorer starts at tanh, gain 1, layer 10; both grids are small."""
    sat, flow = saturation(**SATURATION), gradient_flow(**FLOW)
    assert sat.default_config == {"activation": "tanh", "gain": 1.0, "layer": 10}
    assert sat.grid_size <= 60 and flow.grid_size <= 60


def _status_ratio(result):
    return float(result.status.split("gradient is ")[1].split(" ×")[0])


def test_saturation_explorer_tanh_gain_one_to_four():
    """Explore and exercise: tanh, gain 1 then 4: 'watch the histogram spread into the flat parts
    and the first/last gradient ratio rise above 1'; saturated share 'from 0% at gain 1 to about
    half at gain 4', ratio 'from below 1 to several times 1'."""
    ex = saturation(**SATURATION)
    low = ex.run(ex.config(activation="tanh", gain=1.0, layer=10))
    high = ex.run(ex.config(activation="tanh", gain=4.0, layer=10))
    assert _status_ratio(low) < 1 < 2 < _status_ratio(high)
    assert low.data["acts"]["saturation"][-1] == 0
    assert 0.3 < high.data["acts"]["saturation"][-1] < 0.7
    assert high.data["hist"]["density"][[0, -1]].sum() > low.data["hist"]["density"][[0, -1]].sum()


@pytest.mark.parametrize("gain", [0.5, 1.0, 2.0, 4.0])
def test_saturation_explorer_sigmoid_ratio_stays_tiny(gain):
    """Explore: 'sigmoid at any gain: the first/last ratio stays tiny, because its slope cannot
    exceed 1/4'; exercise: 'stays far below 1 at every gain offered'."""
    ex = saturation(**SATURATION)
    assert _status_ratio(ex.run(ex.config(activation="sigmoid", gain=gain))) < 1e-2


def test_gradient_flow_explorer_observations():
    """Explore: 'sigmoid: He changes nothing, and the line falls by about the same number of decades
    per layer at every depth'; 'ReLU with LeCun, then with He: both lines are nearly flat, but
    LeCun's lies lower, and lower still the deeper the network'; 'GELU with LeCun at depth 20: the
    lowest flat line of all'."""
    ex = gradient_flow(**FLOW)

    def grads(**cfg):
        return ex.run(ex.config(**cfg)).data["grads"]["value"]

    slopes = []
    for depth in (5, 10, 20):
        lecun = grads(depth=depth, activation="sigmoid", init="lecun_normal")
        np.testing.assert_array_equal(lecun, grads(depth=depth, activation="sigmoid", init="kaiming_normal"))
        slopes.append(np.mean(np.diff(np.log10(lecun[1:]))))
    assert max(slopes) - min(slopes) < 0.15 and min(slopes) > 0.4
    levels = {}
    for depth in (5, 20):
        for init in ("lecun_normal", "kaiming_normal"):
            g = grads(depth=depth, activation="relu", init=init)
            assert np.ptp(np.log10(g[1:])) < 1.0  # nearly flat: within a decade
            levels[depth, init] = np.median(g)
        assert levels[depth, "lecun_normal"] < levels[depth, "kaiming_normal"]
    assert levels[20, "lecun_normal"] < 0.1 * levels[5, "lecun_normal"]
    gelu = grads(depth=20, activation="gelu", init="lecun_normal")
    assert np.ptp(np.log10(gelu[1:])) < 1.0
    others = [np.median(grads(depth=20, activation=n, init="lecun_normal")) for n in NAMES if n != "sigmoid"]
    assert np.median(gelu) == min(others)


# ---- myths


def test_relu_removes_the_cap_but_still_vanishes_with_lecun_scale():
    """Myth: 'Two 30-layer networks with the same weights (same seed, LeCun's scale) ... over 29
    layers its gradient falls to {myth_relu_end} of the top value, where the sigmoid's falls to
    {myth_sigmoid_end}. But it still falls exponentially, by a factor of {myth_relu_rho} per layer.'"""
    relu, sigmoid = _profile(30, "relu", "lecun_normal"), _profile(30, "sigmoid", "lecun_normal")
    a = gw.build_mlp(30, activation="relu", init="lecun_normal")
    b = gw.build_mlp(30, activation="sigmoid", init="lecun_normal")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    end = {k: p.act_grad_norm[0] / p.act_grad_norm[-1] for k, p in (("relu", relu), ("sigmoid", sigmoid))}
    assert end["relu"] < 1e-3 and end["sigmoid"] < 1e-10 * end["relu"]
    assert 0.6 < measured_backward_factor(relu) < 0.75
    g = np.log10(relu.act_grad_norm)
    assert np.polyfit(np.arange(30), g, 1)[0] > 0.1  # a steady, exponential fall towards the input


@functools.cache
def _one_step(name, lr):
    X, y = _batch()
    model = gw.build_mlp(6, activation=name, init="kaiming_normal")
    before = gw.gradient_profile(model, X, y).dead_fraction.mean()
    gw.train(model, X, y, steps=1, lr=lr)
    after = gw.gradient_profile(model, X, y)
    return before, after.dead_fraction.mean(), after.loss


def test_one_large_step_kills_relu_units_and_not_leaky_ones():
    """'With lr = 1 the loss jumps and the share of dead ReLU units goes from {dead_before} to
    {dead_after} in a single step, while a small step leaves it as it was. Leaky ReLU has no dead units
    at all: its slope of 0.01 below zero is small, but it is not zero.'"""
    before, after, loss = _one_step("relu", 1.0)
    small_before, small_after, small_loss = _one_step("relu", 0.01)
    assert after > 1.5 * before
    assert abs(small_after - small_before) < 0.01
    assert loss > 10 * small_loss
    for lr in (0.01, 1.0):
        b, a, _ = _one_step("leaky_relu", lr)
        assert a == b == 0


@functools.cache
def _steep_rows():
    X, _ = _batch()
    rows = {}
    for gain in [1, 2, 4, 8, 16]:
        same = gw.build_mlp(20, activation="linear", init="xavier_normal", init_gain=gain)
        row = {"linear": predicted_backward_factor(same, X)}
        for name in ["tanh", "sigmoid"]:
            row[name] = measured_backward_factor(_profile(20, name, "xavier_normal", float(gain)))
        rows[gain] = row
    return rows


def test_same_weights_tanh_below_identity_sigmoid_far_below_tanh():
    """'With the same weights, tanh's factor is always below the one without activation, and the
    sigmoid's always far below tanh's.'"""
    for row in _steep_rows().values():
        assert row["tanh"] < row["linear"]
        assert row["sigmoid"] < 0.5 * row["tanh"]


def test_tanh_explodes_from_gain_two_and_sigmoid_only_at_sixteen():
    """'Tanh networks do explode once g is large enough (from g = 2 here) ... The sigmoid network
    reaches a factor above 1 only when the weights are sixteen times larger than the scale that
    keeps a network without activation steady.'"""
    rows = _steep_rows()
    assert rows[1]["tanh"] < 1 < rows[2]["tanh"]
    assert all(rows[g]["sigmoid"] < 1 for g in (1, 2, 4, 8)) and rows[16]["sigmoid"] > 1
    assert rows[1]["linear"] == pytest.approx(1, abs=0.05)
    for gain, row in rows.items():
        assert row["linear"] == pytest.approx(gain, rel=0.05)


def test_same_seed_gives_the_same_weights_for_every_activation():
    """'networks with *the same weights* (same seed, same scale g^2/n)'."""
    a = gw.build_mlp(20, activation="linear", init="xavier_normal", init_gain=4.0)
    b = gw.build_mlp(20, activation="sigmoid", init="xavier_normal", init_gain=4.0)
    for la, lb in zip(a.hidden_linears, b.hidden_linears, strict=True):
        assert torch.equal(la.weight, lb.weight)


# ---- exercise 3


@pytest.mark.parametrize(("init", "gain"), [("lecun_normal", 1.0), ("kaiming_normal", math.sqrt(2))])
def test_forty_layer_prediction_within_two(init, gain):
    """'Predict ... for a 40-layer network ... The prediction is 0.68^39 ~ 3e-7. With He's gain ...
    0.96^39 ~ 0.2 ... Both measurements land within a factor of two of the predictions.'"""
    rho = _factors("relu")[1]
    predicted = (gain * rho) ** 39
    prof = _profile(40, "relu", init)
    measured = prof.act_grad_norm[0] / prof.act_grad_norm[-1]
    assert 0.5 < predicted / measured < 2
