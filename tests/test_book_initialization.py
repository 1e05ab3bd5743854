"""The claims of book/initialization.md, each recomputed with the chapter's own settings."""

import functools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.explorers import compare, init_variance
from gradwidgets.lessons.jacobians import jacobian_singular_values, layer_jacobians

INITS = ["normal", "pytorch_default", "lecun_normal", "xavier_normal", "kaiming_normal", "orthogonal"]


@functools.cache
def _batch():
    data = gw.make_dataset("spirals", 256)
    return data.X, data.y.float()


@functools.cache
def _profile(activation, init, depth=30):
    X, y = _batch()
    return gw.gradient_profile(gw.build_mlp(depth, activation=activation, init=init), X, y)


def _n_var(activation, init):
    gain = gw.build_mlp(2, activation=activation, init=init).config["gain"]
    return 64 * gw.INITS[init].variance(64, 64, gain=gain)


def _sgd(model, steps, lr=0.1):
    """The chapter's plain PyTorch loop."""
    X, y = _batch()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(X).squeeze(1), y).backward()
        optimizer.step()


# ---- zero and constant weights


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_zero_init_gradients_are_exactly_zero_and_only_the_output_bias_learns(activation):
    """'every hidden layer gets a gradient of exactly zero' ... 'With tanh or ReLU ... every hidden
    output is 0 as well (the profile counts them all as dead) ... Only the output bias can learn.
    ... Every weight of the network is still exactly 0 after 100 steps; the network has only learned
    the mean of the targets.'"""
    X, y = _batch()
    zero = gw.build_mlp(5, activation=activation, init="zeros")
    profile = gw.gradient_profile(zero, X, y)
    assert np.all(profile.weight_grad_norm == 0)
    assert np.all(profile.act_std == 0) and np.all(profile.dead_fraction == 1)
    _sgd(zero, 100)
    assert [n for n, p in zero.named_parameters() if p.abs().max() > 0] == ["head.bias"]
    assert zero.head.bias.item() == pytest.approx(float(y.mean()), abs=1e-3)


def test_sigmoid_zero_init_output_layer_first_then_one_layer_per_step_but_symmetric():
    """'the output layer learns at the first step, and from then on the gradient reaches one more
    hidden layer per step, the top one first'; exercise: 'After the first step only the output layer
    has moved ... At the second step ... the top hidden layer (blocks.4) moves ... layer 1 (blocks.0)
    first moves at step 6, the depth plus one. After 100 steps every parameter is non-zero. But every
    unit of a layer is still an exact copy of the others.'"""
    X, y = _batch()
    for depth in (3, 5, 8):
        model = gw.build_mlp(depth, activation="sigmoid", init="zeros")
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        first = {}
        for step in range(1, 101):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(X).squeeze(1), y).backward()
            optimizer.step()
            first.update(
                {n: step for n, p in model.named_parameters() if n not in first and p.abs().max() > 0}
            )
        assert first["head.weight"] == first["head.bias"] == 1
        for i in range(depth):  # blocks.{depth-1} at step 2, ..., blocks.0 at step depth + 1
            if depth == 8 and i == 0:  # the product of eight tiny factors underflows float32: 0
                assert f"blocks.{i}.linear.weight" not in first
                continue
            assert first[f"blocks.{i}.linear.weight"] == first[f"blocks.{i}.linear.bias"] == depth + 1 - i
        if depth == 5:
            assert all(p.abs().max() > 0 for p in model.parameters())
    for lin in model.hidden_linears:
        assert (lin.weight - lin.weight[0]).abs().max().item() == 0


# ---- the variance recursion


def test_variance_of_a_layer_output_is_n_var_w_times_second_moment():
    """'Var(z_l) = n_in Var(W_l) E[h_{l-1}^2]' and 'for ReLU ... E[h^2] = Var(z)/2' (Monte Carlo)."""
    g = torch.Generator().manual_seed(0)
    n, batch, var_w = 64, 20000, 0.03
    h = torch.relu(torch.randn(batch, n, generator=g, dtype=torch.float64))
    assert float(h.pow(2).mean()) == pytest.approx(0.5, rel=0.02)
    W = torch.randn(n, n, generator=g, dtype=torch.float64) * math.sqrt(var_w)
    z = h @ W.T
    expected = n * float(W.pow(2).mean()) * float(h.pow(2).mean())
    assert float(z.var()) == pytest.approx(expected, rel=0.05)


def test_xavier_equals_lecun_in_square_layers_and_pytorch_default_is_a_third():
    """'In a stack of equal-width layers ... it is the same as LeCun's'; PyTorch's default 'is
    1/(3 n_in): a third of LeCun's variance and a sixth of He's'."""
    lecun, xavier = gw.INITS["lecun_normal"], gw.INITS["xavier_normal"]
    assert xavier.variance(64, 64) == pytest.approx(lecun.variance(64, 64))
    assert xavier.variance(2, 64) != pytest.approx(lecun.variance(2, 64))
    default = gw.INITS["pytorch_default"].variance(64, 64)
    assert default == pytest.approx(lecun.variance(64, 64) / 3)
    assert default == pytest.approx(gw.INITS["kaiming_normal"].variance(64, 64, gain=math.sqrt(2)) / 6)


def test_pytorch_default_matches_torch_and_draws_biases_in_the_same_range():
    """'PyTorch's own default for nn.Linear draws from U(+-1/sqrt(n_in)) ... It also draws the biases
    from the same range.'"""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        reference = torch.nn.Linear(64, 64)
    bound = 1 / math.sqrt(64)
    assert reference.weight.abs().max() <= bound and reference.weight.abs().max() > 0.95 * bound
    model = gw.build_mlp(3, init="pytorch_default")
    lin = model.hidden_linears[1]
    assert lin.weight.abs().max() <= bound and lin.bias.abs().max() <= bound
    assert lin.bias.abs().max() > 0
    assert lin.weight.var().item() == pytest.approx(1 / (3 * 64), rel=0.1)


@functools.cache
def _spectrum(init):
    X, _ = _batch()
    return jacobian_singular_values(layer_jacobians(gw.build_mlp(30, activation="linear", init=init), X[0]))


def test_orthogonal_keeps_every_direction_lecun_only_the_average():
    """'the product of the 29 Jacobians of layers 2 to 30' ... 'With LeCun's Gaussian weights the
    average direction keeps its length (root mean square {lecun_rms:.2f}), but one direction is
    stretched {lecun_smax:.1f} times and others are crushed to nothing (the smallest singular
    value is below rounding level, reported as 0) ... The orthogonal product keeps every direction
    exactly.'"""
    lecun, orth = _spectrum("lecun_normal"), _spectrum("orthogonal")
    assert 0.8 < lecun.sigma_rms[1] < 1.2
    assert lecun.sigma_max[1] > 3
    assert lecun.sigma_min[1] == 0
    for values in (orth.sigma_max[1], orth.sigma_min[1], orth.sigma_rms[1]):
        assert values == pytest.approx(1, abs=1e-4)
    assert len(orth) == 30 and len(orth.product_values[1]) == 64


def test_orthogonal_with_an_activation_tanh_gain_one_nearly_relu_never():
    """'With tanh at gain 1 ... every singular value of the 29-layer product lies between
    {orth_tanh1_min} and {orth_tanh1_max}: every direction is kept, nearly ... At tanh's usual gain of
    5/3 the pre-activations spread into the curved parts, and the product stretches some directions
    {orth_tanh53_max} times and crushes others below rounding level. With ReLU no choice of weights
    helps: about half the slopes are exactly 0 ... and the smallest singular value is 0.'"""
    X, _ = _batch()

    def spectrum(act, gain, init="orthogonal"):
        model = gw.build_mlp(30, activation=act, init=init, init_gain=gain)
        return jacobian_singular_values(layer_jacobians(model, X[0]))

    tanh1 = spectrum("tanh", 1.0)
    assert 0.5 < tanh1.sigma_min[1] <= tanh1.sigma_max[1] < 1.1
    tanh53 = spectrum("tanh", 5 / 3)
    assert tanh53.sigma_max[1] > 50 and tanh53.sigma_min[1] == 0
    zs = gw.build_mlp(30, activation="tanh", init="orthogonal", init_gain=5 / 3).preactivations(X)
    z1 = gw.build_mlp(30, activation="tanh", init="orthogonal", init_gain=1.0).preactivations(X)
    assert float(zs[-1].std()) > 3 * float(z1[-1].std())
    for gain in (2**0.5, 1.0, 2.0):
        assert spectrum("relu", gain).sigma_min[1] == 0


# ---- 30 layers: ReLU


def _ratio(p):
    return p.act_std[-1] / p.act_std[1]


def test_relu_normal_overflows():
    """'normal, N(0, 1): n Var(W) = 64, so each layer multiplies the standard deviation by sqrt(32) ~
    5.7. By layer 30 it is {relu_normal_std30}, the loss overflows and the gradient is not a number.'
    (Myth: 'With ReLU, the activations reach {rn_std30} in layer 30, the loss is infinite, and no
    gradient is a number.')"""
    p = _profile("relu", "normal")
    assert _n_var("relu", "normal") == 64
    assert p.act_std[-1] > 1e15
    assert math.isinf(p.loss) and not np.isfinite(p.weight_grad_norm).any()
    assert _ratio(p) ** (1 / 28) == pytest.approx(math.sqrt(32), rel=0.1)


@pytest.mark.parametrize("init", ["lecun_normal", "xavier_normal"])
def test_relu_lecun_and_xavier_shrink_by_root_half(init):
    """'LeCun and Xavier: n Var(W) = 1, half of what ReLU needs, so each layer multiplies the standard
    deviation by sqrt(1/2): 6 x 10^-5 over 28 layers is predicted, {relu_lecun_drop} measured.'"""
    assert _n_var("relu", init) == pytest.approx(1)
    measured, predicted = _ratio(_profile("relu", init)), 0.5**14
    assert 2e-5 < measured < 1.2e-4
    assert 0.5 < measured / predicted < 2


@pytest.mark.parametrize("init", ["kaiming_normal", "orthogonal"])
def test_relu_he_and_orthogonal_keep_the_scale(init):
    """'He and orthogonal: n Var(W) = 2. The standard deviation stays of the same order over 30
    layers (it drifts down a little ...)'."""
    p = _profile("relu", init)
    assert _n_var("relu", init) == pytest.approx(2, rel=1e-3)
    assert 0.1 < p.act_std[-1] / p.act_std[0] < 10
    assert p.act_std[-1] < p.act_std[1]


def test_relu_first_layer_gradient_he_versus_lecun():
    """'the first layer's gradient is {relu_kaiming_normal_g1} with He, against
    {relu_lecun_normal_g1} with LeCun.'"""
    assert _profile("relu", "kaiming_normal").weight_grad_norm[0] > 0.05
    assert _profile("relu", "lecun_normal").weight_grad_norm[0] < 1e-5


def test_pytorch_default_biases_hide_the_collapse():
    """'n Var(W) = 1/3 predicts a collapse by 10^-11, yet the measured standard deviation falls only by
    a factor of {relu_pt_drop} ... they add Var(b) = 1/(3n) to every Var(z_l) ... the first layer's
    gradient, {relu_pytorch_default_g1}, shows that the signal from the loss does not come back
    either.'"""
    p = _profile("relu", "pytorch_default")
    assert (_n_var("relu", "pytorch_default") / 2) ** 14 < 1e-10
    assert 1.5 < 1 / _ratio(p) < 5
    assert p.weight_grad_norm[0] < 1e-10


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_xavier_first_layer_smaller_than_lecun(activation):
    """'in layer 1, where n_in = 2 and n_out = 64. LeCun's variance is 1/2 there and Xavier's 2/66, so
    Xavier's first layer is about four times smaller ({relu_xavier_normal_std1} against
    {relu_lecun_normal_std1})' and, in the myth, 'LeCun's first layer has 16 times Xavier's variance,
    and three to four times its activations'."""
    lecun, xavier = _profile(activation, "lecun_normal"), _profile(activation, "xavier_normal")
    ratio = lecun.act_std[0] / xavier.act_std[0]
    assert 3 < ratio < 4.5
    if activation == "relu":
        assert 3.5 < ratio < 4.5
    assert gw.INITS["lecun_normal"].variance(2, 64) / gw.INITS["xavier_normal"].variance(2, 64) == (
        pytest.approx(16.5)
    )


# ---- 30 layers: tanh


def test_tanh_normal_saturates_and_the_gradient_grows():
    """'normal: ... {tanh_normal_sat} of the units of layer 30 are saturated and the gradient grows by
    a factor {tanh_normal_back} on its way back: the weights are eight times too large (sqrt(64))'."""
    p = _profile("tanh", "normal")
    assert p.saturation[-1] > 0.5
    assert p.act_grad_norm[0] / p.act_grad_norm[-1] > 1e6
    assert math.sqrt(_n_var("tanh", "normal")) / math.sqrt(_n_var("tanh", "lecun_normal")) == 8


def test_tanh_pytorch_default_vanishes():
    """'PyTorch's default: n Var(W) = 1/3 shrinks both directions; the gradient loses a factor
    {tanh_pytorch_default_back}.'"""
    p = _profile("tanh", "pytorch_default")
    assert p.act_grad_norm[0] / p.act_grad_norm[-1] < 1e-5
    assert p.act_std[-1] < 0.5 * p.act_std[0]


@pytest.mark.parametrize("init", ["lecun_normal", "xavier_normal"])
def test_tanh_lecun_and_xavier_shrink_slowly_gradient_keeps_its_order(init):
    """'LeCun and Xavier: the activations shrink slowly, from {tanh_lecun_normal_std1} to
    {tanh_lecun_normal_std30} with LeCun ... the gradient keeps its order of magnitude.'"""
    p = _profile("tanh", init)
    assert p.act_std[-1] < p.act_std[0]
    assert p.act_std[-1] > 0.1 * p.act_std[0]
    assert 0.1 < p.act_grad_norm[0] / p.act_grad_norm[-1] < 10


@pytest.mark.parametrize("init", ["kaiming_normal", "orthogonal"])
def test_tanh_gain_five_thirds_keeps_activations_and_grows_slowly(init):
    """'He and orthogonal with gain 5/3: the activations stay around {tanh_kaiming_normal_std30}, a
    few percent of the units saturate, and the gradient grows slowly on its way back (a factor
    {tanh_kaiming_normal_back} over 30 layers with He).' The table: 'PyTorch's gain 5/3 keeps the
    activations from shrinking, but the gradient grows (above: x{tanh_kaiming_normal_back} over 30
    layers)'."""
    p = _profile("tanh", init)
    assert gw.build_mlp(2, activation="tanh", init=init).config["gain"] == pytest.approx(5 / 3, abs=1e-3)
    assert 0.4 < p.act_std[-1] < 0.9
    assert p.saturation[-1] < 0.1
    assert 1 < p.act_grad_norm[0] / p.act_grad_norm[-1] < 1000


def test_pytorch_default_factor_per_layer():
    """'Its factor of 0.4 to 0.6 per layer (with ReLU and tanh) costs about one order of magnitude
    over three layers, and seven to eleven over thirty': sqrt(n Var(W)/2) and sqrt(n Var(W))."""
    n_var = _n_var("relu", "pytorch_default")
    relu, tanh = math.sqrt(n_var / 2), math.sqrt(n_var)
    assert 0.4 < relu < tanh < 0.6
    assert 0.5 < -math.log10(relu**3) < 1.5 and 0.5 < -math.log10(tanh**3) < 1.5
    assert round(-math.log10(tanh**29)) == 7 and round(-math.log10(relu**29)) == 11
    p = _profile("tanh", "pytorch_default")
    assert round(-math.log10(p.act_grad_norm[0] / p.act_grad_norm[-1])) == 7  # measured, tanh


# ---- explorers

VARIANCE = dict(
    inits=tuple(INITS),
    activations=("tanh", "relu", "selu"),
    widths=(16, 64, 256),
    init="kaiming_normal",
    activation="relu",
)
COMPARE = dict(
    activations=("tanh", "relu"),
    inits=("pytorch_default", "xavier_normal", "kaiming_normal"),
    depth=30,
    a=("relu", "xavier_normal"),
    b=("relu", "kaiming_normal"),
)


def test_explorer_grids_are_small():
    """Both explorers bake a small grid (at most 60 configurations)."""
    assert init_variance(**VARIANCE).grid_size <= 60
    assert compare(**COMPARE).grid_size <= 60


@functools.cache
def _variance_run(init, activation, width):
    ex = init_variance(**VARIANCE)
    return ex.run(ex.config(init=init, activation=activation, width=width))


def _std(result):
    return result.data["acts"]["std"]


def test_init_variance_lecun_band_collapses():
    """'ReLU with He, then LeCun: the band of the activations collapses towards 0 within a few layers
    with LeCun.'"""
    std = _std(_variance_run("lecun_normal", "relu", 64))
    assert std[9] < 0.1 * std[0]
    he = _std(_variance_run("kaiming_normal", "relu", 64))
    assert he[9] > 0.3 * he[0]


def test_init_variance_normal_blows_up_faster_when_wider_he_does_not_grow():
    """'N(0, 1) with width 16, 64 and 256: the larger the width, the faster the activations blow up
    ... With He the growth is gone at every width (at width 16 the activations still shrink ...)'."""
    last = [_std(_variance_run("normal", "relu", w))[-1] for w in (16, 64, 256)]
    assert last[0] < last[1] < last[2]
    for w in (16, 64, 256):
        std = _std(_variance_run("kaiming_normal", "relu", w))
        assert std[-1] <= std[0]
    small = _std(_variance_run("kaiming_normal", "relu", 16))
    assert small[-1] < 0.1 * small[0]


def test_exercise_width_numbers():
    """Exercise: 'From layer 2 to layer 30 the prediction is (n/2)^14: about 4 x 10^12 for n = 16,
    10^21 for n = 64 and 3 x 10^29 for n = 256, times the standard deviation of layer 2 (between 1
    and 4). The explorer shows about 5e10, 1.5e21 and 6e29: right for the wide networks, too high for width 16
    ... For widths 64 and 256 the loss is not even finite; for width 16 it is finite but enormous.
    With He the last layer's standard deviation stays within a factor of about 100 of the first
    layer's at every width.'"""
    for width, power in ((16, 4e12), (64, 1e21), (256, 3e29)):
        assert (width / 2) ** 14 == pytest.approx(power, rel=0.25)
    for width, shown in ((16, 5e10), (64, 1.5e21), (256, 6e29)):
        result = _variance_run("normal", "relu", width)
        std = _std(result)
        assert 1 < std[1] < 4
        assert shown / 3 < std[-1] < shown * 3
        predicted = (width / 2) ** 14 * std[1]
        if width == 16:
            assert predicted > 10 * std[-1]
        else:
            assert 1 / 3 < predicted / std[-1] < 3
        if width == 16:
            assert "not finite" not in result.status and "exploding" in result.status
        else:
            assert "not finite" in result.status
        he = _std(_variance_run("kaiming_normal", "relu", width))
        assert he[-1] / he[0] > 0.01


def test_init_variance_selu_lecun_settles_near_one():
    """'SELU with LeCun, its intended partner: the activations settle at a standard deviation close
    to 1.'"""
    std = _std(_variance_run("lecun_normal", "selu", 64))
    assert 0.8 < std[-1] < 1.2


def test_compare_xavier_five_orders_below_he_and_pytorch_default_falls():
    """'both gradient lines are roughly flat, but A lies about five orders of magnitude below B.
    Switch B to PyTorch's default to see a line that falls towards the input'."""
    ex = compare(**COMPARE)
    result = ex.run(ex.default_config)
    a, b = result.data["a"]["value"], result.data["b"]["value"]
    assert 1e4 < np.median(b) / np.median(a) < 1e6
    for g in (a, b):
        assert np.ptp(np.log10(g[1:])) < 1.5
    falling = ex.run(ex.config(b_init="pytorch_default")).data["b"]["value"]
    assert falling[0] < 1e-6 * falling[-1]


# ---- myths


@functools.cache
def _twins():
    curve = gw.make_dataset("regression", 256)
    twins = gw.build_mlp(3, width=16, in_features=1, activation="tanh", init="constant", init_scale=0.2)
    history = gw.train(twins, curve.X, curve.y, steps=300, lr=0.02)
    A = torch.cat([curve.X, torch.ones(256, 1)], dim=1)
    best_line = torch.linalg.lstsq(A, curve.y).solution
    line_loss = torch.nn.functional.mse_loss(A @ best_line, curve.y).item()
    return twins, history, line_loss


def test_constant_init_units_stay_exact_copies():
    """'After 300 steps the 16 units of each layer are still exact copies of each other: the largest
    difference between two units' weights is 0.'"""
    twins, history, _ = _twins()
    for lin in twins.hidden_linears:
        assert (lin.weight - lin.weight[0]).abs().max().item() == 0
    assert history.final_loss < 0.1 * history.loss[0]


def test_constant_init_network_is_not_linear():
    """'Start a 3-layer tanh network with every weight equal to 0.2 ... Along equal steps of the input
    its output takes very unequal steps, an S-shaped curve ... Its loss, {twin_loss:.3f}, is well
    below that of the best straight line, {line_loss:.3f}.'"""
    twins, history, line_loss = _twins()
    with torch.no_grad():
        steps = twins(torch.linspace(-2, 2, 5).reshape(-1, 1)).squeeze(1).diff().abs()
    assert steps.max() > 10 * steps.min()
    assert steps[1:3].min() > 5 * steps[[0, 3]].max()  # steep in the middle, flat at the ends
    assert history.final_loss < 0.6 * line_loss


@pytest.mark.parametrize("name", ["lecun_normal", "xavier_normal"])
def test_drawn_variances_match_the_formulas(name):
    """Myth 'Xavier = sqrt(1/n)': the weights drawn have the variances the formulas give; the hidden
    layers get the same variance from both."""
    first, second = gw.build_mlp(3, init=name, width=64).hidden_linears[:2]
    assert first.weight.var().item() == pytest.approx(gw.INITS[name].variance(2, 64), rel=0.25)
    assert second.weight.var().item() == pytest.approx(gw.INITS[name].variance(64, 64), rel=0.1)
    assert gw.INITS[name].variance(64, 64) == pytest.approx(1 / 64)


def test_random_normal_tanh_gradients_larger_than_xavier_most_in_the_first_layer():
    """'With tanh nothing overflows, but every layer's weight gradient is larger than with Xavier's
    scale, by a factor from {tn_ratio_min} in the last layer to {tn_ratio_max} in the first'."""
    normal, xavier = _profile("tanh", "normal"), _profile("tanh", "xavier_normal")
    assert normal.finite
    ratio = normal.weight_grad_norm / xavier.weight_grad_norm
    assert ratio.min() > 100 and ratio.max() > 1e10
    assert ratio.argmin() == len(ratio) - 1 and ratio.argmax() == 0


# ---- exercise: PyTorch's default without its biases


@functools.cache
def _default_without_biases():
    X, y = _batch()
    model = gw.build_mlp(30, activation="relu", init="pytorch_default")
    with torch.no_grad():
        for linear in model.hidden_linears:
            linear.bias.zero_()
    return gw.gradient_profile(model, X, y)


def test_exercise_default_without_biases_follows_the_prediction():
    """'Without the biases, the prediction sqrt(1/6) ~ 0.41 holds, and the activations of layer 30
    are about 1e-11 times those of layer 2.'"""
    p = _default_without_biases()
    factor = (p.act_std[-1] / p.act_std[1]) ** (1 / 28)
    assert factor == pytest.approx(math.sqrt(1 / 6), rel=0.05)
    assert 10**-12.5 < p.act_std[-1] / p.act_std[1] < 10**-10.5


def test_exercise_with_biases_the_output_ignores_the_input():
    """'With the biases the activations looked healthy, but they were made of biases: the network's
    output hardly depends on its input, and the first layer's gradient is about 1e-13 either way.'"""
    X, _ = _batch()
    model = gw.build_mlp(30, activation="relu", init="pytorch_default")
    with torch.no_grad():
        assert model(X).std().item() < 1e-6
    for p in (_profile("relu", "pytorch_default"), _default_without_biases()):
        assert 1e-14 < p.weight_grad_norm[0] < 1e-12


def test_leaky_relu_gain():
    """Exercise: 'g = sqrt(2 / (1 + a^2)). For a = 0.01 that is barely below sqrt 2', equal to the
    registry's and PyTorch's gain."""
    a = 0.01
    assert gw.ACTIVATIONS["leaky_relu"].gain == pytest.approx(math.sqrt(2 / (1 + a**2)))
    assert torch.nn.init.calculate_gain("leaky_relu", a) == pytest.approx(math.sqrt(2 / (1 + a**2)))


def test_exercise_remedy_in_plain_pytorch_xavier_clears_both_flags():
    """Exercise 'Apply a remedy in your own code': 'LeCun's or Xavier's scale: in the square hidden
    layers both are Var(W) = 1/n, and torch.nn.init.xavier_normal_ draws it ... The first report flags
    most layers as exploding and saturated; the second has no flag.' (Run on the chapter's own cells.)"""
    import jupytext

    chapter = Path(__file__).resolve().parents[1] / "book" / "initialization.md"
    X, y = _batch()
    ns = {"gw": gw, "torch": torch, "X": X, "y": y, "print": lambda *a, **k: None}
    cells = [c.source for c in jupytext.read(chapter).cells if c.cell_type == "code"]
    for source in cells:
        if "def tanh_stack" in source or "fixed_tanh =" in source:
            exec(compile(source, str(chapter), "exec"), ns)
    bad = gw.diagnose(ns["tanh_stack"](torch.nn.init.normal_), X, y)
    layers = len(bad.profile.layer_names)
    assert len(bad.flagged("exploding")) > layers / 2 and len(bad.flagged("saturated")) > layers / 2
    assert ns["fixed_tanh"].healthy
    weight = ns["tanh_stack"](torch.nn.init.xavier_normal_)[2].weight
    assert gw.INITS["xavier_normal"].variance(64, 64, gain=1.0) == pytest.approx(1 / 64)
    assert float(weight.detach().var()) == pytest.approx(1 / 64, rel=0.1)
