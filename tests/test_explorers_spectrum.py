"""The Jacobian-spectrum explorer: both faces show what the core computes, and stay small."""

import numpy as np

from gradwidgets.core.models import build_mlp
from gradwidgets.explorers.spectrum import jacobian_spectrum
from gradwidgets.lessons.jacobians import jacobian_singular_values, layer_jacobians
from gradwidgets.widgets import static_html

SMALL = dict(activations=("linear", "sigmoid"), weights=("gaussian", "orthogonal"), gains=(1.0, 2.0), depth=6)


def test_default_matches_the_core_spectrum(spirals):
    ex = jacobian_spectrum(**SMALL)
    result = ex.run(ex.default_config)
    model = build_mlp(6, activation="sigmoid", init="lecun_normal", init_gain=1.0)
    spectrum = jacobian_singular_values(layer_jacobians(model, spirals.X[0])[1:], grad=model.head.weight[0])
    lines = result.data["lines"]
    np.testing.assert_array_equal(lines["layer"], np.arange(2, 7))
    np.testing.assert_allclose(lines["smax"], spectrum.sigma_max)
    np.testing.assert_allclose(lines["gain"], spectrum.gradient_gain)
    assert result.data["cloud"]["sigma"].min() > 0  # zeros are left out of the log plot
    assert result.status.startswith("J_6 ⋯ J_2 (5 Jacobians)")


def test_same_weights_for_every_activation_at_one_gain():
    ex = jacobian_spectrum(**SMALL)
    linear = ex.run(ex.config(activation="linear", weights="orthogonal", gain=1.0)).data["lines"]
    np.testing.assert_allclose(linear["smax"], 1.0, atol=1e-5)  # orthogonal and linear: isometry
    sigmoid = ex.run(ex.config(activation="sigmoid", weights="orthogonal", gain=1.0)).data["lines"]
    assert np.all(sigmoid["smax"] <= 0.25 ** np.arange(5, 0, -1) * (1 + 1e-9))  # slope <= 1/4 per layer


def test_live_control_change_shows_the_core_result():
    ex = jacobian_spectrum(**SMALL)
    panel = ex.live()
    panel.set(gain=2.0)
    assert panel.wait(120)
    expected = ex.run(ex.config(gain=2.0))
    for source, cols in expected.data.items():
        for col, values in cols.items():
            np.testing.assert_array_equal(np.asarray(panel.sources[source].data[col], dtype=float), values)


def test_static_face_is_small():
    assert len(static_html(jacobian_spectrum(**SMALL).static())) < 1_000_000


def test_full_default_grid_bakes_under_a_megabyte():
    assert len(static_html(jacobian_spectrum().static())) < 1_000_000
