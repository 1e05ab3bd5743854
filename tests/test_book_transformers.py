"""The claims of book/transformers.md, each recomputed with the chapter's own settings."""

import math

import numpy as np
import pytest
import torch

from gradwidgets.lessons import (
    build_transformer,
    copy_task,
    mean_ffn_grad_norms,
    residual_scales,
    reversal_task,
    softmax_saturation,
    warmup_run,
)

LN8 = math.log(8)
DEPTHS = (6, 12, 24)


def _grads(depth, pre):
    return mean_ffn_grad_norms(depth, pre, seeds=8)


# ---- where the layer norm sits


def test_pre_ln_stream_grows_like_sqrt_depth():
    """'In pre-LN ... after L blocks it is about sqrt(L) times larger, and the final layer norm
    divides by that.'"""
    X, _ = reversal_task()
    per_sqrt = []
    for L in DEPTHS:
        growth = []
        for seed in range(4):
            model = build_transformer(L, True, seed=seed)
            with torch.no_grad():
                h = model.embed(X) + model.pos[:8]
                h0 = h.pow(2).mean().sqrt()
                for layer in model.layers:
                    h = layer(h)
            growth.append(float(h.pow(2).mean().sqrt() / h0))
        per_sqrt.append(np.mean(growth) / math.sqrt(L))
    assert all(0.6 < v < 1.2 for v in per_sqrt) and max(per_sqrt) / min(per_sqrt) < 1.2


def test_post_ln_last_layer_gradient_is_larger_than_pre_ln_and_increasingly_with_depth():
    """'At the last layer, post-LN's gradient is [1.9] times pre-LN's with 6 layers and [4.7] times
    with 24.'"""
    ratios = [_grads(L, False)[-1] / _grads(L, True)[-1] for L in DEPTHS]
    assert ratios[0] > 1.5
    assert ratios[0] < ratios[1] < ratios[2] and ratios[2] > 4


def test_a_decoder_only_stack_keeps_the_comparison_at_the_output_end():
    """'post-LN's last layer gets [2.1] times pre-LN's gradient with 6 layers and [6.0] times with
    24, and pre-LN's shrinks with depth while post-LN's does not.' (causal mask, copy task of 8
    tokens followed by themselves, eight initializations per depth)"""
    X, y = copy_task()
    assert X.shape[1] == 15 and torch.equal(y[:, :-1], X[:, 1:]) and torch.equal(y[:, 7:], X[:, :8])
    post = [mean_ffn_grad_norms(L, False, seeds=8, causal=True)[-1] for L in DEPTHS]
    pre = [mean_ffn_grad_norms(L, True, seeds=8, causal=True)[-1] for L in DEPTHS]
    ratios = [a / b for a, b in zip(post, pre, strict=True)]
    assert ratios[0] > 1.5 and ratios[2] > 4 and ratios[0] < ratios[1] < ratios[2]
    assert pre[0] > pre[1] > pre[2]
    assert min(post[1:]) >= 0.9 * post[0]  # post-LN's does not shrink


def test_pre_ln_last_layer_shrinks_roughly_like_one_over_sqrt_depth():
    """'Pre-LN's shrinks with depth, from [0.177] to [0.111], roughly like 1/sqrt(L): while sqrt(L)
    doubles, the column "pre-LN last x sqrt(L)" only moves from [0.43] to [0.54].'"""
    last = [_grads(L, True)[-1] for L in DEPTHS]
    assert last[0] > last[1] > last[2]
    scaled = [v * math.sqrt(L) for v, L in zip(last, DEPTHS, strict=True)]
    assert max(scaled) / min(scaled) < 1.3  # sqrt(L) itself changes by 2


def test_post_ln_last_layer_does_not_shrink_with_depth():
    """'Post-LN's does not shrink: it stays between [0.33] and [0.52] at every depth.'"""
    last = [_grads(L, False)[-1] for L in DEPTHS]
    assert min(last) >= 0.9 * last[0] and 0.25 < min(last) and max(last) < 0.6


def test_profile_shapes_across_layers():
    """'In post-LN, the gradient grows toward the output at 24 layers ([1.6] times the first one's),
    ... at 6 and 12 layers it is roughly flat. ... pre-LN's ... decreases toward the output, the
    last layer getting [0.36] of the first one's.'"""
    post24 = _grads(24, False)
    assert post24[-1] / post24[0] > 1.4
    assert post24[-6:].mean() > post24[:6].mean()
    for L in (6, 12):
        assert 0.8 < _grads(L, False)[-1] / _grads(L, False)[0] < 1.25
    for L in DEPTHS:
        pre = _grads(L, True)
        assert pre[-1] / pre[0] < 0.6 and pre[-(L // 3) :].mean() < pre[: L // 3].mean()


# ---- warmup


def _runs(pre, warmup, lr=0.02):
    return [warmup_run(pre, warmup, lr, seed=s) for s in range(3)]


def test_post_ln_without_warmup_learns_nothing_and_warmup_or_pre_ln_train():
    """'Without warmup ... every seed ... at least [2.07], the ln 8 of guessing. With a 30-step
    warmup ... at most [0.18]; ... pre-LN ... at most [0.013].'"""
    cold, warm, pre = _runs(False, 0), _runs(False, 30), _runs(True, 0)
    assert min(h.final_loss for h in cold) > 0.95 * LN8
    assert max(h.final_loss for h in warm) < 0.3
    assert max(h.final_loss for h in pre) < 0.05
    assert all(h.diverged_at is None for h in cold + warm + pre)  # myth: 'no run diverged'


def test_the_first_full_rate_step_raises_the_loss_then_gradients_fade():
    """'The first full-rate step raises the post-LN network's loss, from [2.12] to [2.54]; ... by
    step 50 every layer's gradient norm is at most [0.008], while in the warmed-up run the
    smallest is [0.35].'"""
    cold, warm = _runs(False, 0)[0], _runs(False, 30)[0]
    assert cold.loss[1] > cold.loss[0] + 0.2
    assert warm.loss[1] < warm.loss[0]
    assert cold.layer_grad_norm[50, 1:-1].max() < 0.02
    assert warm.layer_grad_norm[50, 1:-1].min() > 10 * cold.layer_grad_norm[50, 1:-1].max()


def test_myth_the_stalled_run_did_not_start_with_an_exploding_gradient():
    """'At step 0, the post-LN network's total gradient norm is [1.2] times the pre-LN network's.'"""
    ratio = _runs(False, 0)[0].total_norm_before[0] / _runs(True, 0)[0].total_norm_before[0]
    assert 0.8 < ratio < 1.5


def test_explorer_hint_post_ln_at_a_lower_rate_stalls_partly():
    """Explore: 'Post-LN without warmup at 0.01: it does not stall completely.'"""
    h = warmup_run(False, 0, 0.01)
    assert 1.0 < h.final_loss < 0.95 * LN8
    assert warmup_run(False, 30, 0.01).final_loss < 0.1


def test_exercise_a_smaller_rate_trains_post_ln_without_warmup():
    """'It trains with every seed, to a final loss of at most [0.052].'"""
    assert max(h.final_loss for h in _runs(False, 0, 0.005)) < 0.1


# ---- residual scaling


@pytest.mark.parametrize("depth", [4, 16, 64])
def test_residual_growth_matches_the_formula(depth):
    """'Unscaled, 64 blocks multiply the signal by [1.9e9] and the gradient by [2.8e9], the order of
    magnitude the formula predicts ... GPT-2's scaling ... between [1.58] and [1.66] ... zero ... 1.'"""
    none, gpt2, zero = (residual_scales(depth, s) for s in ("none", "gpt2", "zero"))
    for growth in (none.forward_growth, none.backward_growth):
        assert abs(math.log10(growth / 2 ** (depth / 2))) < math.log10(3)
    for growth in (gpt2.forward_growth, gpt2.backward_growth):
        assert 1.5 < growth < 1.7 and growth < math.sqrt(math.e) * 1.05
    assert zero.forward_growth == zero.backward_growth == 1.0
    if depth == 64:
        assert none.forward_growth > 1e9 and none.backward_growth > 1e9


# ---- attention


def test_unscaled_softmax_saturates_and_starves_the_gradient():
    """'... to [32] at d_k = 1024, where [79%] of the queries put more than 0.99 of their weight on
    one key, and the median gradient ... fallen from [0.26] at d_k = 4 to [1.8e-6].'"""
    raw4, raw1024 = softmax_saturation(4, False), softmax_saturation(1024, False)
    assert 28 < raw1024.logit_std < 36 and raw1024.saturated > 0.7
    assert raw4.grad_logits > 0.2 and raw1024.grad_logits < 1e-4
    sat = [softmax_saturation(d, False).saturated for d in (4, 16, 64, 256, 1024)]
    assert sat == sorted(sat) and sat[0] == 0


def test_scaled_softmax_does_not_depend_on_dk():
    """'With the scale, nothing depends on d_k: the median gradient stays above [0.26].'"""
    scaled = [softmax_saturation(d, True) for d in (4, 16, 64, 256, 1024)]
    assert min(s.grad_logits for s in scaled) > 0.25 and max(s.grad_logits for s in scaled) < 0.3
    assert all(s.saturated == 0 and s.entropy > 2.2 for s in scaled)


def test_myth_unscaled_logits_overflow_nothing():
    """'Every number is finite ... their gradient is about a millionth of what it is with the scale.'"""
    raw, scaled = softmax_saturation(1024, False), softmax_saturation(1024, True)
    assert all(map(math.isfinite, (raw.max_prob, raw.entropy, raw.grad_logits)))
    assert 1e-7 < raw.grad_logits / scaled.grad_logits < 1e-4


def test_exercise_temperature_matches_the_unscaled_dk16_row():
    """'... a standard deviation of about 4, the spread of the unscaled logits at d_k = 16 ... a largest
    probability around 0.7 on average, and a median gradient a little smaller than with the scale.'"""
    raw16, scaled64 = softmax_saturation(16, False), softmax_saturation(64, True)
    assert 3.5 < raw16.logit_std < 4.5 and 3.5 < 4 * scaled64.logit_std < 4.5
    assert 0.65 < raw16.max_prob < 0.75
    assert 0.5 * scaled64.grad_logits < raw16.grad_logits < scaled64.grad_logits


# ---- exercise: predict pre-LN at 48 layers


def test_exercise_pre_ln_at_48_layers_follows_one_over_sqrt_depth():
    """'From the 12-layer value, 1/sqrt(L) predicts [0.064]; the measurement is [0.074], within 20%.
    Post-LN's last layer does get less than at 24 layers, but not less than at 6 or 12 ...
    [4.8] times pre-LN's at 48 layers.'"""
    pre48, post48 = _grads(48, True), _grads(48, False)
    predicted = _grads(12, True)[-1] * math.sqrt(12 / 48)
    assert abs(pre48[-1] / predicted - 1) < 0.2
    assert post48[-1] < _grads(24, False)[-1]
    assert post48[-1] >= min(_grads(6, False)[-1], _grads(12, False)[-1])
    assert post48[-1] / pre48[-1] > 4
    assert np.all(np.isfinite(post48))


def test_rezero_scalar_alone_gets_a_gradient_at_initialization():
    """'(ReZero's scalar is stricter: at initialization only the scalar itself has a gradient.)'"""
    torch.manual_seed(0)
    w1, w2 = torch.nn.Linear(8, 8), torch.nn.Linear(8, 8)
    alpha = torch.zeros((), requires_grad=True)
    h = torch.randn(16, 8)
    (h + alpha * w2(torch.relu(w1(h)))).pow(2).sum().backward()
    assert float(alpha.grad.abs()) > 0
    assert all(float(p.grad.abs().max()) == 0 for p in (*w1.parameters(), *w2.parameters()))
