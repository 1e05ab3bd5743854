"""Every checkable claim of book/backprop.md, with the chapter's own seeds and settings.

Each test's docstring quotes the sentence it checks; a test fails if the claim becomes false.
"""

import itertools

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import gradwidgets as gw
from gradwidgets.explorers import gradient_flow, learning_rate
from gradwidgets.explorers.descent import one_weight_problem
from gradwidgets.lessons import manual_backprop, one_weight_descent, tiny_example, tiny_loss


@pytest.fixture(scope="module")
def worked():
    net, x, y = tiny_example()
    return net, x, y, manual_backprop(net, x, y)


@pytest.fixture(scope="module")
def problem():
    return one_weight_problem()


@pytest.fixture(scope="module")
def lr_paths():
    ex = learning_rate(lrs=(0.02, 0.2, 0.5, 0.9, 1.05), steps=25)
    x, y = one_weight_problem()
    w_best = float((x.double() * y.double()).sum() / x.double().pow(2).sum())
    return {lr: ex.run(ex.config(lr=lr)).data["path"]["w"] - w_best for lr in ex.controls[0].options}


@pytest.fixture(scope="module")
def shallow_flow():
    ex = gradient_flow(
        depths=(1, 2, 3, 5, 8),
        activations=("tanh", "sigmoid", "relu"),
        inits=("xavier_normal",),
        norms=(None,),
        residual=(False,),
        depth=2,
    )
    return {(c["depth"], c["activation"]): ex.run(c).data["grads"]["value"] for c in ex.grid()}


# --- the chain rule by hand --------------------------------------------------------------


def test_biases_start_at_zero(worked):
    """'The biases start at zero, as they do in every network this course builds.'"""
    net = worked[0]
    assert torch.all(net.b1 == 0) and torch.all(net.b2 == 0)
    model = gw.build_mlp(3, init="xavier_normal")
    assert all(torch.all(lin.bias == 0) for lin in model.hidden_linears)


def test_prediction_is_well_below_the_target(worked):
    """'The forward pass gives a prediction ŷ well below the target y = 1.'"""
    hand = worked[3]
    assert float(hand.yhat) < 0 < float(worked[2])


def test_the_two_products_share_first_and_last_factor(worked):
    """'The two products share their first factor and their last (x_1 = 2).'"""
    a, b = worked[3].chain(0, 1), worked[3].chain(1, 1)
    assert a.factors[0][1] == b.factors[0][1]
    assert a.factors[3][1] == b.factors[3][1] == 2.0


def test_unit_0_near_the_middle_unit_1_on_the_flat_part(worked):
    """'unit 0 has z_1[0] = 0.2, near the middle of tanh where the slope is {slope0}, while unit 1
    has z_1[1] = 1.9, out on the flat part of the curve, where the slope is only {slope1}.'"""
    hand = worked[3]
    torch.testing.assert_close(hand.z1, torch.tensor([0.2, 1.9], dtype=torch.float64))
    assert hand.slope[0] > 0.9 and hand.slope[1] < 0.1


def test_unit_1_weight_gets_a_much_smaller_gradient(worked):
    """'With a weight of half the size on the way out, unit 1's weight ends up with a gradient
    {chain_ratio} times smaller.'"""
    net, hand = worked[0], worked[3]
    assert abs(float(net.W2[0, 1])) == 0.5 * abs(float(net.W2[0, 0]))
    assert abs(hand.chain(0, 1).value / hand.chain(1, 1).value) > 10


@pytest.mark.parametrize("depth", [2, 8, 20])
def test_a_backward_pass_costs_about_twice_a_forward_pass(depth):
    """'for each layer the forward pass computes one matrix product, W_l h_{l-1}, and the backward pass
    two of the same size ... A backward pass costs about twice a forward pass, so all the gradients
    together cost about three forward passes, however many weights there are.' (torch's own count of
    the floating-point operations of the matrix products)"""
    data = gw.make_dataset("spirals", 256)
    model = gw.build_mlp(depth, activation="tanh")
    with FlopCounterMode(display=False) as forward:
        out = model(data.X)
    loss = torch.nn.functional.mse_loss(out.squeeze(1), data.y.float())
    with FlopCounterMode(display=False) as backward:
        loss.backward()
    ratio = backward.get_total_flops() / forward.get_total_flops()
    assert 1.8 < ratio <= 2.0  # the first layer needs no gradient for its input x


def test_hand_and_autograd_agree_to_rounding(worked):
    """'It is about {autograd_diff}, the rounding error of 64-bit floating point: the chain rule by
    hand and autograd agree.' (and: 'These are the same four arrays as dL/dW1 ... above.')"""
    net, x, y, hand = worked
    params = [p.clone().requires_grad_() for p in net.parameters()]
    auto = torch.autograd.grad(tiny_loss(x, y, *params), params)
    assert hand.max_abs_diff(auto) < 1e-15


def test_one_step_lowers_the_loss_and_moves_the_biases(worked):
    """'The loss falls from {loss_before} to {loss_after}. The biases, which started at zero,
    have moved too.'"""
    net, x, y, hand = worked
    after = net.step(hand, lr=0.1)
    assert after.loss(x, y) < net.loss(x, y)
    assert torch.all(after.b1 != 0) and torch.all(after.b2 != 0)


def test_exercise_chain_1_0_factors(worked):
    """Exercise solution: 'The four factors are ŷ - y ≈ -1.281, W_2[0,1] = -0.5, the slope
    1 - tanh²(1.9) ≈ 0.0856 and x_0 = 1. Their product is about 0.0548.'"""
    net, x, y, hand = worked
    values = [f for _, f in hand.chain(1, 0).factors]
    np.testing.assert_allclose(values, [-1.281, -0.5, 0.0856, 1.0], atol=6e-4)
    params = [p.clone().requires_grad_() for p in net.parameters()]
    auto = torch.autograd.grad(tiny_loss(x, y, *params), params)
    assert hand.chain(1, 0).value == pytest.approx(float(auto[0][1, 0]), rel=1e-12)
    assert hand.chain(1, 0).value == pytest.approx(0.0548, abs=1e-4)


# --- the learning rate -------------------------------------------------------------------


def test_curvature_is_two(problem):
    """'The inputs here are scaled so that the mean of x_i² is exactly 1' and 'The curvature is
    {curvature}, so any learning rate below {lr_max} converges, and lr = {lr_one} reaches the minimum
    in one step' (c = 2, lr < 1, lr = 0.5); 'fits ŷ = w x to 64 points'."""
    x, _ = problem
    assert len(x) == 64
    c = float(2 * x.pow(2).mean())
    assert c == pytest.approx(2.0, rel=1e-6)
    assert (f"{c:.0f}", f"{2 / c:.0f}", f"{1 / c:.1f}") == ("2", "1", "0.5")


def test_explorer_regimes(lr_paths):
    """'0.02 crawls, 0.2 converges smoothly, 0.5 lands on the minimum at once, 0.9 zigzags from
    side to side and still converges, and 1.05 zigzags further out at every step.'"""
    e = lr_paths
    assert np.all(np.sign(e[0.02]) == -1) and abs(e[0.02][-1]) > 0.3 * abs(e[0.02][0])
    assert np.all(np.sign(e[0.2][:10]) == -1) and abs(e[0.2][-1]) < 1e-3
    assert abs(e[0.5][1]) < 1e-5 and np.all(np.abs(e[0.5][1:]) < 1e-5)
    assert np.all(np.sign(e[0.9][1:]) == -np.sign(e[0.9][:-1])) and abs(e[0.9][-1]) < abs(e[0.9][0]) / 100
    assert np.all(np.sign(e[1.05][1:]) == -np.sign(e[1.05][:-1]))
    assert np.all(np.diff(np.abs(e[1.05])) > 0)


def test_exercise_regimes_factors(lr_paths):
    """Exercise solution: 'lr = 0.5 gives 1 - 0.5 · 2 = 0 ... later steps stay there'; 'lr = 0.9
    gives 1 - 0.9 · 2 = -0.8 ... 80% as far out as before'; 'With lr = 1.05 the factor is -1.1 and
    the dots alternate ever further out.'"""
    e = lr_paths[0.9]
    np.testing.assert_allclose(e[1:6] / e[:5], -0.8, rtol=1e-3)
    e = lr_paths[1.05]
    np.testing.assert_allclose(e[1:6] / e[:5], -1.1, rtol=1e-3)


def test_oscillating_run_converges_exactly_as_predicted(problem):
    """Myth: 'Here is lr = 0.9 on the parabola above, where lr·c = 1.8' and 'The error w - w* changes
    sign at every step, and its size shrinks from {osc_start} to {osc_end} in 25 steps, exactly as
    the factor 1 - lr·c = {osc_factor} predicts.'"""
    run = one_weight_descent(*problem, lr=0.9, steps=25)
    e = run.errors
    assert run.lr * run.curvature == pytest.approx(1.8, rel=1e-5)
    assert run.factor == pytest.approx(-0.8, rel=1e-5)
    assert np.all(np.sign(e[1:]) == -np.sign(e[:-1]))
    assert abs(e[-1]) < abs(e[0]) / 100
    np.testing.assert_allclose(e, run.predicted_errors, rtol=1e-3)


def test_scaling_the_loss_scales_the_gradient_not_the_minimum(problem):
    """Myth: 'With the loss times 10, the first gradient is ten times larger ({big_grad}), and the
    same learning rate now gives lr·c = 4: the run ends {big_final} away from the minimum. With the
    loss times 0.1 the gradient is ten times smaller and the run is still {small_final} away after
    25 steps.'"""
    runs = {s: one_weight_descent(*problem, lr=0.2, loss_scale=s) for s in (0.1, 1, 10)}
    assert runs[10].first_grad == pytest.approx(10 * runs[1].first_grad, rel=1e-5)
    assert runs[0.1].first_grad == pytest.approx(0.1 * runs[1].first_grad, rel=1e-5)
    assert runs[10].lr * runs[10].curvature == pytest.approx(4.0, rel=1e-5)
    assert {r.w_best for r in runs.values()} == {runs[1].w_best}
    assert abs(runs[10].errors[-1]) > 1e6
    assert abs(runs[0.1].errors[-1]) > 0.5 > 1e-4 > abs(runs[1].errors[-1])


def test_exercise_speed_limit_of_the_scaled_loss(problem):
    """Exercise solution: 'descent converges for lr < 2/20 = 0.1 ... At lr = 0.095 ... the run
    converges, slowly and zigzagging; at lr = 0.105 the factor is -1.1 and it diverges.'"""
    below = one_weight_descent(*problem, lr=0.095, loss_scale=10, steps=50)
    above = one_weight_descent(*problem, lr=0.105, loss_scale=10, steps=50)
    assert below.factor == pytest.approx(-0.9, rel=1e-4) and above.factor == pytest.approx(-1.1, rel=1e-4)
    assert abs(below.errors[-1]) < 0.01 * abs(below.errors[0])
    assert abs(above.errors[-1]) > 10 * abs(above.errors[0])


def test_training_moves_the_biases_of_a_real_network():
    """Myth: 'In gradwidgets networks the biases start at 0 ... training a real network moves
    them too.'"""
    data = gw.make_dataset("spirals", 256)
    model = gw.build_mlp(2, width=8)
    bias = model.blocks[0].linear.bias
    assert torch.all(bias == 0)
    gw.train(model, data.X, data.y.float(), steps=20, lr=0.5)
    assert torch.all(bias != 0)


# --- every layer has its own gradient ----------------------------------------------------


def test_tanh_and_relu_layers_stay_within_a_few(shallow_flow):
    """'With tanh and relu the layers' gradients stay within a factor of a few of each other' (the
    explorer: 'a fresh network on a batch of 256 points of a two-class spiral')."""
    for (depth, act), g in shallow_flow.items():
        if act != "sigmoid":
            assert g.max() / g.min() < 5, (depth, act)


def test_sigmoid_gap_widens_with_every_layer(shallow_flow):
    """'With sigmoid the first layer's gradient is far smaller than the last one's, and the gap
    widens with every layer you add.'"""
    ratios = [shallow_flow[d, "sigmoid"][0] / shallow_flow[d, "sigmoid"][-1] for d in (2, 3, 5, 8)]
    assert ratios[0] < 0.01
    assert all(b < a for a, b in itertools.pairwise(ratios))


def test_depth_8_sigmoid_ratio_and_the_cell():
    """'At depth 8 the ratio is about {sigmoid_ratio_8}: ... a step that suits the last layer leaves
    the first one practically where it started.' (The chapter's cell, same seeds.)"""
    data = gw.make_dataset("spirals", 256)
    ratio = gw.gradient_profile(
        gw.build_mlp(8, activation="sigmoid"), data.X, data.y.float()
    ).first_last_ratio
    assert ratio < 1e-5


def test_exercise_sigmoid_per_layer_factor_and_tanh_ratio(shallow_flow):
    """Exercise solution: 'With sigmoid the ... ratio falls by a factor of about 4 to 6 per added
    layer (compare depths 2, 5 and 8), so at depth 8 the first layer's gradient is more than a
    million times smaller ... With tanh the ratio stays between about 0.5 and 1 at every depth.'"""
    r = {d: shallow_flow[d, "sigmoid"][0] / shallow_flow[d, "sigmoid"][-1] for d in (2, 5, 8)}
    for a, b in ((2, 5), (5, 8)):
        per_layer = (r[a] / r[b]) ** (1 / (b - a))
        assert 3.5 < per_layer < 6.5
    assert r[8] < 1e-6
    for d in (1, 2, 3, 5, 8):
        g = shallow_flow[d, "tanh"]
        assert 0.45 < g[0] / g[-1] <= 1.0 + 1e-9
