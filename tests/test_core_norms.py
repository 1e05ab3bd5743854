"""One norms module: batched norms accurate to 1e-5 against float64 (float32 partials over chunks of a
large tensor, a float64 fallback for under- and overflow), used alike by profile, train and watch."""

from __future__ import annotations

import copy
import pathlib

import numpy as np
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.norms import group_norms, norms, single_norm, tensor_norms

RTOL = 1e-5


def _reference(t: torch.Tensor) -> float:
    """The independent reference: torch's norm in float64."""
    return float(torch.linalg.vector_norm(t.double()))


def _float32_error(t: torch.Tensor) -> float:
    """The relative error of torch's plain float32 norm (what the package reported before)."""
    return abs(float(torch.linalg.vector_norm(t.float())) - _reference(t)) / _reference(t)


def _one_magnitude(*shape: int, seed: int = 0) -> torch.Tensor:
    """Float32's worst case: every entry +-1e-3 up to a little noise, like Adam's first update."""
    g = torch.Generator().manual_seed(seed)
    n = int(np.prod(shape))
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1e-3, 1e-3)
    return (sign * (1 + 1e-6 * torch.rand(n, generator=g))).view(shape)


def _assert_accurate(tensors: list[torch.Tensor]) -> None:
    """Both ways in: the batched call (all the tensors at once) and a hook's single tensor."""
    batched = tensor_norms(tensors)
    for t, got in zip(tensors, batched, strict=True):
        ref = _reference(t)
        np.testing.assert_allclose([got, single_norm(t)], ref, rtol=RTOL, atol=0)


def test_float32_overflow_and_underflow_fall_back_to_float64():
    big, tiny = torch.full((4,), 1e19), torch.full((4,), 1e-25)
    assert not torch.isfinite(torch.linalg.vector_norm(big)) and torch.linalg.vector_norm(tiny) == 0
    np.testing.assert_allclose(tensor_norms([big, tiny, torch.zeros(3)]), [2e19, 2e-25, 0.0], rtol=1e-6)
    assert np.isinf(tensor_norms([torch.tensor([np.inf, 1.0])]))[0]
    assert tensor_norms([]).shape == (0,)


def test_groups_none_and_empty():
    a, b = torch.tensor([3.0]), torch.tensor([4.0])
    np.testing.assert_allclose(norms([[a, b], [None], [a]]), [5.0, 0.0, 3.0])
    out = group_norms(np.array([3.0, 4.0]), [2, 0], empty=np.nan)
    assert out[0] == 5.0 and np.isnan(out[1])


def test_profile_train_and_watch_agree_beyond_float32_range():
    """A gradient of norm ~1e20 with finite float32 entries: finite for all three, and the same."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        model[0].weight.fill_(1e-12)
    X, y = torch.full((8, 4), 1e19), torch.zeros(8, 1)

    def loss(out, _):
        return out.sum()

    expected = 8 * 1e19 * 2  # dL/dW = sum of X's rows: 4 entries of 8e19
    profile = gw.gradient_profile(model, X, y, loss=loss)
    history = gw.train(copy.deepcopy(model), X, y, steps=1, lr=1e-30, loss=loss)
    with gw.Watch(model) as w:
        model(X).sum().backward()
    for got in (
        profile.weight_grad_norm[0],
        history.layer_grad_norm[0, 0],
        w.history().layer_grad_norm[0, 0],
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert history.diverged_at is None and np.isfinite(history.total_norm_before[0])


def test_batched_norms_have_one_home():
    core = pathlib.Path(gw.__file__).parent / "core"
    users = sorted(p.name for p in core.glob("*.py") if "_foreach_norm" in p.read_text())
    assert users == ["norms.py"]


def test_large_tensors_and_float32_worst_cases_are_accurate_where_float32_is_not():
    g = torch.Generator().manual_seed(1)
    tensors = [
        torch.randn(25_000_000, generator=g),  # float32: 1.4e-3 low
        torch.randn(512, 512, 3, 3, generator=g),  # a 2.4M-entry conv weight: 4e-5
        torch.randn(1_000_003, generator=g),  # a prime size: blocks and a tail
        _one_magnitude(256, 256),  # 4.7e-5
        _one_magnitude(64, 64, 3, 3),  # 1.5e-5
    ]
    for t in tensors[:2] + tensors[3:]:
        assert _float32_error(t) > RTOL  # the old computation fails here
    _assert_accurate([*tensors, torch.randn(7, generator=g)])


def test_non_contiguous_views():
    g = torch.Generator().manual_seed(2)
    base = torch.randn(4000, 5000, generator=g)
    views = [
        base.T,  # reads as contiguous
        base[:, ::2],
        base[::3, 7:4007],
        torch.randn(64, 3, 3, 512, generator=g).permute(3, 0, 1, 2),
        torch.randn(4000, 1, generator=g).expand(4000, 5000),  # stride 0: counted, not read
        _one_magnitude(8192, 2)[:, 0],  # small, but a strided sum is 4x less accurate
    ]
    for v in (views[0], views[1], views[5]):
        assert not v.is_contiguous() and _float32_error(v) > RTOL
    _assert_accurate(views)


def test_float16_and_bfloat16_are_summed_in_float32_without_overflow():
    g = torch.Generator().manual_seed(3)
    half = (300 * torch.randn(2_000_000, generator=g)).half()
    assert torch.linalg.vector_norm(half).isinf() and _float32_error(half) > RTOL
    bf16 = (1e25 * torch.randn(1_000_000, generator=g)).bfloat16()  # float32 squares overflow
    small = torch.full((10,), 3e4, dtype=torch.float16)  # norm 9.5e4 > 65504
    rounded = (10 * torch.randn(100_000, generator=g)).half()  # a float16 result has 11 bits
    assert abs(float(torch.linalg.vector_norm(rounded)) - _reference(rounded)) > RTOL * _reference(rounded)
    _assert_accurate([half, bf16, small, rounded, half[::3], bf16.view(1000, 1000).T])


def test_chunks_that_under_or_overflow_float32_are_taken_in_float64():
    g = torch.Generator().manual_seed(4)
    spike = torch.randn(1_000_000, generator=g)
    spike[:5000] = 1e20  # one chunk's float32 partial is inf, the others are not
    huge = torch.full((30_000,), 3e19)
    tiny, tiny_small = torch.full((30_000,), 1.3e-21), torch.full((300,), 1.3e-21)  # denormal squares
    assert _float32_error(tiny_small) > RTOL and torch.linalg.vector_norm(huge).isinf()
    _assert_accurate([spike, huge, tiny, tiny_small, 1e-30 * torch.randn(50_000, generator=g)])


def test_nan_and_inf_entries_give_nan_and_inf():
    for n in (100, 50_000):
        x = torch.ones(n)
        with_inf, with_nan, both = x.clone(), x.clone(), x.clone()
        with_inf[n // 2] = np.inf
        with_nan[-1] = np.nan
        both[0], both[-1] = np.inf, np.nan
        tensors = [with_inf, with_nan, both, with_inf[::2], with_nan.half()]
        got = tensor_norms(tensors)
        assert np.isinf(got[0]) and np.isnan(got[1:3]).all() and np.isinf(got[3]) and np.isnan(got[4])
        single = [single_norm(t) for t in tensors]
        assert np.isinf(single[0]) and np.isnan(single[1:3]).all() and np.isinf(single[3])


def test_empty_zero_dim_and_float64_tensors():
    empties = [torch.zeros(0), torch.zeros(0, 5), torch.zeros(0, dtype=torch.float16), torch.zeros(20_000)]
    assert tensor_norms(empties).tolist() == [0.0] * 4 and [single_norm(t) for t in empties] == [0.0] * 4
    assert tensor_norms([torch.tensor(3.0), torch.tensor(-2.0, dtype=torch.float16)]).tolist() == [3.0, 2.0]
    np.testing.assert_allclose(norms([[torch.zeros(0)], [torch.tensor(3.0), torch.zeros(0, 2)]]), [0.0, 3.0])
    g = torch.Generator().manual_seed(5)
    _assert_accurate([torch.randn(3_000_000, generator=g, dtype=torch.float64), torch.randn(5).double()])
