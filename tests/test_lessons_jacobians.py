"""Layer Jacobians by the formula diag(f'(z)) W agree with autograd; product spectra are right."""

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.lessons.jacobians import autograd_layer_jacobians, jacobian_singular_values, layer_jacobians


@pytest.mark.parametrize(
    "kw",
    [
        dict(activation="tanh"),
        dict(activation="sigmoid", init="normal"),
        dict(activation="relu", init="kaiming_normal"),
        dict(activation="gelu"),
        dict(activation="leaky_relu", residual=True),
        dict(activation="linear", init="orthogonal"),
    ],
)
def test_formula_jacobians_match_autograd_per_layer(spirals, kw):
    model = gw.build_mlp(5, width=12, **kw)
    x = spirals.X[7]
    formula = layer_jacobians(model, x)
    auto = autograd_layer_jacobians(model, x)
    assert [tuple(J.shape) for J in formula] == [(12, 2)] + [(12, 12)] * 4
    for a, b in zip(formula, auto, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_product_of_layer_jacobians_is_the_whole_stacks_jacobian(spirals):
    model = gw.build_mlp(6, width=10, activation="tanh").double()
    x = spirals.X[3].double()

    def stack(v):
        for block in model.blocks:
            v = block(v[None])[0]
        return v

    whole = torch.autograd.functional.jacobian(stack, x)
    P = None
    for J in layer_jacobians(model, x):
        P = J if P is None else J @ P
    torch.testing.assert_close(P, whole, rtol=1e-10, atol=1e-12)


def test_spectrum_matches_numpy_svd_of_the_products_and_the_gradient_gain(spirals):
    model = gw.build_mlp(8, width=16, activation="tanh")
    jacs = layer_jacobians(model, spirals.X[0])[1:]
    g = model.head.weight[0]
    spectrum = jacobian_singular_values(jacs, grad=g)
    assert len(spectrum) == 7
    for l in range(len(jacs)):  # noqa: E741
        P = np.eye(16)
        for J in jacs[l:]:
            P = J.numpy() @ P
        s = np.linalg.svd(P, compute_uv=False)
        np.testing.assert_allclose(spectrum.sigma_max[l], s[0], rtol=1e-10)
        np.testing.assert_allclose(spectrum.sigma_rms[l], np.sqrt(np.mean(s**2)), rtol=1e-10)
        gd = g.detach().double().numpy()
        np.testing.assert_allclose(spectrum.gradient_gain[l], np.linalg.norm(P.T @ gd) / np.linalg.norm(gd))
        # the gradient's growth lies between the smallest and largest singular value
        assert (
            spectrum.sigma_min[l] * (1 - 1e-9)
            <= spectrum.gradient_gain[l]
            <= spectrum.sigma_max[l] * (1 + 1e-9)
        )


def test_sigma_max_of_a_product_is_at_most_the_product_of_sigma_max(spirals):
    model = gw.build_mlp(10, width=16, activation="relu", init="kaiming_normal")
    spectrum = jacobian_singular_values(layer_jacobians(model, spirals.X[1])[1:])
    bound = np.cumprod(spectrum.layer_sigma_max[::-1])[::-1]
    assert np.all(spectrum.sigma_max <= bound * (1 + 1e-12))


def test_linear_orthogonal_layers_keep_every_singular_value_at_one(spirals):
    model = gw.build_mlp(12, width=16, activation="linear", init="orthogonal")
    spectrum = jacobian_singular_values(layer_jacobians(model, spirals.X[0])[1:])
    for s in spectrum.product_values:
        np.testing.assert_allclose(s, 1.0, atol=1e-5)


def test_relu_zero_slopes_give_exact_zero_singular_values(spirals):
    model = gw.build_mlp(4, width=16, activation="relu", init="kaiming_normal")
    jacs = layer_jacobians(model, spirals.X[0])
    spectrum = jacobian_singular_values(jacs)
    inactive = [int((J.abs().sum(1) == 0).sum()) for J in jacs]
    assert all(n > 0 for n in inactive)  # some units are off at this input: zero rows in J_l
    assert np.all(spectrum.layer_sigma_min[1:] == 0)  # the square ones are singular
    assert np.all(spectrum.sigma_min[1:] == 0)


def test_bad_models_are_refused_with_a_reason(spirals):
    with pytest.raises(ValueError, match="normalization"):
        layer_jacobians(gw.build_mlp(3, norm="layer"), spirals.X[0])
    with pytest.raises(ValueError, match="build_mlp"):
        layer_jacobians(torch.nn.Linear(2, 2), spirals.X[0])
    with pytest.raises(ValueError, match="features"):
        layer_jacobians(gw.build_mlp(3), torch.zeros(5))
    with pytest.raises(ValueError, match="at least one"):
        jacobian_singular_values([])


def test_repr_is_a_table_with_one_row_per_layer(spirals):
    spectrum = jacobian_singular_values(layer_jacobians(gw.build_mlp(4), spirals.X[0]), grad=torch.ones(64))
    lines = repr(spectrum).splitlines()
    assert lines[0] == "JacobianSpectrum(4 layers)" and len(lines) == 6
    assert "σmax(J_D⋯J_l)" in lines[1]
