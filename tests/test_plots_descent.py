"""gradwidgets.plots.descent: the descent on a one-weight loss, alone and above its training curves."""

import numpy as np
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
