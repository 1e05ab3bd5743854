"""The claims of book/how-to-use.md, each recomputed with the chapter's own settings.

Each test's docstring quotes the sentence it checks; a test fails if the claim becomes false.
"""

import functools

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.explorers import gradient_flow
from gradwidgets.widgets.static import compact


@functools.cache
def _data():
    """'on 128 points of a two-class spiral, with the mean squared error as the loss'."""
    return gw.make_dataset("spirals", 128)


@functools.cache
def _profile(num_layers, activation):
    data = _data()
    return gw.gradient_profile(gw.build_mlp(num_layers, activation=activation), data.X, data.y.float())


def test_the_first_measurement_is_a_five_layer_tanh_network_of_64_units():
    """'Here it measures a five-layer network with 64 tanh units per layer, on 128 points of a two-class
    spiral' (the defaults of build_mlp: 64 units, tanh; X and y: a batch of inputs and targets)."""
    model = gw.build_mlp(5)
    assert model.config["width"] == 64 and model.config["activation"] == "tanh"
    assert len(model.hidden_linears) == 5
    assert _data().X.shape == (128, 2) and set(_data().y.tolist()) == {0, 1}


def test_profile_leaves_the_model_unchanged():
    """'it runs one forward and one backward pass, without changing the model'."""
    data = _data()
    model = gw.build_mlp(5)
    before = [p.detach().clone() for p in model.parameters()]
    gw.gradient_profile(model, data.X, data.y.float())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters())


def test_five_layer_tanh_gradients_are_of_one_order_and_the_first_gets_about_half():
    """'The gradient norms have the same order of magnitude in every layer: at this depth the first
    layer gets about half of the last layer's gradient, nothing is lost on the way down.'"""
    p = _profile(5, "tanh")
    g = p.weight_grad_norm
    assert g.max() / g.min() < 3
    assert 0.35 < p.first_last_ratio < 0.7
    assert p.first_last_ratio == pytest.approx(g[0] / g[-1])


def test_columns_of_the_table():
    """'saturated: the share of activations where f is nearly flat' (f' below 5% of its largest);
    'dead: the share of units whose output is zero for every example in the batch'; 'grad/weight:
    ||dL/dW_l|| / ||W_l||'."""
    data = _data()
    model = gw.build_mlp(5)
    p = gw.gradient_profile(model, data.X, data.y.float())
    norms = np.array([float(lin.weight.detach().norm()) for lin in model.hidden_linears])
    np.testing.assert_allclose(p.grad_to_weight, p.weight_grad_norm / norms, rtol=1e-5)
    assert gw.SATURATION_THRESHOLD == 0.05
    assert np.all(p.saturation == 0) and np.all(p.dead_fraction == 0)


def test_twenty_sigmoid_layers_shrink_by_about_four_and_a_half_per_layer():
    """Exercise: 'Going from one layer to the one below, |dL/dW| shrinks by a factor of about 4.5, and
    over twenty layers these factors multiply to a first-to-last ratio of about 4 x 10^-13 ... Yet the
    saturated column is 0% everywhere ... the sigmoid, which is at most 1/4 even at its steepest
    point: with weights that roughly preserve the size of a vector, as these do, the backward pass
    multiplies the gradient by about 1/4 at every layer, a little less on average.' (20 hidden
    layers)"""
    p = _profile(20, "sigmoid")
    g = p.weight_grad_norm
    assert len(g) == 20
    assert (g[-1] / g[0]) ** (1 / 19) == pytest.approx(4.5, abs=0.25)
    assert 3e-13 < p.first_last_ratio < 5e-13
    assert np.all(p.saturation == 0)
    h = p.act_grad_norm
    factors = h[:-1] / h[1:]
    assert np.all((factors > 0.15) & (factors < 0.3)) and np.exp(np.mean(np.log(factors))) < 0.25
    model = gw.build_mlp(20, activation="sigmoid")
    rms_gain = [float(lin.weight.detach().norm()) / 8 for lin in model.hidden_linears[1:]]  # ||W||/sqrt(64)
    assert all(0.9 < r < 1.1 for r in rms_gain)


def test_the_website_stores_float32_with_about_seven_digits():
    """'The numbers are the same in both: the website shows what the kernel computed at build time,
    stored in single precision (float32, about seven significant digits) unless a value is too large
    or too small for it.'"""
    ex = gradient_flow(
        depths=(5, 20), activations=("sigmoid",), inits=("xavier_normal",), norms=(None,), residual=(False,)
    )
    for depth in (5, 20):
        live = ex.run(ex.config(depth=depth)).data["grads"]
        stored = compact(live)
        value = np.asarray(live["value"], dtype=np.float64)
        assert stored["value"].dtype == np.float32
        np.testing.assert_allclose(stored["value"], value, rtol=1e-7)
        assert np.finfo(np.float32).precision == 6  # 6 to 7 significant decimal digits
    tiny = compact({"value": np.array([1e-42, 1.0])})["value"]
    assert tiny.dtype == np.float64  # too small for float32: kept in float64


def test_the_size_of_a_gradient_is_its_frobenius_norm():
    """'The size of a gradient is its Frobenius norm, ||A|| = (sum_ij A_ij^2)^(1/2), which for a vector
    is the ordinary Euclidean length' (what the profile's |dL/dW| column holds)."""
    data = _data()
    model = gw.build_mlp(3)
    p = gw.gradient_profile(model, data.X, data.y.float())
    loss = torch.nn.functional.mse_loss(model(data.X).squeeze(1), data.y.float())
    grads = torch.autograd.grad(loss, [lin.weight for lin in model.hidden_linears])
    np.testing.assert_allclose(p.weight_grad_norm, [float(g.pow(2).sum() ** 0.5) for g in grads], rtol=1e-5)


def test_the_book_is_built_with_python_3_11():
    """'with Python 3.11 and make installed' (the Binder environment pins the same Python)."""
    from pathlib import Path

    environment = (Path(__file__).resolve().parents[1] / "environment.yml").read_text()
    assert "python=3.11" in environment
