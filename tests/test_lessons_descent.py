"""gradwidgets.lessons.descent: gradient descent on one weight follows the quadratic's theory."""

import numpy as np
import pytest
import torch

from gradwidgets import lessons
from gradwidgets.explorers.descent import one_weight_problem
from gradwidgets.lessons.descent import DescentRun, one_weight_descent


@pytest.fixture(scope="module")
def problem():
    return one_weight_problem()


def test_curvature_and_minimum_are_those_of_the_scaled_quadratic(problem):
    x, y = problem
    run = one_weight_descent(x, y, lr=0.1, steps=3, loss_scale=10.0)
    xd, yd = x.double(), y.double()
    assert run.curvature == pytest.approx(20 * float(xd.pow(2).mean()))  # mean(x²) = 1: curvature 2 s
    assert run.curvature == pytest.approx(20.0)
    assert run.w_best == pytest.approx(float(torch.linalg.lstsq(xd, yd).solution))
    assert (run.lr, run.loss_scale, run.factor) == (0.1, 10.0, pytest.approx(1 - 0.1 * 20))


def test_path_starts_at_w0_and_has_one_weight_per_step(problem):
    run = one_weight_descent(*problem, lr=0.2, steps=7, w0=0.5)
    assert run.path.shape == (8,) and run.path[0] == 0.5
    assert run.errors[0] == pytest.approx(0.5 - run.w_best)


def test_first_gradient_is_the_slope_at_the_start(problem):
    x, y = problem
    run = one_weight_descent(x, y, lr=0.2, steps=2, loss_scale=3.0, w0=-1.0)
    w = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(3.0 * ((w * x.double() - y.double()) ** 2).mean(), w)
    assert run.first_grad == pytest.approx(abs(float(grad)), rel=1e-5)


@pytest.mark.parametrize("lr", [0.05, 0.4, 0.8, 1.05])
def test_errors_follow_the_predicted_factor_per_step(problem, lr):
    run = one_weight_descent(*problem, lr=lr, steps=12)
    scale = np.abs(run.errors).max()
    np.testing.assert_allclose(run.errors, run.predicted_errors, rtol=0, atol=1e-5 * scale)
    if abs(run.factor) > 1:
        assert abs(run.errors[-1]) > abs(run.errors[0])  # diverges
    else:
        assert abs(run.errors[-1]) < abs(run.errors[0])


def test_repr_states_the_regime(problem):
    text = repr(one_weight_descent(*problem, lr=0.5, steps=4))
    assert text.startswith("DescentRun(lr=0.5, loss × 1: curvature 2")
    assert "lr × curvature = 1" in text and "after 4 steps" in text


def test_the_face_exports_the_same_objects():
    assert lessons.one_weight_descent is one_weight_descent and lessons.DescentRun is DescentRun
