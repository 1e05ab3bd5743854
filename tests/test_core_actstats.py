"""Activation statistics against independent references: float64 moments, dead units.

Saturation, counted exactly against float32 derivatives, is tested in test_core_saturated.py.
"""

import numpy as np
import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.actstats import activation_stats
from gradwidgets.core.tracing import LayerTrace


def _trace(hs, act, zs=None, module=None):
    hs = hs if isinstance(hs, list) else [hs]
    zs = zs if zs is not None else [None] * len(hs)
    return LayerTrace("layer", module or nn.Linear(1, 1), [], act, hs, zs)


@pytest.mark.parametrize("offset", [0.0, 0.5, 300.0])
def test_mean_and_std_match_float64_even_when_the_mean_dwarfs_the_spread(offset):
    g = torch.Generator().manual_seed(2)
    h = offset + 1e-3 * torch.randn(256, 64, generator=g) + 0.3 * torch.rand(1, 64, generator=g)
    out = activation_stats([_trace(h, gw.get_activation("tanh"))])
    ref = h.double()
    assert out["act_mean"][0] == pytest.approx(float(ref.mean()), rel=1e-6, abs=1e-9)
    assert out["act_std"][0] == pytest.approx(float(ref.std()), rel=1e-5)


def test_huge_activations_fall_back_to_float64():
    h = torch.randn(128, 16, generator=torch.Generator().manual_seed(3)) * 1e20
    out = activation_stats([_trace(h, None)])
    assert out["act_std"][0] == pytest.approx(float(h.double().std()), rel=1e-6)
    assert np.isnan(out["saturation"][0])  # unknown activation


def test_non_finite_activations_are_reported_not_hidden():
    h = torch.ones(8, 4)
    h[0, 0] = float("inf")
    out = activation_stats([_trace(h.clone(), None), _trace(h.fill_(float("nan")), None)])
    assert out["act_mean"][0] == np.inf and np.isnan(out["act_std"][0])
    assert np.isnan(out["act_mean"][1])


def test_dead_units_are_exactly_zero_on_every_example():
    h = torch.rand(32, 6) + 0.1
    h[:, 0] = 0.0  # dead
    h[:, 1] = 0.0
    h[5, 1] = 1e-45  # one subnormal: alive
    h[:, 2] = 0.0
    h[0, 2], h[1, 2] = 1.0, -1.0  # sums to zero: alive
    h[:, 3] = -0.0  # dead
    out = activation_stats([_trace(h, gw.get_activation("relu"))])
    assert out["dead_fraction"][0] == 2 / 6


def test_calls_of_one_layer_add_up_and_dead_means_dead_in_every_call():
    g = torch.Generator().manual_seed(4)
    calls = [torch.tanh(torch.randn(16, 8, generator=g)) for _ in range(5)]
    for h in calls[:4]:
        h[:, :3] = 0.0
    calls[4][:, :2] = 0.0  # unit 2 fires in the last step only
    act = gw.get_activation("tanh")
    out = activation_stats([_trace(calls, act)])
    every = torch.cat(calls)
    assert out["act_mean"][0] == pytest.approx(float(every.double().mean()), rel=1e-6)
    assert out["act_std"][0] == pytest.approx(float(every.double().std()), rel=1e-6)
    assert out["dead_fraction"][0] == 2 / 8
    alone = activation_stats([_trace(every, act)])
    assert out["saturation"][0] == alone["saturation"][0]


def test_layers_batched_together_give_what_each_gives_alone():
    g = torch.Generator().manual_seed(5)
    acts = [gw.get_activation(n) for n in ("tanh", "tanh", "relu", "sigmoid", "tanh")]
    widths = [8, 8, 8, 8, 16]
    traces = [_trace(a(torch.randn(32, w, generator=g)), a) for a, w in zip(acts, widths, strict=True)]
    together = activation_stats(traces)
    for i, tr in enumerate(traces):
        alone = activation_stats([tr])
        for key, value in together.items():
            assert value[i] == pytest.approx(alone[key][0], rel=1e-12, nan_ok=True), key


def test_conv_units_are_channels():
    h = torch.rand(4, 3, 5, 5)
    h[:, 1] = 0.0
    out = activation_stats([_trace(h, gw.get_activation("relu"), module=nn.Conv2d(1, 3, 1))])
    assert out["dead_fraction"][0] == 1 / 3
    assert out["act_mean"][0] == pytest.approx(float(h.double().mean()), rel=1e-6)


def test_an_unbatched_output_has_one_entry_per_unit():
    h = torch.relu(torch.randn(10000, generator=torch.Generator().manual_seed(7)))
    out = activation_stats([_trace(h, gw.get_activation("relu"))])
    assert out["dead_fraction"][0] == float((h == 0).double().mean())
    assert out["act_mean"][0] == pytest.approx(float(h.double().mean()), rel=1e-6)
