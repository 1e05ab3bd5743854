"""gradwidgets.core.saturated: saturated units counted exactly, entry for entry, as f' < 5% of max."""

import numpy as np
import pytest
import torch
from test_core_actstats import _trace
from torch import nn

import gradwidgets as gw
from gradwidgets.core.activations import elu, leaky_relu
from gradwidgets.core.actstats import activation_stats
from gradwidgets.core.saturated import (
    SATURATION_THRESHOLD,
    saturated_counts,
    saturated_exact,
    saturated_z_intervals,
)


def _derivative_from_output(act, h):
    """f'(z) through h = f(z) in float32 numpy, as the statistics were first written."""
    d = act.derivative(torch.tensor([-1e-30, 1.0], dtype=torch.float64)).float()
    d0, d1 = float(d[0]), float(d[1])
    h = h.numpy()
    with np.errstate(invalid="ignore"):
        return {
            "tanh": lambda: np.float32(1) - h * h,
            "sigmoid": lambda: (np.float32(1) - h) * h,
            "relu": lambda: np.where(h > 0, np.float32(d1), np.float32(d0)),
            "leaky_relu": lambda: np.where(h > 0, np.float32(d1), np.float32(d0)),
            "elu": lambda: np.where(h > 0, np.float32(d1), h + np.float32(d0)),
            "selu": lambda: np.where(h > 0, np.float32(d1), h + np.float32(d0)),
        }[act.name]()


def _near_boundaries(act, n=4096, seed=0):
    """Outputs of ``act``, and every float32 within 2000 ulps of where it saturates, and NaN."""
    g = torch.Generator().manual_seed(seed)
    h = act(torch.randn(n, dtype=torch.float64, generator=g) * 3).float()
    with torch.no_grad():
        grid = act(torch.linspace(-8, 8, 200001)).contiguous()
    t = np.float32(SATURATION_THRESHOLD * act.max_derivative)
    edges = grid.numpy()[np.flatnonzero(np.diff((_derivative_from_output(act, grid) < t).astype(np.int8)))]
    bits = np.array(edges, dtype=np.float32).view(np.int32)
    near = (bits[:, None] + np.arange(-2000, 2001)).ravel().view(np.float32)  # same sign: adjacent
    extra = torch.tensor([float("nan"), 0.0, -0.0], dtype=torch.float32)
    return torch.cat([h, torch.from_numpy(near.copy()), extra]).reshape(1, -1)


ACTS = [gw.get_activation(n) for n in ("tanh", "sigmoid", "relu", "elu", "selu")]
ACTS += [leaky_relu(0.01), leaky_relu(0.2), elu(0.01), elu(3.0)]


@pytest.mark.parametrize("act", ACTS, ids=lambda a: f"{a.name}-{a.max_derivative:g}")
def test_saturation_is_the_float32_derivative_below_threshold_entry_for_entry(act):
    h = _near_boundaries(act)
    finite = h[:, torch.isfinite(h[0])]
    t = np.float32(SATURATION_THRESHOLD * act.max_derivative)
    for data in (finite, h):  # finite data takes the fast counts; a NaN the written-out derivative
        expected = np.count_nonzero(_derivative_from_output(act, data) < t) / data.numel()
        assert activation_stats([_trace(data, act)])["saturation"][0] == expected


def test_gelu_saturation_follows_the_derivative_of_z():
    act = gw.get_activation("gelu")
    g = torch.Generator().manual_seed(1)
    z = torch.randn(64, 512, generator=g) * 3
    t = SATURATION_THRESHOLD * act.max_derivative
    for lo, hi in saturated_z_intervals(act):
        for edge in (lo, hi):
            if np.isfinite(edge):
                d = float(act.derivative(torch.tensor(edge, dtype=torch.float64)).abs())
                assert d == pytest.approx(t, rel=1e-9)
                z = z[(z - edge).abs() > 1e-4]  # rounding decides entries this close: leave them out
    z = z.reshape(1, -1)
    h = nn.GELU()(z)
    expected = float((act.derivative(z.double()).abs() < t).double().mean())
    assert activation_stats([_trace(h, act, [z])])["saturation"][0] == expected
    z[0, 0] = -float("inf")  # a non-finite z: the derivative itself (NaN there: not saturated)
    expected = float((act.derivative(z).abs() < t).double().mean())
    assert activation_stats([_trace(nn.GELU()(z), act, [z])])["saturation"][0] == expected


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "leaky_relu", "elu", "selu", "gelu"])
def test_fast_counts_per_row_agree_with_the_written_out_derivative(name):
    act = gw.get_activation(name)
    z = torch.randn(3, 2000, generator=torch.Generator().manual_seed(0)) * 4
    with torch.no_grad():
        h = act(z)
    counts = saturated_counts(act, h, z, torch.empty_like(h))
    exact = [saturated_exact(act, h[i], z[i]) for i in range(3)]
    assert counts.tolist() == exact
    assert 0 < min(exact) and max(exact) < 2000  # some entries saturated, some not, in every row
