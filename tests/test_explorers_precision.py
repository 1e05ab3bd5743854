"""The mixed-precision explorers: their faces show what the lessons compute."""

import numpy as np
import pytest

from gradwidgets.core.models import build_mlp
from gradwidgets.explorers._common import dataset
from gradwidgets.explorers.precision import fp16_range, loss_scaling, scaled_run
from gradwidgets.lessons.precision import fp16_gradients
from gradwidgets.widgets import static_html

SMALL_RANGE = dict(activations=("sigmoid", "relu"), depths=(3, 6), scales=(1.0, 2.0**16), width=8)
SMALL_SCALING = dict(
    scalings=("none", "static", "dynamic"), scales=(2.0**16, 2.0**30), steps=8, depth=4, width=8
)


def test_fp16_range_shows_fp16_gradients_of_the_setting():
    ex = fp16_range(**SMALL_RANGE)
    result = ex.run(ex.config(activation="sigmoid", depth=6, scale=1.0))
    model = build_mlp(6, width=8, activation="sigmoid", out_features=2)
    grads = fp16_gradients(model, dataset("spirals").X, dataset("spirals").y, loss="cross_entropy")
    np.testing.assert_array_equal(result.data["layers"]["zero"], grads.zero)
    assert result.data["hist"]["share"].sum() == pytest.approx(1.0)
    assert result.status.startswith("Layer 1:") and len(static_html(ex.static())) < 1_000_000


def test_the_scale_slides_the_histogram():
    ex = fp16_range(**SMALL_RANGE)
    hist = {s: ex.run(ex.config(activation="sigmoid", depth=6, scale=s)).data["hist"] for s in (1.0, 2.0**16)}
    mean = {s: np.sum(h["left"] * h["share"]) for s, h in hist.items()}
    assert mean[2.0**16] - mean[1.0] == pytest.approx(16, abs=0.2)


def test_loss_scaling_runs_once_and_shows_the_scaler():
    ex = loss_scaling(**SMALL_SCALING)
    a = ex.run(ex.config(scaling="dynamic", scale=2.0**30))
    assert a.data["scale"]["value"][0] == 2.0**30
    assert a.data["skipped"]["x"].size > 0 and "skipped by the scaler" in a.status
    assert a.data["reference"]["value"].size == 8
    assert scaled_run("dynamic", 2.0**30, 4, 8, 8) is scaled_run("dynamic", 2.0**30, 4, 8, 8)  # kept
    static = ex.run(ex.config(scaling="static", scale=2.0**30))
    assert static.problem and static.status.startswith("Diverged at step 0")
    none = ex.run(ex.config(scaling="none"))
    assert "S is not used" in none.status and np.all(none.data["scale"]["value"] == 1)


def test_loss_scaling_streams_partial_results():
    ex = loss_scaling(scalings=("none",), scales=(2.0**16,), steps=12, depth=2, width=4)
    partials = []
    final = ex.run(ex.default_config, emit=lambda r: partials.append(r) or False)
    assert partials and partials[0].progress < 1 and final.progress == 1


def test_bad_choices_are_refused_at_the_call():
    with pytest.raises(ValueError, match=r"loss_scaling\(\): scalings\[0\]='auto'"):
        loss_scaling(scalings=("auto",))
    with pytest.raises(ValueError, match=r"fp16_range\(\): scales\[0\]=0.0"):
        fp16_range(scales=(0.0,))
