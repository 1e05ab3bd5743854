"""The thresholds have one home, core/thresholds.py: diagnose, the plots' zones and the registry read it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import gradwidgets as gw
from gradwidgets.core import flags, thresholds
from gradwidgets.core.activations import ACTIVATIONS
from gradwidgets.core.profile import GradientProfile


def _profile(act: str, saturation: float) -> GradientProfile:
    one = np.array([1.0])
    return GradientProfile(
        layer_names=("l",),
        activations=(act,),
        weight_grad_norm=one,
        weight_norm=one,
        grad_to_weight=one,
        act_grad_norm=one,
        act_mean=np.zeros(1),
        act_std=one,
        saturation=np.array([saturation]),
        dead_fraction=np.zeros(1),
        loss=1.0,
    )


def test_the_plots_zones_are_the_thresholds_objects():
    plots = pytest.importorskip("gradwidgets.plots")
    assert plots.VANISHING_BELOW is thresholds.VANISHING_ABSOLUTE
    assert plots.EXPLODING_ABOVE is thresholds.EXPLODING_ABSOLUTE


def test_flags_names_are_the_thresholds_objects():
    for name in thresholds.__all__:
        if hasattr(flags, name):
            assert getattr(flags, name) is getattr(thresholds, name), name
    assert gw.THRESHOLDS is gw.core.THRESHOLDS is thresholds.THRESHOLDS
    assert gw.SATURATION_THRESHOLD is thresholds.SATURATION_THRESHOLD


def test_values_the_book_quotes():
    """book/diagnose.md: 10^-4 and 10^-6; 10^3 and 10^3; more than half; below 5%."""
    t = thresholds
    assert (t.VANISHING_RELATIVE, t.VANISHING_ABSOLUTE, t.EXPLODING_RELATIVE, t.EXPLODING_ABSOLUTE) == (
        1e-4,
        1e-6,
        1e3,
        1e3,
    )
    assert t.SATURATED_FRACTION == t.DEAD_FRACTION == 0.5 and t.SATURATION_THRESHOLD == 0.05
    rules = dict(t.THRESHOLDS)
    assert "< 0.0001 x the largest" in rules["vanishing"] and "or < 1e-06" in rules["vanishing"]
    assert "(sigmoid, tanh, elu, selu layers)" in rules["saturated"]


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_saturated_flag_follows_the_registry(name):
    flagged = flags.flag_layers(_profile(name, 0.9)).flags == (("saturated",),)
    assert flagged == ACTIVATIONS[name].saturates
    assert (name in thresholds.SATURATING_ACTIVATIONS) == ACTIVATIONS[name].saturates


def test_saturated_flag_reads_the_registry_at_call_time(monkeypatch):
    monkeypatch.setitem(ACTIVATIONS, "relu", dataclasses.replace(ACTIVATIONS["relu"], saturates=True))
    assert flags.flag_layers(_profile("relu", 0.9)).flags == (("saturated",),)
    assert flags.flag_layers(_profile("?", 0.9)).flags == ((),)
