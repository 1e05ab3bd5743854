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


def test_at_lr_1_05_the_plot_marks_where_the_run_leaves_it():
    """The view is the loss curve's box; the diverging run gets an arrowhead where it leaves,
    labelled with the step and the final weight the status reports (from the real run)."""
    from bokeh.models import ColumnDataSource, LabelSet

    ex = learning_rate(lrs=(0.2, 1.05), steps=25)
    result = ex.run(ex.config(lr=1.05))
    curve, path, out = result.data["curve"], result.data["path"], result.data["exit"]
    lo, hi, top = curve["w"].min(), curve["w"].max(), curve["loss"].max()
    inside = (path["w"] >= lo) & (path["w"] <= hi) & (path["loss"] <= top)
    step = int(out["step"][0])
    assert inside[:step].all() and not inside[step]  # the first step out of view
    assert lo <= out["x"][0] <= hi and out["y"][0] <= top  # drawn on the edge, in view
    final = path["w"][-1]
    assert f"w = {final:.3g} at step 25" in out["label"][0]
    assert f"leaves the plot at step {step}" in result.status and f"Final w = {final:.4g}" in result.status
    sources = {k: ColumnDataSource(v) for k, v in result.data.items()}
    descent = ex.figures(sources).children[0]
    assert descent.x_range.range_padding == 0 and descent.y_range.start == 0
    labels = [a for a in descent.center if isinstance(a, LabelSet)]
    assert labels and labels[0].source is sources["exit"]
    assert descent.legend[0] in descent.above  # the legend sits above the plot, off the step lines
    legend = [i.label.value for i in descent.legend[0].items if i.visible]
    assert "leaves the plot" in legend
    stays = ex.run(ex.config(lr=0.2))
    assert stays.data["exit"]["step"].size == 0 and "leaves" not in stays.status
    quiet = ex.figures({k: ColumnDataSource(v) for k, v in stays.data.items()}).children[0]
    assert "leaves the plot" not in [i.label.value for i in quiet.legend[0].items if i.visible]


def test_the_learning_rate_run_has_no_clipping_to_list():
    from bokeh.models import ColumnDataSource

    ex = learning_rate(lrs=(1.05,), steps=5)
    result = ex.run(ex.default_config)
    layout = ex.figures({k: ColumnDataSource(v) for k, v in result.data.items()})
    bottom = layout.children[1].children[1]
    labels = [i.label.value for i in bottom.legend[0].items]
    assert labels == ["total gradient norm"]
