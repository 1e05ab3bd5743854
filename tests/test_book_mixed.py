"""The claims of book/mixed-precision.md, each recomputed with the chapter's own settings."""

import functools
import math

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.explorers import fp16_range, loss_scaling
from gradwidgets.explorers.precision import scaled_run
from gradwidgets.lessons import bf16_update, float_format, fp16_gradients, half_ulp, train_mixed

LN2 = math.log(2)


@functools.cache
def _spirals():
    return gw.make_dataset("spirals", 256)


def _net():
    return gw.build_mlp(8, width=32, activation="sigmoid", out_features=2)


@functools.cache
def _grads():
    return fp16_gradients(_net(), _spirals().X, _spirals().y, loss="cross_entropy")


# ---- three formats


def test_the_formats_of_the_table():
    """'its largest number is [65504], its smallest normal one 2^-14 ~ [6.10e-05], and its smallest
    subnormal one 2^-24 ~ [5.96e-08] ... bfloat16 ... largest [3.39e+38], smallest normal [1.18e-38],
    spacing next to 1 2^-7 = [0.0078].'"""
    fp16, bf16 = float_format("float16"), float_format("bfloat16")
    assert (fp16.max, fp16.smallest_normal, fp16.smallest_subnormal) == (65504.0, 2.0**-14, 2.0**-24)
    assert (
        bf16.eps == 2.0**-7
        and f"{bf16.max:.2e}" == "3.39e+38"
        and f"{bf16.smallest_normal:.2e}" == "1.18e-38"
    )
    assert torch.finfo(torch.bfloat16).bits == 16 and bf16.significand_bits == 8  # 7 stored


# ---- a real network's gradients in float16


def test_fp16_flushes_the_early_layers_and_leaves_the_last():
    """'the first layer's weight gradient is [97%] zeros, the second's [53%], and most of the third is
    subnormal ([84%]) ... The last layers are untouched.'"""
    g = _grads()
    assert g.zero[0] > 0.9 and g.zero[1] > 0.3
    assert g.subnormal[2] > 0.5
    assert np.all(g.zero[-3:] == 0) and g.subnormal[-1] == 0 and np.all(g.overflow == 0)
    assert np.all(np.diff(g.zero) <= 0)  # growing towards the input


def test_the_backward_pass_loses_more_than_a_cast():
    """'Casting the float32 gradient of the first layer to float16 would set only [38%] of its
    entries to 0. The float16 backward pass loses far more.'"""
    g = _grads()
    assert g.cast_zero[0] < 0.5 * g.zero[0]


def test_a_share_of_entries_is_below_the_normal_range():
    """'Over all the layers, [x%] of the float32 gradient entries lie below float16's smallest normal.'"""
    below = np.mean(_grads().log2_abs < -14)
    assert 0.2 < below < 0.8


# ---- loss scaling


def _runs():
    return {
        "fp32": scaled_run("float32", 1.0),
        "none": scaled_run("none", 1.0),
        "static": scaled_run("static", 2.0**16),
        "dynamic": scaled_run("dynamic", 2.0**24),
    }


def test_without_scaling_the_first_layers_get_nothing():
    """'Without scaling, the first layer moves by [0.11] of its norm in 100 steps, against [0.85] in
    float32, and at the end the first [5] layers get a gradient that is entirely zero.'"""
    runs = _runs()
    assert runs["none"].first_layer_change < 0.2 * runs["fp32"].first_layer_change
    assert np.sum(runs["none"].zero_share[-1] == 1.0) >= 3
    assert runs["fp32"].zero_share.max() == 0


def test_the_loss_does_not_show_it():
    """'all four runs end at about ln 2.'"""
    for run in _runs().values():
        assert abs(run.loss[-1] - LN2) < 0.02


def test_scaling_gives_the_early_layers_their_gradient_back():
    """'With a static scale of 2^16 the first layer moves by [0.85], with the GradScaler by [0.81].'"""
    runs = _runs()
    for name in ("static", "dynamic"):
        assert runs[name].first_layer_change == pytest.approx(runs["fp32"].first_layer_change, rel=0.1)
        assert runs[name].zero_share[-1, 0] == 0


def test_adam_moves_every_weight_by_about_the_learning_rate():
    """'Adam moves every weight by about the learning rate per step whatever the size of its gradient.'"""
    model = _net()
    before = model.blocks[0].linear.weight.detach().clone()
    train_mixed(model, _spirals().X, _spirals().y, 1, 0.01, "float32", "none", loss="cross_entropy")
    step = (model.blocks[0].linear.weight.detach() - before).abs()
    assert float(step.median()) == pytest.approx(0.01, rel=0.25)  # eps 1e-8 is near |g| here


def test_the_gradscaler_skips_down_then_doubles_every_20_steps():
    """'It skipped the first [7] steps, halving the scale each time, and went on from [2^17], doubling
    it again every 20 steps without an overflow and halving it after each one.'"""
    run = _runs()["dynamic"]
    k = len(run.skipped) and next(i for i in range(len(run.scale)) if i not in run.skipped)
    assert k > 0 and run.skipped[:k] == tuple(range(k))
    np.testing.assert_array_equal(run.scale[: k + 1], 2.0**24 / 2.0 ** np.arange(k + 1))
    good = 0
    for i in range(len(run.scale) - 1):
        ratio = run.scale[i + 1] / run.scale[i]
        if i in run.skipped:
            assert ratio == 0.5
            good = 0
        else:
            good += 1
            assert ratio == (2.0 if good == 20 else 1.0)
            good = 0 if good == 20 else good


# ---- reading the gradients under a scaler


def test_the_watch_records_unscaled_norms_and_skipped_steps():
    """'The watch recorded the [n] skipped steps as skipped, and no divergence ... a norm of [x] for the
    last layer, and the float32 gradient of the same network ... has [x].'"""
    model = _net()
    data = _spirals()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**24, growth_interval=20)
    scales = []
    with gw.watch(model, scaler=scaler, live=False) as w:
        for _ in range(30):
            optimizer.zero_grad()
            with torch.autocast("cpu", dtype=torch.float16):
                loss = torch.nn.functional.cross_entropy(model(data.X).float(), data.y)
            scaler.scale(loss).backward()
            w.log_loss(loss)
            scales.append(scaler.get_scale())
            scaler.step(optimizer)
            scaler.update()
            scales[-1] = (scales[-1], scaler.get_scale())
    history = w.history()
    assert history.diverged_at is None and history.skipped
    assert history.skipped == tuple(i for i, (a, b) in enumerate(scales) if b < a)
    first_kept = len(history.skipped)
    reference = gw.gradient_profile(_net(), data.X, data.y, loss="cross_entropy")
    assert history.layer_grad_norm[first_kept, -1] == pytest.approx(reference.weight_grad_norm[-1], rel=0.01)


# ---- bfloat16


@functools.cache
def _rounded():
    net = _net()
    loss = torch.nn.functional.cross_entropy(net(_spirals().X), _spirals().y)
    (g,) = torch.autograd.grad(loss, [net.blocks[6].linear.weight])
    return bf16_update(net.blocks[6].linear.weight, -0.1 * g)


def test_the_seventh_layers_updates_are_lost_as_the_rule_says():
    """'[60%] of this layer's updates are lost in bfloat16, and the half-spacing rule predicts [60%].
    For example, a weight of [w] with an update of [u], [0.36%] of its size ... stays [w].'"""
    r = _rounded()
    assert 0.3 < r.lost < 0.9 and abs(r.lost - r.below_half_ulp) < 0.01
    _, _, wb, u, s32, s16 = r.example
    assert s16 == wb and s32 != wb
    assert 2.0**-9 * 0.5 < abs(u / wb) < 2.0**-8  # 'between about 0.2% and 0.4%'


def test_the_bound_lies_between_the_two_powers():
    """'|u| < 2^(e-8), that is, between |w| 2^-9 and |w| 2^-8.'"""
    w = torch.linspace(0.01, 10, 5000).bfloat16()
    ratio = (half_ulp(w) / w.double().abs()).numpy()
    assert ratio.min() > 2.0**-9 * (1 - 1e-9) and ratio.max() <= 2.0**-8


# ---- explorers


def test_fp16_range_explorer_claims():
    """'sigmoid, depth 8: move S from 1 to 2^16 ... the share flushed to 0 fall to nothing; at S = 2^24 ...
    the last layers overflow; tanh and ReLU at depth 4: which of them needs a scale at all?'"""
    ex = fp16_range()
    assert ex.grid_size <= 24
    at = lambda **c: ex.run(ex.config(**c)).data["layers"]  # noqa: E731
    assert at(activation="sigmoid", depth=8, scale=1.0)["zero"][0] > 0.9
    assert at(activation="sigmoid", depth=8, scale=2.0**16)["zero"].max() == 0
    assert at(activation="sigmoid", depth=8, scale=2.0**24)["overflow"][-1] > 0
    tanh, relu = (at(activation=a, depth=8, scale=1.0) for a in ("tanh", "relu"))
    assert tanh["zero"].max() == 0 and tanh["subnormal"].max() < 0.15  # 'only a few percent'
    assert np.median(relu["subnormal"]) > 0.3  # ReLU needs a scale too


def test_predict_exercise():
    """'[sigmoid's] first layer is almost entirely flushed to zero ... tanh: float16 flushes nothing, and
    only a few percent of the entries are subnormal. ReLU ...: under 1% is flushed, but in most layers
    about half of the entries are subnormal.'"""
    data, r = _spirals(), {}
    for a in ("sigmoid", "tanh", "relu"):
        r[a] = fp16_gradients(gw.build_mlp(8, width=32, activation=a, out_features=2), data.X, data.y,
                              loss="cross_entropy")  # fmt: skip
    assert r["sigmoid"].zero[0] > 0.9
    assert r["tanh"].zero.max() == 0 and r["tanh"].subnormal.max() < 0.15
    assert 0 < r["relu"].zero.max() < 0.01 and 0.3 < np.median(r["relu"].subnormal) < 0.7


def test_loss_scaling_explorer_claims():
    """'Without scaling, that share climbs to 100%; a static scale of 2^24 overflows at the first step ...
    the GradScaler from 2^24 skips its way down to a scale that fits and trains.'"""
    ex = loss_scaling()
    assert ex.grid_size <= 9
    run = lambda **c: ex.run(ex.config(**c))  # noqa: E731
    assert run(scaling="none").data["zeros"]["value"][-1] == 1.0
    static = run(scaling="static", scale=2.0**24)
    assert static.problem and static.status.startswith("Diverged at step 0")
    dynamic = run(scaling="dynamic", scale=2.0**24)
    assert not dynamic.problem and dynamic.data["skipped"]["x"].size > 0


# ---- myths


def test_loss_scaling_is_not_a_larger_learning_rate():
    """'the first layer of the scaled float16 run differs from the float32 run's by [x%] of the distance
    float32 moved it: ... not a step 2^16 times larger, which would have thrown the weights far away.'"""
    data, out = _spirals(), {}
    for name, kw in {"fp32": dict(precision="float32", scaling="none"),
                     "fp16": dict(precision="float16", scaling="static", scale=2.0**16)}.items():  # fmt: skip
        m = _net()
        train_mixed(m, data.X, data.y, 100, 0.1, loss="cross_entropy", optimizer="sgd", **kw)
        out[name] = next(m.parameters()).detach()
    start = next(_net().parameters()).detach()
    gap = (out["fp32"] - out["fp16"]).norm() / (out["fp32"] - start).norm()
    assert gap < 0.05
    m = _net()  # the counterfactual: one SGD step on the gradient times 2^16
    train_mixed(m, data.X, data.y, 1, 0.1 * 2.0**16, "float32", "none", loss="cross_entropy", optimizer="sgd")
    last = m.head.weight.detach()
    assert (last - _net().head.weight).norm() > 100 * _net().head.weight.norm()


def test_bf16_weights_lose_the_updates_master_weights_keep_them():
    """'With float32 weights, bfloat16 autocast ends at a loss of [0.989], as float32 does ([0.988]).
    With bfloat16 weights it ends at [1.243] ... the first layer moved by [0.007] instead of [0.032].'"""
    data, runs = _spirals(), {}
    for precision in ("float32", "bfloat16", "bfloat16-weights"):
        runs[precision] = train_mixed(
            _net(), data.X, data.y, 100, 1e-4, precision, "none", loss="cross_entropy"
        )
    assert abs(runs["bfloat16"].loss[-1] - runs["float32"].loss[-1]) < 0.01
    assert runs["bfloat16-weights"].loss[-1] > runs["float32"].loss[-1] + 0.1
    assert runs["bfloat16-weights"].first_layer_change < 0.5 * runs["float32"].first_layer_change


def test_an_adam_step_of_1e4_is_lost_from_2_to_the_minus_5():
    """'moves each weight by about 10^-4 per step, less than half the spacing of bfloat16 numbers at any
    weight of size 2^-5 ~ 0.031 or more.'"""
    assert float(half_ulp(torch.tensor([2.0**-5]).bfloat16())) > 1e-4
    assert float(half_ulp(torch.tensor([0.99 * 2.0**-5]).bfloat16())) < 1e-4


# ---- exercises


def test_remedy_exercise():
    """'With the static scale ... the run is over. The GradScaler skips that step ... from there the first
    layer moves about as far as in float32.'"""
    data = _spirals()
    static = train_mixed(
        _net(), data.X, data.y, 100, 0.01, "float16", "static", 2.0**24, loss="cross_entropy"
    )
    dynamic = train_mixed(
        _net(), data.X, data.y, 100, 0.01, "float16", "dynamic", 2.0**24, loss="cross_entropy"
    )
    assert static.diverged_at == 0
    assert dynamic.diverged_at is None and dynamic.skipped
    assert dynamic.first_layer_change == pytest.approx(scaled_run("float32", 1.0).first_layer_change, rel=0.1)


def test_ulp_exercise():
    """'0.3 lies in [2^-2, 2^-1) ... half of it 2^-10 ~ 0.00098. An update below that is lost.'"""
    w = torch.tensor([0.3])
    assert float(half_ulp(w.bfloat16())) == 2.0**-10
    assert bf16_update(w, torch.tensor([0.9e-3])).lost == 1.0
    assert bf16_update(w, torch.tensor([1.1e-3])).lost == 0.0
