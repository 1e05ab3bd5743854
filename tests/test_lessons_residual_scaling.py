"""gradwidgets.lessons.residual_scaling: a residual stack without normalization, three branch inits."""

import math

import numpy as np
import pytest
import torch

from gradwidgets.lessons.residual_scaling import build_residual_stack, residual_scales


def test_a_residual_stack_grows_like_the_formula():
    """rms grows like (1 + s^2)^(N/2): 2^(N/2) unscaled, about sqrt(e) for s^2 = 1/N, 1 for s = 0."""
    for depth in (4, 16):
        assert residual_scales(depth, "none").forward_growth == pytest.approx(2 ** (depth / 2), rel=0.2)
    for depth in (16, 64, 256):
        r = residual_scales(depth, "gpt2")
        assert r.forward_growth == pytest.approx((1 + 1 / depth) ** (depth / 2), rel=0.1)
        assert r.backward_growth == pytest.approx((1 + 1 / depth) ** (depth / 2), rel=0.1)
        assert residual_scales(depth, "zero").forward_growth == 1.0
        assert residual_scales(depth, "zero").backward_growth == 1.0


def test_the_measurement_matches_an_independent_autograd_computation():
    model = build_residual_stack(8, "none", width=16, seed=3).double()
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(256, 16, generator=gen, dtype=torch.float64, requires_grad=True)
    v = torch.randn(256, 16, generator=gen, dtype=torch.float64)
    (gx,) = torch.autograd.grad((model(x) * v).sum(), x)
    r = residual_scales(8, "none", width=16, seed=3)
    with torch.no_grad():
        out, x0 = model(x), x.detach()
    assert r.forward_growth == pytest.approx(float(out.pow(2).mean().sqrt() / x0.pow(2).mean().sqrt()))
    assert r.backward_growth == pytest.approx(float(gx.pow(2).mean().sqrt() / v.pow(2).mean().sqrt()))
    assert len(r.rms) == len(r.grad_rms) == 8 and "8 blocks" in repr(r)


def test_a_zero_last_layer_still_learns():
    """The chapter: W2 = 0 gets a nonzero gradient at once; W1 none at the first step."""
    model = build_residual_stack(3, "zero", width=8, seed=0)
    x = torch.randn(32, 8)
    model(x).pow(2).sum().backward()
    assert all(float(w.weight.grad.norm()) > 0 for w in model.w2)
    assert all(float(w.weight.grad.norm()) == 0 for w in model.w1)


def test_gpt2_scaling_divides_w2_by_sqrt_depth():
    a, b = build_residual_stack(16, "none", seed=1), build_residual_stack(16, "gpt2", seed=1)
    np.testing.assert_allclose(b.w2[3].weight.detach(), a.w2[3].weight.detach() / math.sqrt(16), rtol=1e-6)
    assert torch.equal(a.w1[3].weight, b.w1[3].weight)


@pytest.mark.parametrize(
    ("kwargs", "arg"), [({"scaling": "fixup"}, "scaling"), ({"depth": 0}, "depth"), ({"n": 0}, "n")]
)
def test_bad_arguments_name_themselves(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        residual_scales(**{"depth": 4, **kwargs})
