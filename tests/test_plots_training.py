"""gradwidgets.plots.training: loss and gradient norms against the step, and where a run diverged."""

import numpy as np
from bokeh.models import ColumnDataSource, LabelSet, LogScale
from test_plots import _check_columns, _glyph_renderers, _plots

from gradwidgets import plots


def test_training_columns_equal_the_history(history):
    loss, norms, div = plots.training_columns(history)
    for cols in (loss, norms, div):
        _check_columns(cols)
    np.testing.assert_array_equal(loss["loss"], history.loss)
    np.testing.assert_array_equal(loss["step"], np.arange(len(history.loss)))
    np.testing.assert_array_equal(norms["rec_step"], history.steps)
    np.testing.assert_array_equal(norms["norm_before"], history.total_norm_before)
    np.testing.assert_array_equal(norms["norm_after"], history.total_norm_after)
    assert (norms["norm_after"] <= 0.05 + 1e-6).all() and (norms["norm_before"] > 0.05).any()  # clipping
    assert history.diverged_at is None and len(div["step"]) == 0


def test_diverging_run_marks_the_step(diverged):
    assert diverged.diverged_at is not None
    div = plots.divergence_columns(diverged)
    np.testing.assert_array_equal(div["step"], [diverged.diverged_at])
    assert str(diverged.diverged_at) in div["label"][0]
    loss = plots.loss_columns(diverged)
    bad = ~np.isfinite(diverged.loss)
    assert bad.any() and np.isnan(loss["y"][bad]).all()


def test_training_figure(diverged):
    sources = [ColumnDataSource(c) for c in plots.training_columns(diverged)]
    layout = plots.training_figure(*sources)
    top, bottom = _plots(layout)
    assert top.x_range is bottom.x_range
    assert isinstance(top.y_scale, LogScale) and isinstance(bottom.y_scale, LogScale)
    assert all(f.sizing_mode == "stretch_width" for f in (top, bottom))
    ids = {id(s) for s in sources}
    assert all(id(r.data_source) in ids for r in _glyph_renderers(layout))
    for fig in (top, bottom):  # the divergence line and its label are data, not model properties
        assert any(r.data_source is sources[2] and r.glyph.x == "step" for r in fig.renderers)
        assert any(isinstance(a, LabelSet) and a.source is sources[2] for a in fig.center)


def _legend_labels(fig):
    return [item.label.value for legend in fig.legend for item in legend.items]


def test_without_clipping_only_the_total_norm_is_drawn_and_listed(diverged):
    sources = [ColumnDataSource(c) for c in plots.training_columns(diverged)]
    _, clipped = _plots(plots.training_figure(*sources))
    _, plain = _plots(plots.training_figure(*sources, clipping=False))
    assert _legend_labels(clipped) == ["before clipping", "after clipping"]  # the axis says what
    assert _legend_labels(plain) == ["total gradient norm"]
    fields = {getattr(r.glyph, "y", None) for r in plain.renderers}
    assert "y_before" in fields and "y_after" not in fields
