"""gradwidgets.core.report_html: a Report as an HTML table, every text escaped."""

import dataclasses
import re

import numpy as np

import gradwidgets as gw
from gradwidgets.core.report import Remedy, Report
from gradwidgets.core.report_html import report_html


def _report(flags, frozen, remedies=()):
    n = len(flags)
    profile = gw.GradientProfile(
        layer_names=("in<put>", *(f"l{i}" for i in range(1, n))),
        activations=("tanh",) * n,
        weight_grad_norm=np.full(n, 1e-9),
        weight_norm=np.ones(n),
        grad_to_weight=np.full(n, 1e-9),
        act_grad_norm=np.ones(n),
        act_mean=np.zeros(n),
        act_std=np.ones(n),
        saturation=np.full(n, 0.25),
        dead_fraction=np.zeros(n),
        loss=0.5,
    )
    thresholds = (("vanishing", "|dL/dW| < 1e-06"), ("dead", "> 50% & more"))
    return Report(profile, ("Linear",) * n, tuple(flags), tuple(frozen), thresholds, tuple(remedies))


def test_flagged_rows_are_shaded_and_every_text_is_escaped():
    remedy = Remedy("vanishing", ("in<put>",), "use <b>ReLU</b>", ("vanishing", "init"))
    report = _report([("vanishing",), (), ()], [False, True, False], [remedy])
    page = report_html(report, {"vanishing": "Vanishing & exploding", "init": "Init"}, "guide.html?a=1&b=2")
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page[page.index("<tbody>") :])
    assert [row.startswith('<tr style="background:#fde0dd">') for row in rows] == [True, False, False]
    assert all(row.count("<td>") == len(Report._HEADER) + 1 for row in rows)
    assert "<td>in&lt;put&gt;</td>" in rows[0] and "<td>25%</td>" in rows[0]
    assert "<td><b>vanishing</b></td>" in rows[0] and "<td><b> <i>(frozen)</i></b></td>" in rows[1]
    assert "<li><b>dead</b>: &gt; 50% &amp; more</li>" in page
    assert "use &lt;b&gt;ReLU&lt;/b&gt;" in page and "<b>ReLU</b>" not in page
    links = '<a href="vanishing-exploding.html">Vanishing &amp; exploding</a>, <a href="initialization.html">'
    assert links in page
    assert page.endswith('<a href="guide.html?a=1&amp;b=2">How to read this report</a></p></div>')
    assert "<b>model: loss mse = 0.5, 3 layers; vanishing (1)</b>" in page


def test_a_report_without_remedies_has_no_remedies_section():
    report = _report([(), ()], [False, False])
    page = report_html(report, {}, "guide.html")
    assert "Remedies:" not in page and "background:" not in page
    assert "<b>model: loss mse = 0.5, 2 layers; no flags</b>" in page
    flagged = dataclasses.replace(report, flags=((), ("dead",)))
    assert report_html(flagged, {}, "guide.html").count('style="background:#fde0dd"') == 1
