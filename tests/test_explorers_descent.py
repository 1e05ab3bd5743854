"""gradwidgets.explorers.descent: gradient descent on one weight, below, at and above 2/curvature."""

import numpy as np
import pytest

from gradwidgets.explorers import learning_rate
from gradwidgets.explorers.descent import curvature, one_weight_problem


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
