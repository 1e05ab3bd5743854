"""The claims of book/activations.md, each recomputed with the chapter's own settings."""

import functools
import math

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.explorers import gradient_flow, saturation
from gradwidgets.lessons.slopes import (
    measured_backward_factor,
    predicted_backward_factor,
    predicted_backward_factors,
    slope_rms,
)

NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "selu"]


@functools.cache
def _batch():
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
    """'SELU is an ELU scaled by lambda ~ 1.0507, with alpha ~ 1.6733.'"""
    lam = float(torch.nn.functional.selu(torch.tensor(1.0, dtype=torch.float64)))
    floor = float(torch.nn.functional.selu(torch.tensor(-50.0, dtype=torch.float64)))
    assert lam == pytest.approx(1.0507, abs=5e-5)
    assert -floor / lam == pytest.approx(1.6733, abs=5e-5)


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
    """'sigmoid: ... each layer divides the gradient by more than 4, and twenty layers by 7e-13.'"""
    _, rho, end = _factors("sigmoid")
    assert rho < 0.25
    assert end < 1e-12


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_relu_factor_is_near_root_half(name):
    """'ReLU and Leaky ReLU: rho ~ 0.68 ... the RMS slope is close to sqrt(1/2) ~ 0.71.'"""
    _, rho, _ = _factors(name)
    assert 0.6 < rho < math.sqrt(0.5) + 0.02


@pytest.mark.parametrize("name", ["tanh", "elu"])
def test_tanh_and_elu_factor_close_to_one(name):
    """'tanh and ELU: close to 1.'"""
    assert 0.9 < _factors(name)[1] < 1.0


def test_gelu_factor_about_a_half():
    """'GELU: about 0.50, because its slope at z = 0 is 1/2.'"""
    assert 0.45 < _factors("gelu")[1] < 0.55
    assert float(gw.ACTIVATIONS["gelu"].derivative(torch.zeros(1))) == pytest.approx(0.5)


def test_selu_factor_above_one_and_grows_the_gradient():
    """'SELU: 1.11, above 1: ... the gradient grows on its way back, to 6.8 times its top value.'"""
    _, rho, end = _factors("selu")
    assert 1.05 < rho < 1.15  # Summary: "SELU gains about 10%"
    assert end > 3


# ---- saturation


def test_saturation_thresholds_of_tanh_and_sigmoid():
    """'tanh saturates for |z| > 2.18, the sigmoid for |z| > 4.36' (f' at 5% of its maximum)."""
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
    """'the saturated column of a ReLU profile is always close to 50%' and (Explore) 'the saturated
    and dead shares are the same at every gain'; 'the band shrinks at gain 1 and grows at gain 4'."""
    ref = _profile(10, "relu", "xavier_normal", 1.0)
    prof = _profile(10, "relu", "xavier_normal", gain)
    assert np.all((prof.saturation > 0.35) & (prof.saturation < 0.65))
    np.testing.assert_array_equal(prof.saturation, ref.saturation)
    np.testing.assert_array_equal(prof.dead_fraction, ref.dead_fraction)
    grows = prof.act_std[-1] > prof.act_std[0]
    assert grows if gain == 4.0 else True
    assert not grows if gain == 1.0 else True


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
    """'at g = 4, 53% of the units in layer 10 are saturated and the gradient still grows by a
    factor 1.74 per layer' and the figure: 'most of them lie in the flat, shaded parts'."""
    sat, _, rho = _tanh_gain_rows()[4]
    assert sat > 0.5
    assert rho > 1.2


# ---- dead units


def _dead_bias_profile(activation):
    X, y = _batch()
    model = gw.build_mlp(10, activation=activation, init="kaiming_normal")
    with torch.no_grad():
        for linear in model.hidden_linears:
            linear.bias.fill_(-0.5)
    return gw.gradient_profile(model, X, y)


def test_negative_bias_kills_layers_and_cuts_every_gradient():
    """'The dead share grows with depth ... until from layer 4 on every unit is dead. And then every
    layer's |dL/dW| is exactly 0, even layer 1, where only 14% of the units are dead.'"""
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
    """'The predicted product is within a factor of two of the measurement at every depth.'"""
    X, y = _batch()
    model = gw.build_mlp(depth, activation=name, init="lecun_normal")
    profile = gw.gradient_profile(model, X, y)
    predicted = np.prod(predicted_backward_factors(model, X))
    measured = profile.act_grad_norm[0] / profile.act_grad_norm[-1]
    assert 0.5 < predicted / measured < 2


def test_dead_units_accumulate_with_depth_at_initialization():
    """'Dead units also accumulate with depth, even at initialization ... 0% of the first layer's
    units are dead on this batch and 48% of the last layer's.'"""
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


def test_relu_with_xavier_scale_sits_near_the_vanishing_zone():
    """'With Xavier's scale the activations of layer 30 have a standard deviation of 2e-06, and no
    layer's gradient is larger than 2e-05 ... With He's gain ... the smallest layer gradient is 0.09.'"""
    xavier = _profile(30, "relu", "xavier_normal")
    he = _profile(30, "relu", "kaiming_normal")
    assert xavier.act_std[-1] < 1e-4
    assert xavier.weight_grad_norm.max() < 100 * gw.plots.VANISHING_BELOW
    assert he.weight_grad_norm.min() > 1e-2


@functools.cache
def _one_step(name, lr):
    X, y = _batch()
    model = gw.build_mlp(6, activation=name, init="kaiming_normal")
    before = gw.gradient_profile(model, X, y).dead_fraction.mean()
    gw.train(model, X, y, steps=1, lr=lr)
    after = gw.gradient_profile(model, X, y)
    return before, after.dead_fraction.mean(), after.loss


def test_one_large_step_kills_relu_units_and_not_leaky_ones():
    """'With lr = 1 the loss jumps and the share of dead ReLU units goes from 16% to 29% in a single
    step, while a small step leaves it as it was. Leaky ReLU has no dead units at all.'"""
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
    """'The prediction is 0.68^39 ~ 3e-7. With He's gain ... 0.96^39 ~ 0.2 ... Both measurements land
    within a factor of two of the predictions.'"""
    rho = _factors("relu")[1]
    predicted = (gain * rho) ** 39
    prof = _profile(40, "relu", init)
    measured = prof.act_grad_norm[0] / prof.act_grad_norm[-1]
    assert 0.5 < predicted / measured < 2
