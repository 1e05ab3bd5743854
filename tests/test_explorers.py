"""The course's explorers: each face shows what the core computes, for its own controls."""

import numpy as np
import pytest
from bokeh.embed import json_item

import gradwidgets as gw
from gradwidgets.explorers import CATALOG, clipping, gradient_flow, learning_rate, norm_training, saturation
from gradwidgets.explorers.descent import curvature, one_weight_problem

SMALL = {  # small grids and short runs, so each explorer's tests take seconds
    "gradient_flow": dict(
        depths=(3, 12),
        activations=("sigmoid", "relu"),
        inits=("xavier_normal",),
        norms=(None, "batch"),
        residual=(False,),
    ),
    "init_variance": dict(inits=("normal", "kaiming_normal"), activations=("relu",), widths=(16, 64)),
    "compare": dict(
        activations=("sigmoid", "relu"),
        inits=("xavier_normal",),
        depth=8,
        a=("sigmoid", "xavier_normal"),
        b=("relu", "xavier_normal"),
    ),
    "saturation": dict(activations=("sigmoid", "tanh"), gains=(1.0, 4.0), layers=(1, 3), depth=3),
    "norm_training": dict(
        norms=(None, "batch"), residual=(False,), activations=("sigmoid",), depths=(6,), steps=12
    ),
    "clipping": dict(modes=("none", "norm"), thresholds=(0.1, 1.0), radii=(1.5,), seq_len=10, steps=10),
    "learning_rate": dict(lrs=(0.2, 1.05), steps=10),
    "weight_decay": dict(optimizers=("sgd", "adamw"), decays=(0.0, 0.1), steps=10, depth=2, width=16),
    "cnn_flow": dict(
        depths=(3, 6), activations=("sigmoid", "relu"), inits=("pytorch_default",), norms=(None,)
    ),
    "sequence_memory": dict(cells=("lstm",), gate_biases=(None, 2.0), seq_lens=(10, 20), n=8),
    "jacobian_spectrum": dict(
        activations=("linear", "sigmoid"), weights=("gaussian",), gains=(1.0, 2.0), depth=6
    ),
}


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_explorer_default_runs_and_bakes_small(name):
    ex = CATALOG[name](**SMALL[name])
    result = ex.run(ex.default_config)
    assert result.data and result.status
    layout = ex.static()
    assert len(str(json_item(layout))) < 1_000_000


@pytest.mark.parametrize("name", list(CATALOG))
def test_live_control_change_shows_the_core_result(name):
    ex = CATALOG[name](**SMALL[name])
    panel = ex.live()
    control = next(c for c in ex.controls if len(c.options) > 1)
    new = next(o for o in control.options if o != control.default)
    panel.set(**{control.name: new})
    assert panel.wait(120)
    expected = ex.run(ex.config(**{control.name: new}))
    for source, cols in expected.data.items():
        for col, values in cols.items():
            got = panel.sources[source].data[col]
            if np.asarray(values).dtype.kind == "f":
                np.testing.assert_array_equal(np.asarray(got, dtype=float), values, err_msg=f"{source}.{col}")
            else:
                assert list(got) == list(values)


def test_gradient_flow_shows_vanishing_for_deep_sigmoid_and_batch_norm_lifts_it():
    ex = gradient_flow(**SMALL["gradient_flow"])
    plain = ex.run(ex.config(depth=12, activation="sigmoid", norm=None))
    bn = ex.run(ex.config(depth=12, activation="sigmoid", norm="batch"))
    assert plain.problem and "vanishing" in plain.status
    g_plain, g_bn = plain.data["grads"]["value"], bn.data["grads"]["value"]
    assert g_bn[0] / g_bn[-1] > 1e3 * (g_plain[0] / g_plain[-1])


def test_saturation_grows_with_the_gain():
    ex = saturation(**SMALL["saturation"])
    low = ex.run(ex.config(activation="tanh", gain=1.0, layer=3)).data["acts"]["saturation"][2]
    high = ex.run(ex.config(activation="tanh", gain=4.0, layer=3)).data["acts"]["saturation"][2]
    assert high > low + 0.2


def test_learning_rate_regimes_match_what_descent_does():
    x, _ = one_weight_problem()
    assert curvature(x) == pytest.approx(2.0)
    ex = learning_rate(lrs=(0.02, 0.5, 0.9, 1.05), steps=25)
    error = {}
    for lr in (0.02, 0.5, 0.9, 1.05):
        w = ex.run(ex.config(lr=lr)).data["path"]["w"]
        error[lr] = np.abs(w - w[-1] if lr == 0.5 else w - 2.0)
    # lr 0.5 = 1/curvature lands on the minimum in one step; 0.9 overshoots back and forth; 1.05 diverges
    path = ex.run(ex.config(lr=0.5)).data["path"]["w"]
    assert np.allclose(path[1:], path[1], atol=1e-5)
    w09 = ex.run(ex.config(lr=0.9)).data["path"]["w"]
    assert np.all(np.diff(np.sign(w09[:6] - path[1])) != 0)  # alternates sides of the minimum
    w105 = ex.run(ex.config(lr=1.05)).data["path"]["w"]
    assert abs(w105[-1] - path[1]) > abs(w105[0] - path[1])
    assert ex.run(ex.config(lr=1.05)).problem
    assert abs(ex.run(ex.config(lr=0.02)).data["path"]["w"][-1] - path[1]) > 1.0  # still far: too small


def test_norm_training_streams_partial_results():
    ex = norm_training(**SMALL["norm_training"])
    partials = []
    final = ex.run(ex.default_config, emit=lambda r: partials.append(r) or False)
    assert len(partials) >= 2 and partials[0].progress < 1 and final.progress == 1
    assert len(partials[0].data["loss"]["step"]) < len(final.data["loss"]["step"])


def test_clipping_by_norm_bounds_the_recorded_norm():
    ex = clipping(**SMALL["clipping"])
    result = ex.run(ex.config(mode="norm", threshold=0.1))
    assert np.all(result.data["norms"]["norm_after"] <= 0.1 * (1 + 1e-5))
    assert (
        result.data["time"]["value"][0] > result.data["time"]["value"][-1]
    )  # radius 1.5 explodes back in time


def test_setup_notebook_does_nothing_while_baking(monkeypatch):
    monkeypatch.setenv("GRADWIDGETS_BAKE", "1")
    assert gw.setup_notebook() is None


@pytest.mark.parametrize("omp", [None, "2"])
def test_setup_notebook_uses_one_torch_thread_unless_omp_num_threads_is_set(monkeypatch, omp):
    import torch

    monkeypatch.setenv("GRADWIDGETS_BAKE", "1")
    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        gw.setup_notebook()
        assert torch.get_num_threads() == (1 if omp is None else 2)
    finally:
        torch.set_num_threads(before)


def test_explorer_labels_come_from_the_registries(monkeypatch):
    """Change a registry's label and the controls show it: no second copy of the labels."""
    import dataclasses

    from gradwidgets.core import models

    monkeypatch.setitem(
        gw.INITS, "kaiming_normal", dataclasses.replace(gw.INITS["kaiming_normal"], label="He!")
    )
    monkeypatch.setitem(gw.ACTIVATIONS, "relu", dataclasses.replace(gw.ACTIVATIONS["relu"], label="ReLU!"))
    monkeypatch.setitem(models.NORM_LABELS, "batch", "BN!")
    controls = {c.name: c for c in gradient_flow().controls}
    assert "He!" in controls["init"].option_labels
    assert "ReLU!" in controls["activation"].option_labels
    assert "BN!" in controls["norm"].option_labels
    assert "ReLU!" in {c.name: c for c in saturation().controls}["activation"].option_labels
