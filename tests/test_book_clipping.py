"""The claims of book/clipping-regularization.md, each recomputed with the chapter's own settings."""

import functools
import math

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.explorers import clipping
from gradwidgets.explorers.regularization import weight_decay
from gradwidgets.lessons.regularization import clip_comparison, l2_loss, parameter_norm

LN2 = math.log(2)
MEAN_BASELINE = 2 / 12  # MSE of always predicting the average sum of two U(0, 1) numbers


@functools.cache
def _seqs():
    """'32 tanh units, trained on the adding problem ..., sequences of 30 steps' (128 of them)."""
    return gw.make_dataset("adding", 128, seq_len=30)


@functools.cache
def _spirals():
    return gw.make_dataset("spirals", 256)


@functools.cache
def _rnn_profile(rho):
    seqs = _seqs()
    return gw.gradient_profile(gw.build_rnn(spectral_radius=rho), seqs.X, seqs.y)


def _time_ratio(rho):
    t = _rnn_profile(rho).time_grad_norm
    return t[0] / t[-1]


# ---- exploding gradients through time


def test_gradient_fades_below_radius_one():
    """'Below a radius of 1 the gradient fades backward in time: at rho = 0.5 the first step receives
    {time_05} of what the last one does, and no step of the first half of the sequence, where the
    first marked number sits, gets even a thousandth of it.' (Summary: 'from a factor of {time_05} at
    rho = 0.5 to {time_30} at rho = 3 over 30 steps.')"""
    assert _time_ratio(0.5) < 1e-6
    t = _rnn_profile(0.5).time_grad_norm
    assert t[:15].max() < 1e-3 * t[-1]
    assert _time_ratio(0.9) < 1
    markers = _seqs().X[:, :, 1]
    assert torch.all(markers[:, :15].sum(1) == 1) and torch.all(markers[:, 15:].sum(1) == 1)
    assert len(gw.build_rnn().cell.weight_hh) == 32


def test_gradient_grows_at_radius_three_but_far_less_than_the_power():
    """'At rho = 3 it grows by a factor of {time_30} over the sequence. That is far less than 3^29 ~
    {power_30}, because the states are large and {sat_30} of the tanh units are saturated.'"""
    assert _time_ratio(3.0) > 1e3
    assert _time_ratio(3.0) < 1e-6 * 3.0**29
    assert _rnn_profile(3.0).saturation[0] > 0.2 > _rnn_profile(0.5).saturation[0]


def test_no_step_stretches_more_than_the_largest_singular_value():
    """'The D_k have entries between 0 and 1, so no factor W_hh^T D_k stretches a vector by more than the
    largest singular value of W_hh does.' (measured at every step of the rho = 3 network)"""
    seqs = _seqs()
    model = gw.build_rnn(spectral_radius=3.0)
    top = float(torch.linalg.matrix_norm(model.cell.weight_hh.detach(), ord=2))
    t = gw.gradient_profile(model, seqs.X, seqs.y).time_grad_norm
    assert np.all(t[:-1] / t[1:] <= top * (1 + 1e-6))
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        d = torch.rand(32, generator=gen)
        factor = model.cell.weight_hh.detach().T @ torch.diag(d)
        assert float(torch.linalg.matrix_norm(factor, ord=2)) <= top * (1 + 1e-6)


def test_largest_singular_value_below_one_means_vanishing():
    """'If W_hh shrinks every vector (its largest singular value is below one), every factor shrinks the
    gradient and it vanishes backward in time.'"""
    seqs = _seqs()
    model = gw.build_rnn(spectral_radius=0.5)
    assert torch.linalg.matrix_norm(model.cell.weight_hh, ord=2) < 1
    t = gw.gradient_profile(model, seqs.X, seqs.y).time_grad_norm
    assert np.all(np.diff(t) > 0)  # shrinks at every step going back


@functools.cache
def _exploding():
    seqs = _seqs()
    return gw.train(gw.build_rnn(spectral_radius=3.0), seqs.X, seqs.y, 120, 0.05)


def test_one_step_wrecks_the_exploding_rnn():
    """'The very first step has a gradient of norm {explode_norm0} and changes W_hh by
    {explode_update0} times its own size ... the loss overflows at step {explode_step}.' (120 steps of
    plain gradient descent at lr 0.05)"""
    h = _exploding()
    assert h.total_norm_before[0] > 1e3
    assert h.update_ratio[0, 0] > 1 and h.layer_names[0] == "cell"
    assert h.diverged_at is not None and h.diverged_at > 0


# ---- clipping by norm and by value


@functools.cache
def _clip(c):
    seqs = _seqs()
    return clip_comparison(gw.build_rnn(spectral_radius=3.0), seqs.X, seqs.y, c)


@pytest.mark.parametrize("c", [0.1, 1.0, 10.0, 100.0])
def test_clipping_by_norm_keeps_direction_and_sets_norm_to_c(c):
    """'Every threshold here is below ||g||, so clipping by norm leaves the cosine at 1 and the norm at
    exactly c.'"""
    cmp = _clip(c)
    assert c < cmp.norm
    assert cmp.cos_norm == pytest.approx(1.0, abs=1e-9)
    assert cmp.norm_clipped_norm == pytest.approx(c, rel=1e-5)


@pytest.mark.parametrize("c", [0.1, 1.0, 10.0, 100.0])
def test_clipping_by_value_bounds_entries_not_the_norm(c):
    """'Its norm is not bounded by c but by c sqrt(n) for n entries.'"""
    cmp = _clip(c)
    assert c < cmp.value_clipped_norm <= c * math.sqrt(cmp.size)


def test_clipping_by_value_at_one_turns_the_gradient():
    """'Clipping by value at c = 1 leaves a vector whose norm is {norm_value_1:.1f} (not 1) and whose
    direction is {angle_value_1:.0f} degrees away from the gradient's (cosine {cos_value_1:.2f}).'"""
    cmp = _clip(1.0)
    assert cmp.value_clipped_norm > 10
    assert cmp.cos_value < 0.8


def test_even_a_large_value_threshold_turns_it():
    """'Even at c = 100, which clamps only {clamped_100} of the {n_params} entries, the cosine is
    {cos_value_100:.2f}.'"""
    cmp = _clip(100.0)
    assert cmp.clamped < 0.1
    assert cmp.cos_value < 0.97


def test_small_value_threshold_is_the_sign():
    """'When almost every entry is clamped, as at c = 0.1, the clipped gradient is c times the sign of
    the gradient.'"""
    assert _clip(0.1).clamped > 0.99


def test_per_tensor_norm_clipping_turns_the_gradient_global_does_not():
    """'torch.nn.utils.clip_grad_norm_ clips the norm of all the gradients together ... In Keras the
    same global clip is the optimizer's global_clipnorm; its clipnorm clips each weight tensor's
    gradient by that tensor's own norm, which shrinks the tensors by different factors and so changes
    the direction of the whole' (Keras's docstring: 'the gradient of each weight is individually
    clipped'). Both on the exploding RNN's gradient, at c = 1."""
    seqs = _seqs()
    rnn = gw.build_rnn(spectral_radius=3.0)
    loss = torch.nn.functional.mse_loss(rnn(seqs.X), seqs.y)
    grads = [g.double() for g in torch.autograd.grad(loss, list(rnn.parameters()))]
    g = torch.cat([t.reshape(-1) for t in grads])
    per_tensor = torch.cat([(t * min(1.0, 1.0 / float(t.norm()))).reshape(-1) for t in grads])
    params = [p.detach().clone().double().requires_grad_() for p in rnn.parameters()]
    for p, t in zip(params, grads, strict=True):
        p.grad = t.clone()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    torch_clipped = torch.cat([p.grad.reshape(-1) for p in params])
    cos = lambda a, b: float(a @ b / (a.norm() * b.norm()))  # noqa: E731
    assert cos(torch_clipped, g) == pytest.approx(1.0, abs=1e-12)
    assert float(torch_clipped.norm()) == pytest.approx(1.0, rel=1e-6)
    assert cos(per_tensor, g) < 0.99 and float(per_tensor.norm()) > 1.5


# ---- the clipping explorer


@functools.cache
def _clip_explorer():
    return clipping(modes=("none", "norm", "value"), thresholds=(0.1, 1.0), radii=(1.5, 3.0), radius=3.0)


@functools.cache
def _clip_run(mode, threshold, radius):
    ex = _clip_explorer()
    return ex.run(ex.config(mode=mode, threshold=threshold, radius=radius))


def _final(result):
    return float(np.asarray(result.data["loss"]["loss"])[-1])


def test_clipping_explorer_grid_is_small():
    """The chapter's clipping explorer bakes at most ~18 configurations."""
    assert _clip_explorer().grid_size <= 18


@pytest.mark.slow
def test_every_radius_15_run_beats_the_average_and_value_01_is_best():
    """'at radius 1.5 the lowest loss of all comes from clipping by {r15_best}' and 'At radius 1.5,
    every setting ends below it [0.167].'"""
    assert "value at c = 0.1" == "value at c = " + f"{0.1:g}"
    finals = {cfg: _final(_clip_run(*cfg)) for cfg in _grid()}
    assert min(finals, key=lambda k: finals[k] if np.isfinite(finals[k]) else np.inf) == ("value", 0.1, 1.5)
    assert all(v < MEAN_BASELINE for (mode, c, r), v in finals.items() if r == 1.5)


def _grid():
    return [(m, c, r) for m in ("none", "norm", "value") for c in (0.1, 1.0) for r in (1.5, 3.0)]


@pytest.mark.slow
def test_clipping_keeps_radius_3_finite_but_does_not_make_it_learn():
    """'A network that ignores its input and always predicts the average target, 1, has a loss of
    Var(a + b) = 2/12 ~ 0.167 for two uniform numbers a, b (on this batch of 128 sequences,
    {const_loss}) ... Clipping makes every run finite, but it does not make the exploding network
    learn. At radius 3, clipping by norm keeps each step at most 0.05 x c long and the loss stays far
    above 0.167 (final losses {r3_norm_01} and {r3_norm_1} at c = 0.1 and 1); clipping by value
    comes down to about that level and no lower ({r3_value_01} and {r3_value_1}).'"""
    y = _seqs().y
    assert float(y.var(unbiased=False)) == pytest.approx(MEAN_BASELINE, abs=0.015)
    assert float(((y - 1) ** 2).mean()) == pytest.approx(MEAN_BASELINE, abs=0.015)
    assert _clip_run("none", 1.0, 3.0).status.startswith("Diverged")
    for c in (0.1, 1.0):
        assert not _clip_run("norm", c, 3.0).problem and not _clip_run("value", c, 3.0).problem
        assert _final(_clip_run("norm", c, 3.0)) > 0.5
        assert 0.15 < _final(_clip_run("value", c, 3.0)) < 0.3
        losses = np.asarray(_clip_run("value", c, 3.0).data["loss"]["loss"])
        assert losses.min() > 0.8 * MEAN_BASELINE  # about that level, and no lower


@pytest.mark.slow
def test_explorer_norm_after_clipping():
    """'Radius 3, clipping by norm at 1: ... the orange dashed line (the norm after clipping) sits at 1;
    clipping by value at the same threshold: the norm after clipping starts at more than 30 times the
    threshold and stays above it for most of the run.'"""
    by_norm = _clip_run("norm", 1.0, 3.0).data["norms"]
    assert np.all(by_norm["norm_after"] <= 1 + 1e-5) and np.median(by_norm["norm_after"]) > 0.99
    by_value = _clip_run("value", 1.0, 3.0).data["norms"]
    assert by_value["norm_after"][0] > 30
    assert np.mean(by_value["norm_after"] > 1) > 0.5


@pytest.mark.slow
def test_threshold_exercise():
    """'At radius 1.5 all three runs end below 0.167 ...: the gradient is moderate (norm about
    {r15_norm0} at the start) ... Clipping by norm at 1 ... reaches the lowest loss of the three; at 0.1
    the steps are so short that training is slower than without clipping ... clipping by value ends
    at {r3_value_1}, near it.' (thresholds 0.1 and 1, 120 steps)"""
    start = float(_clip_run("none", 1.0, 1.5).data["norms"]["norm_before"][0])
    assert 12 < start < 25
    none, n01, n1 = (_final(_clip_run(m, c, 1.5)) for m, c in (("none", 1.0), ("norm", 0.1), ("norm", 1.0)))
    assert max(none, n01, n1) < MEAN_BASELINE
    assert n1 < none < n01
    assert _rnn_profile(1.5).loss > 0 and 10 < _clip(1.0).norm  # sanity: the chapter's networks
    seqs = _seqs()
    rnn15 = clip_comparison(gw.build_rnn(spectral_radius=1.5), seqs.X, seqs.y, 1.0)
    assert 10 < rnn15.norm < 30  # 'norm about 17 at the start'


# ---- weight decay and L2


def _relu_net():
    return gw.build_mlp(4, width=64, activation="relu", init="kaiming_normal", out_features=2)


def _flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def test_sgd_weight_decay_equals_l2_in_the_loss():
    """'Trained both ways from the same initial weights, a 4-layer ReLU network ends up with the same
    weights, up to float rounding.'"""
    data = _spirals()
    decayed, penalized = _relu_net(), _relu_net()
    gw.train(decayed, data.X, data.y, 150, 0.5, weight_decay=0.01, loss="cross_entropy")
    gw.train(penalized, data.X, data.y, 150, 0.5, loss=l2_loss(penalized, 0.01, "cross_entropy"))
    assert (_flat(decayed) - _flat(penalized)).abs().max() < 1e-5


def test_adam_weight_decay_is_the_l2_term():
    """'PyTorch's Adam(weight_decay=lambda) adds lambda theta to the gradient.'"""
    data = _spirals()
    a, b = _relu_net(), _relu_net()
    gw.train(a, data.X, data.y, 1, 0.01, optimizer="adam", weight_decay=0.1, loss="cross_entropy")
    gw.train(b, data.X, data.y, 1, 0.01, optimizer="adam", loss=l2_loss(b, 0.1, "cross_entropy"))
    torch.testing.assert_close(_flat(a), _flat(b), atol=1e-6, rtol=1e-6)


@functools.cache
def _adam_runs():
    data, out = _spirals(), {}
    for optimizer in ("adam", "adamw"):
        for lam in (0.1, 1.0):
            model = _relu_net()
            history = gw.train(
                model, data.X, data.y, 150, 0.01, optimizer=optimizer, weight_decay=lam, loss="cross_entropy"
            )
            out[optimizer, lam] = (_flat(model), history.final_loss, parameter_norm(model))
    return out


@pytest.mark.slow
def test_adam_and_adamw_give_different_networks():
    """'With the same lambda = 0.1, the weights after Adam with L2 and after AdamW differ by
    {adam_adamw_diff:.0%} of their norm.' (150 steps at lr 0.01)"""
    runs = _adam_runs()
    diff = runs["adam", 0.1][0] - runs["adamw", 0.1][0]
    assert diff.norm() / runs["adamw", 0.1][0].norm() > 0.5


@pytest.mark.slow
def test_adam_l2_strength_barely_matters():
    """'Adam with L2 has shrunk the parameters to a norm of {adam_norm_01:.2f} and learned nothing (a
    loss of ln 2), and with lambda = 1, ten times stronger, it ends at {adam_norm_1:.2f}, the same.'"""
    runs, start = _adam_runs(), parameter_norm(_relu_net())
    assert abs(runs["adam", 0.1][1] - LN2) < 0.01
    assert runs["adam", 0.1][2] < 0.25 * start
    assert runs["adam", 1.0][2] == pytest.approx(runs["adam", 0.1][2], rel=0.02)


@pytest.mark.slow
def test_adam_l2_parameters_jitter_at_a_few_learning_rates():
    """'The parameters end up jittering around zero, each a few times the learning rate in size.'"""
    theta = _adam_runs()["adam", 0.1][0]
    rms = float(theta.pow(2).mean().sqrt())
    assert 0.01 < rms < 0.1


@pytest.mark.slow
def test_adamw_strength_does_what_it_says():
    """'AdamW with lambda = 0.1 shrinks each step by a factor of 1 - 0.001, trains, and ends at
    {adamw_norm_01:.1f}; with lambda = 1 at {adamw_norm_1:.1f}: the strength of the decay does what
    it says.'"""
    runs = _adam_runs()
    assert runs["adamw", 0.1][1] < 0.01
    assert runs["adamw", 1.0][2] < 0.75 * runs["adamw", 0.1][2]


def test_pytorch_adamw_decay_is_multiplied_by_the_learning_rate():
    """'In PyTorch's AdamW that factor is 1 - lr lambda: the decay is decoupled from the gradient, but
    it is still multiplied by the learning rate ... PyTorch's lambda = 0.1 at lr = 0.01 is their
    lambda = 0.001 with a constant schedule.' (torch's AdamW on a zero gradient: Adam's step is 0, the
    decay alone remains)"""
    for lr in (0.01, 0.1):
        w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        opt = torch.optim.AdamW([w], lr=lr, weight_decay=0.1)
        w.grad = torch.zeros_like(w)
        opt.step()
        assert float(w.detach()[0]) == pytest.approx(1 - lr * 0.1, rel=1e-12)
    assert 0.01 * 0.1 == pytest.approx(0.001)


# ---- the weight-decay explorer


@functools.cache
def _decay_run(optimizer, lam):
    ex = weight_decay()
    return ex.run(ex.config(optimizer=optimizer, decay=lam)).data


def test_weight_decay_explorer_grid_is_small():
    """The chapter's weight-decay explorer bakes at most ~18 configurations."""
    assert weight_decay().grid_size <= 18


@pytest.mark.slow
def test_sgd_follows_the_decay_line_to_zero():
    """'With SGD (learning rate 0.5), lambda = 0.1 shrinks the parameters by a factor of 0.95 per step:
    the norm follows the dashed line down to almost zero ... and the network ends at a loss of ln 2.'"""
    data = _decay_run("sgd", 0.1)
    params, decay = data["params"]["value"], data["decay"]["value"]
    assert np.all(np.abs(params[:60] / decay[:60] - 1) < 0.05)
    assert params[-1] < 0.1
    assert abs(data["loss"]["value"][-1] - LN2) < 0.01


@pytest.mark.slow
def test_sgd_and_adamw_stay_near_or_above_the_line_adam_l2_falls_below():
    """'Compare SGD and AdamW, which follow or stay above that line, with Adam + L2, which does not' and
    'With AdamW (learning rate 0.01), the factor is 0.999 per step, the dashed line falls only slowly,
    and the norm stays above it ...; the network trains. With Adam + L2 the norm drops far below the
    dashed line within a few dozen steps.'"""
    assert 1 - 0.01 * 0.1 == pytest.approx(0.999) and 1 - 0.5 * 0.1 == pytest.approx(0.95)
    for optimizer in ("sgd", "adamw"):
        for lam in (0.0, 0.01, 0.1):
            data = _decay_run(optimizer, lam)
            assert np.all(data["params"]["value"] >= 0.98 * data["decay"]["value"])
    assert _decay_run("adamw", 0.1)["loss"]["value"][-1] < 0.01
    for lam in (0.01, 0.1):
        data = _decay_run("adam", lam)
        assert data["params"]["value"][30] < 0.6 * data["decay"]["value"][30]


# ---- myths


@functools.cache
def _decay_histories():
    seqs = _seqs()
    return {
        lam: gw.train(gw.build_rnn(spectral_radius=3.0), seqs.X, seqs.y, 120, 0.05, weight_decay=lam)
        for lam in (0.0, 0.01, 0.1, 1.0)
    }


@pytest.mark.slow
def test_weight_decay_does_not_stop_the_exploding_step():
    """'The first step is the same in every run ... Every run diverges, the last one at step
    {last_divergence}, even with lambda = 1.' (lambda = 0, 0.01, 0.1 and 1, 120 steps)"""
    runs = _decay_histories()
    first = runs[0.0]
    for h in runs.values():
        assert h.total_norm_before[0] == pytest.approx(first.total_norm_before[0], rel=1e-6)
        assert h.update_ratio[0, 0] == pytest.approx(first.update_ratio[0, 0], rel=0.05)
        assert h.diverged_at is not None


def test_decay_contribution_is_tiny_next_to_the_gradient():
    """'Its own contribution to that step, lr lambda theta, is tiny next to a gradient of norm 10^3.'"""
    model = gw.build_rnn(spectral_radius=3.0)
    assert 1.0 * parameter_norm(model) < 0.05 * _clip(1.0).norm


def test_steps_decay_needs():
    """'With a usual lambda = 0.01, decay alone would need about {steps_needed} steps to shrink the
    spectral radius from 3 to 1.'"""
    n = math.log(3.0) / -math.log(1 - 0.05 * 0.01)
    model = gw.build_rnn(spectral_radius=3.0)
    with torch.no_grad():
        model.cell.weight_hh.mul_((1 - 0.05 * 0.01) ** round(n))
    assert gw.spectral_radius(model.cell.weight_hh) == pytest.approx(1.0, abs=1e-3)
    assert 2000 < n < 2400


# ---- exercises


def test_sign_cosine_exercise():
    """'The two agree to two decimals: c = 0.1 clamps all but a handful of the entries.'"""
    seqs = _seqs()
    rnn = gw.build_rnn(spectral_radius=3.0)
    loss = torch.nn.functional.mse_loss(rnn(seqs.X), seqs.y)
    g = torch.cat([gi.reshape(-1) for gi in torch.autograd.grad(loss, list(rnn.parameters()))]).double()
    sign_cos = float(g.abs().sum() / (g.numel() ** 0.5 * g.norm()))
    assert sign_cos == pytest.approx(_clip(0.1).cos_value, abs=0.005)


def test_balanced_radius_exercise():
    """'The ratio crosses 1 between 1.3 and 1.4; to one decimal, the radius is 1.3.'"""
    assert _time_ratio(1.3) < 1 < _time_ratio(1.4)
    radii = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5)
    assert min(radii, key=lambda r: abs(math.log(_time_ratio(r)))) == 1.3
    assert _time_ratio(1.0) < 0.1  # 'a spectral radius of 1 does not make them equal'


def test_early_steps_dominate_the_recurrent_gradient():
    """'In an exploding network the backward signal at the early steps is thousands of times larger than
    at the late ones ..., so the early steps' terms make up most of the sum.'"""
    seqs = _seqs()
    cell = gw.build_rnn(spectral_radius=3.0)
    w = [cell.cell.weight_hh.detach().clone().requires_grad_() for _ in range(seqs.X.shape[1])]
    h = seqs.X.new_zeros(seqs.X.shape[0], 32)
    for t, w_t in enumerate(w):  # the same recurrence, with one copy of W_hh per time step
        h = torch.tanh(
            seqs.X[:, t] @ cell.cell.weight_ih.T + cell.cell.bias_ih + h @ w_t.T + cell.cell.bias_hh
        )
    loss = torch.nn.functional.mse_loss(cell.head(h), seqs.y)
    parts = torch.autograd.grad(loss, w)
    total = sum(parts)
    (reference,) = torch.autograd.grad(
        torch.nn.functional.mse_loss(cell(seqs.X), seqs.y), [cell.cell.weight_hh]
    )
    torch.testing.assert_close(total, reference, rtol=1e-4, atol=1e-3)
    norms = np.array([float(p.norm()) for p in parts])
    assert norms[:10].sum() > 0.5 * norms.sum()
