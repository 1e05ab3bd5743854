"""gradwidgets.plots.descent: the descent on a one-weight loss, alone and above its training curves."""

import numpy as np
import pytest
from bokeh.models import ColumnDataSource

from gradwidgets import plots
from gradwidgets.explorers import learning_rate
from gradwidgets.plots.descent import (
    descent_figure,
    descent_path_columns,
    descent_training_figure,
    loss_curve_columns,
)
from gradwidgets.plots.theme import TOOLS_WITHOUT_BOX_ZOOM


def test_path_columns_drop_what_bokeh_cannot_draw():
    cols = descent_path_columns([-1.0, 2.0, np.inf], [9.0, 0.0, np.nan])
    np.testing.assert_array_equal(cols["step"], [0, 1, 2])
    np.testing.assert_array_equal(cols["w"], [-1.0, 2.0, np.nan])
    np.testing.assert_array_equal(cols["loss"], [9.0, 0.0, np.nan])


def test_view_follows_the_curve_not_the_path():
    curve = ColumnDataSource(loss_curve_columns(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5) ** 2))
    path = ColumnDataSource(descent_path_columns([0.5, -40.0], [0.25, 1600.0]))
    fig = descent_figure(curve, path)
    (curve_renderer,) = fig.x_range.renderers
    assert curve_renderer.data_source is curve and fig.y_range.start == 0
    assert len(fig.toolbar.tools) - 1 == len(TOOLS_WITHOUT_BOX_ZOOM.split(","))  # + the hover


def test_descent_training_figure_stacks_the_descent_above_the_run():
    ex = learning_rate(lrs=(0.2,), steps=4)
    result = ex.run(ex.default_config)
    sources = {k: ColumnDataSource(v) for k, v in result.data.items()}
    layout = descent_training_figure(
        sources["curve"], sources["path"], sources["loss"], sources["norms"], sources["diverged"]
    )
    descent, training = layout.children
    assert descent.title.text == "Gradient descent on L(w)"
    assert {r.data_source for r in descent.renderers} == {sources["curve"], sources["path"]}
    top, _ = training.children
    assert {r.data_source for r in top.renderers} >= {sources["loss"], sources["diverged"]}
    assert layout.sizing_mode == "stretch_width"
    assert plots.descent_training_figure is descent_training_figure


def test_exit_columns_mark_the_first_step_out_of_view_on_its_edge():
    from gradwidgets.plots.descent import descent_exit_columns

    cols = descent_exit_columns([-1.0, 4.0, -6.0, 30.0], [9.0, 4.0, 64.0, 900.0], view=(-1.5, 5.5, 12.6))
    assert cols["step"].tolist() == [2.0]  # w = -6 is left of the view
    assert cols["x"].tolist() == [-1.5] and cols["y"].tolist() == [12.6]  # pulled onto the corner
    assert cols["angle"][0] == pytest.approx(np.pi / 2) and cols["align"] == ["left"]  # points left
    assert cols["label"] == ["leaves at step 2; w = 30 at step 3"]
    cols = descent_exit_columns([-1.0, 4.0, np.inf], [9.0, 4.0, np.nan], view=(-1.5, 5.5, 12.6))
    assert cols["step"].tolist() == [2.0] and cols["label"] == ["leaves at step 2; then not finite"]
    assert descent_exit_columns([0.0, 1.0], [4.0, 1.0], view=(-1.5, 5.5, 12.6))["step"].size == 0
    assert plots.descent_exit_columns is descent_exit_columns
