"""gradwidgets.lessons.precision: formats from torch.finfo, fp16 gradients, bf16 rounding."""

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.lessons.precision import bf16_update, float_format, fp16_gradients, half_ulp


def test_formats_are_the_ieee_limits():
    fp16, bf16, fp32 = (float_format(n) for n in ("float16", "bfloat16", "float32"))
    assert (fp16.max, fp16.smallest_normal, fp16.smallest_subnormal) == (65504.0, 2.0**-14, 2.0**-24)
    assert (fp16.significand_bits, bf16.significand_bits, fp32.significand_bits) == (11, 8, 24)
    assert bf16.eps == 2.0**-7 and bf16.smallest_normal == fp32.smallest_normal == 2.0**-126
    assert 3.38e38 < bf16.max < fp32.max < 3.41e38
    # the smallest subnormal is a float16 number, and half of it rounds to zero
    assert torch.tensor(2.0**-24, dtype=torch.float16).item() == 2.0**-24
    assert torch.tensor(2.0**-25, dtype=torch.float16).item() == 0.0
    assert "smallest normal" in repr(fp16)
    with pytest.raises(ValueError, match="name='float8'"):
        float_format("float8")


def _reference_zero_share(model, X, y):
    """Independently: the weight gradients of an fp16-autocast pass, exactly 0 where fp32's is not."""
    weights = [b.linear.weight for b in model.blocks]
    g32 = torch.autograd.grad(torch.nn.functional.cross_entropy(model(X), y), weights)
    with torch.autocast("cpu", dtype=torch.float16):
        out = model(X)
    g16 = torch.autograd.grad(torch.nn.functional.cross_entropy(out.float(), y), weights)
    return [float(((b == 0) & (a != 0)).double().mean()) for a, b in zip(g32, g16, strict=True)]


def test_fp16_gradients_counts_what_fp16_flushed(spirals):
    model = gw.build_mlp(6, width=16, activation="sigmoid", out_features=2)
    before = [p.detach().clone() for p in model.parameters()]
    grads = fp16_gradients(model, spirals.X, spirals.y, loss="cross_entropy")
    np.testing.assert_allclose(grads.zero, _reference_zero_share(model, spirals.X, spirals.y))
    assert grads.zero[0] > 0 and grads.zero[-1] == 0  # the vanishing end loses entries
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert grads.log2_abs.size == sum(b.linear.weight.numel() for b in model.blocks)
    assert "zero" in repr(grads)


def test_a_loss_scale_brings_them_back_and_too_large_a_scale_overflows(spirals):
    model = gw.build_mlp(6, width=16, activation="sigmoid", out_features=2)
    plain = fp16_gradients(model, spirals.X, spirals.y, loss="cross_entropy")
    scaled = fp16_gradients(model, spirals.X, spirals.y, scale=2.0**16, loss="cross_entropy")
    huge = fp16_gradients(model, spirals.X, spirals.y, scale=2.0**30, loss="cross_entropy")
    assert scaled.zero.max() < plain.zero.max() and scaled.overflow.max() == 0
    assert huge.overflow.max() > 0
    with pytest.raises(ValueError, match="scale"):
        fp16_gradients(model, spirals.X, spirals.y, scale=0.0)


@pytest.mark.parametrize("w", [0.3, 0.26, 0.49, 1.7, -3.0, 1e-3])
def test_an_update_below_half_a_unit_in_the_last_place_is_lost(w):
    wt = torch.tensor([w])
    half = float(half_ulp(wt.to(torch.bfloat16)))
    b = torch.tensor(w, dtype=torch.bfloat16)
    assert abs(w) * 2.0**-9 <= half * (1 + 1e-9) and half <= abs(w) * 2.0**-8 * (1 + 2.0**-7)
    assert bf16_update(wt, torch.tensor([0.99 * half])).lost == 1.0
    assert bf16_update(wt, torch.tensor([1.01 * half])).lost == 0.0
    # the same, with torch's own bfloat16 addition
    assert b + torch.tensor(0.99 * half, dtype=torch.bfloat16) == b


def test_bf16_update_counts_and_names_an_example():
    torch.manual_seed(0)
    w = torch.randn(1000)
    u = 1e-3 * torch.randn(1000)
    r = bf16_update(w, u)
    expected = (w.bfloat16() + u.bfloat16() == w.bfloat16()).double().mean().item()
    assert r.lost == pytest.approx(expected)
    assert abs(r.lost - r.below_half_ulp) < 0.01  # ties aside, the rule predicts it
    i, w_i, wb_i, u_i, s32, s16 = r.example
    assert s16 == wb_i and s32 == pytest.approx(w_i + u_i) and w_i == w[i].item() and u_i == u[i].item()
    assert "lost in bf16" in repr(r)
    with pytest.raises(ValueError, match="same shape"):
        bf16_update(w, u[:3])
    with pytest.raises(ValueError, match="u must have a nonzero"):
        bf16_update(w, torch.zeros(1000))
