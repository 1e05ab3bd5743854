"""gradwidgets.plots.axes: log ticks every decade (or every few), short linear labels, stacks that line up.

The tick and label code is JavaScript that BokehJS runs; these tests run it in Chromium the way
BokehJS does (``new Function`` with the same argument names) and read what it returns.
"""

import math

import numpy as np
import pytest
from _browser import browser_page
from bokeh.models import ColumnDataSource, CustomJSTicker, CustomJSTickFormatter, NumeralTickFormatter

import gradwidgets as gw
from gradwidgets import plots
from gradwidgets.plots.axes import BORDER_LEFT, log_formatter, log_ticker, short_formatter, stack

TICKS_JS = """([code, args, start, end]) => {
  const f = new Function("cb_data", ...Object.keys(args), code);
  return f({start, end}, ...Object.values(args));
}"""
LABELS_JS = """([code, ticks]) => {
  const cache = {};  // BokehJS binds one object per formatting of an axis
  const g = new Function("tick", "index", "ticks", code).bind(cache);
  return ticks.map((t, i) => String(g(t, i, ticks)));
}"""


@pytest.fixture(scope="module")
def page():
    with browser_page() as bp:
        yield bp.page


def _ticks(page, ticker: CustomJSTicker, start: float, end: float) -> list[float]:
    return page.evaluate(TICKS_JS, [ticker.major_code, ticker.args, start, end])


def _labels(page, formatter: CustomJSTickFormatter, ticks) -> list[str]:
    return page.evaluate(LABELS_JS, [formatter.code, [float(t) for t in ticks]])


def test_a_tall_log_axis_labels_every_decade_from_1e_minus_13_to_1e11(page):
    ticks = _ticks(page, log_ticker(height=700), 1e-13, 1e11)
    assert np.allclose(np.log10(ticks), np.arange(-13, 12))  # one label per decade, all 25
    labels = _labels(page, log_formatter(), ticks)
    assert labels[0] == "10⁻¹³" and labels[13] == "10⁰" and labels[-1] == "10¹¹"
    assert len(set(labels)) == len(labels)


def test_a_short_log_axis_labels_evenly_spaced_decades_and_ticks_the_rest(page):
    ticker = log_ticker(height=320)
    ticks = _ticks(page, ticker, 1e-13, 1e11)
    exps = np.log10(ticks)
    assert np.allclose(exps, np.round(exps))  # powers of ten only
    steps = np.diff(np.round(exps))
    assert len(set(steps)) == 1 and steps[0] <= 3  # every decade or every 2nd or 3rd, evenly
    assert all(e % steps[0] == 0 for e in np.round(exps))  # at multiples: 10⁻¹², 10⁻⁹, ..., 10⁹
    assert 6 <= len(ticks) <= ticker.args["max_labels"]
    minor = page.evaluate(TICKS_JS, [ticker.minor_code, ticker.args, 1e-13, 1e11])
    assert sorted(np.round(np.log10(minor + ticks))) == list(range(-13, 12))  # the rest are minor


def test_a_loss_axis_under_two_decades_gets_1_2_5_labels(page):
    """Bokeh's own ticker gave two labels (0.1 and 1) for a loss falling from 0.7 to 0.05."""
    ticks = _ticks(page, log_ticker(height=250), 0.05, 0.7)
    assert ticks == [0.05, 0.1, 0.2, 0.5]
    assert _labels(page, log_formatter(), ticks) == ["0.05", "0.1", "0.2", "0.5"]
    assert len(_ticks(page, log_ticker(height=250), 3.0, 9.0)) >= 4  # under 0.7 decade: 3, 4, ..., 9
    assert _labels(page, log_formatter(), [2e-6, 1e-5, 5e-5]) == ["2×10⁻⁶", "10⁻⁵", "5×10⁻⁵"]
    flat = _ticks(page, log_ticker(height=250), 0.685, 0.755)  # a loss stuck near ln 2
    assert len(flat) >= 3 and all(0.685 <= t <= 0.755 for t in flat)
    assert len(set(_labels(page, log_formatter(), flat))) == len(flat)


def test_short_labels_stay_short_and_distinct(page):
    f = short_formatter()
    assert _labels(page, f, [2.5e21, 5e21, 7.5e21]) == ["2.5e21", "5e21", "7.5e21"]
    assert _labels(page, f, [0, 0.5, 1, 1.5]) == ["0", "0.5", "1", "1.5"]
    assert _labels(page, f, [-1e-17 * 0.5, 2, 4]) == ["0", "2", "4"]  # rounding noise is 0
    close = _labels(page, f, [1.0001, 1.0002, 1.0003])
    assert close == ["1.0001", "1.0002", "1.0003"]
    assert max(len(s) for s in _labels(page, f, [1e-5, 2e-5, 3e-5])) <= 4  # "1e-5", not "1.000e-05"


def test_style_puts_the_ticks_on_every_log_axis_and_keeps_chosen_formatters(clipped_history):
    loss, norms, div = (ColumnDataSource(c) for c in plots.training_columns(clipped_history))
    layout = plots.training_figure(loss, norms, div)
    for fig in layout.children:
        assert isinstance(fig.yaxis[0].ticker, CustomJSTicker)
        assert fig.yaxis[0].formatter.code == log_formatter().code
        assert fig.xaxis[0].formatter.code == short_formatter().code
    acts = plots.activation_distribution_figure(ColumnDataSource({}))
    assert isinstance(acts.children[1].yaxis[0].formatter, NumeralTickFormatter)  # 0%..100% stays


def test_stacked_figures_share_one_x_range_and_line_up(clipped_history):
    loss, norms, div = (ColumnDataSource(c) for c in plots.training_columns(clipped_history))
    heat = ColumnDataSource(plots.gradient_heatmap_columns(clipped_history))
    layout = stack(plots.training_figure(loss, norms, div), plots.gradient_heatmap_figure(heat))
    figs = [layout.children[0].children[0], layout.children[0].children[1], layout.children[1]]
    assert len({id(f.x_range) for f in figs}) == 1
    assert {f.min_border_left for f in figs} == {BORDER_LEFT}
    assert not any(f.right for f in figs)  # nothing on the right narrows one frame
    apart = stack(plots.gradient_heatmap_figure(heat), plots.gradient_heatmap_figure(heat), share_x=False)
    assert apart.children[0].x_range is not apart.children[1].x_range


def test_border_left_has_room_for_the_widest_labels():
    """10⁻²⁰ or 2.5e21 at 12 px, the axis label at 13 px and the ticks: about 70 px."""
    assert BORDER_LEFT >= 70 and math.isclose(log_ticker(320).args["max_labels"], (320 - 70) // 22)


@pytest.fixture(scope="module")
def clipped_history():
    d = gw.make_dataset("spirals", 64)
    return gw.train(gw.build_mlp(4), d.X, d.y.float(), steps=12, lr=0.1, clip_norm=0.05)
