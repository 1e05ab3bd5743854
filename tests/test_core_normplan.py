"""A watch's planned norms (core/normplan.py) equal tensor_norms whatever the tensors hold."""

import math

import numpy as np
import pytest
import torch

from gradwidgets.core.normplan import NormPlan
from gradwidgets.core.norms import tensor_norms


def _tensors(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(64, 64, generator=g),
        torch.randn(64, generator=g),  # a bias
        torch.randn(128, 128, generator=g) * 1e-3,  # above the size taken whole: chunk partials
        torch.randn(8, 4, 3, 3, generator=g),
        torch.full((5,), 1e-25),  # a norm float32 loses: taken again in float64
        torch.randn(3, 3, generator=g).T,  # not contiguous
        torch.randn(2, 2, generator=g),  # a "rest" tensor that is not 1-D
    ]


def _expected(ts, own):
    each = tensor_norms([t for t in ts if t is not None])
    full = np.zeros(len(ts))
    full[[i for i, t in enumerate(ts) if t is not None]] = each
    return full[own], math.sqrt(float(np.sum(full**2)))


@pytest.mark.parametrize("own", [[0, 2, 3, 5], [0, 2, 2, 3], [4, 0], [], list(range(7))])
def test_planned_norms_equal_tensor_norms(own):
    ts = _tensors()
    plan = NormPlan(ts, own)
    got, total = plan(ts)
    want, want_total = _expected(ts, own)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # a repeated position (a weight shared by two layers) counts once in the total
    np.testing.assert_allclose(total, want_total, rtol=1e-6)


@pytest.mark.parametrize("own", [[0, 1, 2, 3, 4, 5], [5, 0, 0, 3, 1], [1, 4]])
def test_tensors_of_one_shape_are_stacked_and_equal_tensor_norms(own):
    g = torch.Generator().manual_seed(3)
    ts = [
        torch.randn(16, 8, generator=g),
        torch.randn(8, 16, generator=g).T,  # the same shape, not contiguous
        torch.full((16, 8), 1e-25),  # a norm float32 loses, inside a stack
        torch.randn(16, 8, generator=g).double(),  # the same shape, another dtype
        torch.randn(16, 8, generator=g) * 1e3,
        torch.randn(4, generator=g),
        torch.randn(4, generator=g),  # a rest tensor of the own one's shape
    ]
    ts[4][3, 2] = math.inf
    plan = NormPlan(ts, own)
    assert plan._stacks  # the case this checks
    got, total = plan(ts)
    want, want_total = _expected(ts, own)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(total, want_total, rtol=1e-6)
    ts[0] = ts[0].clone()
    ts[0][0, 0] = math.nan  # NaN in one row of a stack: that norm and the total
    got, total = plan(ts)
    assert [math.isnan(v) for v in got] == [i == 0 for i in own] and math.isnan(total)


def test_missing_tensors_count_as_zero():
    ts = _tensors()
    plan = NormPlan(ts, [0, 2, 3])
    ts[2], ts[1] = None, None
    got, total = plan(ts)
    want, want_total = _expected(ts, [0, 2, 3])
    assert got[1] == 0.0
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(total, want_total, rtol=1e-6)


def test_nan_and_inf_come_through():
    ts = _tensors()
    plan = NormPlan(ts, [0, 3])
    ts[0] = ts[0].clone()
    ts[0][0, 0] = math.inf
    ts[1] = ts[1].clone()
    ts[1][0] = math.nan  # only in the rest: the total is NaN
    got, total = plan(ts)
    assert got[0] == math.inf and math.isfinite(got[1]) and math.isnan(total)


def test_float32_overflow_is_taken_again():
    ts = [torch.full((4,), 1e20), torch.full((3,), 1e20)]
    got, total = NormPlan(ts, [0])(ts)
    np.testing.assert_allclose(got, [2e20], rtol=1e-6)
    np.testing.assert_allclose(total, math.sqrt(7) * 1e20, rtol=1e-6)


def test_a_wrong_number_of_tensors_is_refused():
    with pytest.raises(ValueError, match="tensors: expected 2, got 1"):
        NormPlan([torch.ones(2), torch.ones(3)], [0])([torch.ones(2)])
