"""gradwidgets.lessons.attention: softmax saturation with and without the 1/sqrt(d_k) scale."""

import math

import pytest
import torch

from gradwidgets.lessons.attention import softmax_saturation


def test_scaled_logits_keep_unit_spread_and_unscaled_grow_like_sqrt_dk():
    for d_k in (4, 64, 1024):
        assert softmax_saturation(d_k, True).logit_std == pytest.approx(1.0, abs=0.15)
        assert softmax_saturation(d_k, False).logit_std == pytest.approx(math.sqrt(d_k), rel=0.15)


def test_the_measurement_matches_the_softmax_jacobian_formula():
    """An independent reference: dL/ds_j = p_j (u_j - sum_i p_i u_i), the Jacobian p_i(delta_ij - p_j)."""
    r = softmax_saturation(16, False, queries=64, keys=8, seed=2)
    gen = torch.Generator().manual_seed(2)
    q = torch.randn(64, 16, generator=gen, dtype=torch.float64)
    k = torch.randn(8, 16, generator=gen, dtype=torch.float64)
    u = torch.randn(64, 8, generator=gen, dtype=torch.float64)
    p = torch.softmax(q @ k.T, -1)
    grad = p * (u - (p * u).sum(-1, keepdim=True))
    assert r.grad_logits == pytest.approx(float(grad.norm(dim=-1).median()), rel=1e-9)
    assert r.max_prob == pytest.approx(float(p.max(-1).values.mean()))
    assert r.entropy == pytest.approx(float(-(p * p.log()).sum(-1).mean()))


def test_a_uniform_softmax_is_not_saturated():
    r = softmax_saturation(1, True, keys=4)
    assert r.entropy <= math.log(4) and r.saturated == 0.0 and "d_k=1" in repr(r)


@pytest.mark.parametrize(
    ("kwargs", "arg"), [({"d_k": 0}, "d_k"), ({"scaled": "yes"}, "scaled"), ({"keys": 1}, "keys")]
)
def test_bad_arguments_name_themselves(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        softmax_saturation(**{"d_k": 4, "scaled": True, **kwargs})
