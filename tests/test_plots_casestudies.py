"""gradwidgets.plots.casestudies: the gradient reaching each time step, and per-tensor histograms."""

import numpy as np
import pytest
import torch
from bokeh.models import ColumnDataSource

from gradwidgets.plots.casestudies import (
    plot_time_grads,
    plot_value_histograms,
    time_grad_columns,
    time_grad_figure,
    value_histogram_columns,
)


def test_time_grad_columns_mark_zero_and_nan():
    cols = time_grad_columns([1e-3, 0.0, np.nan, 1.0])
    assert list(cols["t"]) == [1, 2, 3, 4]
    assert np.isnan(cols["y"][1]) and np.isfinite(cols["y_zero"][1])
    assert np.isfinite(cols["y_bad"][2]) and np.isnan(cols["y"][2])


def test_time_grad_figure_takes_one_or_several_series():
    single = time_grad_figure(ColumnDataSource(time_grad_columns([1.0, 0.5])))
    several = plot_time_grads({"a": [1.0, 0.5], "b": [1.0, 0.1], "c": [1.0, 1.0]})
    assert "‖dL/dxₜ‖" in single.yaxis.axis_label
    labels = [item.label.value for item in several.legend[0].items]
    assert labels[:3] == ["a", "b", "c"]
    with pytest.raises(ValueError):
        plot_time_grads({str(i): [1.0] for i in range(5)})


def test_value_histograms_each_on_its_own_range():
    cols = value_histogram_columns(np.r_[np.linspace(-1e-9, 1e-9, 99), np.inf], bins=10)
    assert cols["count"].sum() == 99 and cols["left"][0] == pytest.approx(-1e-9)
    grid = plot_value_histograms({"small": torch.randn(50) * 1e-12, "large": torch.randn(50)}, bins=5)
    figs = [child[0] for child in grid.children]
    assert [f.title.text for f in figs] == ["small", "large"]
    assert value_histogram_columns([np.nan])["count"].size == 0
