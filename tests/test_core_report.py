"""gradwidgets.core.report: a diagnosis as text, HTML and JSON, with links into the book."""

import json

import torch
from torch import nn

from gradwidgets.core import report as rp
from gradwidgets.core import thresholds as th
from gradwidgets.core.diagnosis import diagnose


def test_report_text_html_and_dict(spirals, monkeypatch):
    model = nn.Sequential()
    model.add_module("in<b>&", nn.Linear(2, 8))
    model.add_module("act", nn.Sigmoid())
    model.add_module("out", nn.Linear(8, 2))
    with torch.no_grad():
        model.out.weight.mul_(1e-9)  # the gradient reaching the first layer vanishes
    report = diagnose(model, spirals.X, spirals.y)
    text = repr(report)
    assert text.startswith("Report(Sequential: loss cross_entropy = ")
    assert "vanishing" in text and "|dL/dW|" in text and "in<b>&" in text
    assert f"< {th.VANISHING_RELATIVE:g} x the largest" in text and f"> {th.DEAD_FRACTION:.0%}" in text
    assert "see: activations.html" in text and str(report) == text
    page = report._repr_html_()
    assert "<table" in page and "in&lt;b&gt;&amp;" in page and "in<b>&" not in page
    assert 'style="background:' in page and '<a href="activations.html">' in page
    # the table carries its own compact style, so it reads the same in any notebook or page
    assert page.startswith('<div class="gw-report"><style>.gw-report table{') and "nowrap" in page
    monkeypatch.setattr(rp, "BOOK_URL", "https://example.org/book/")
    assert report.remedies[0].links[0] == "https://example.org/book/activations.html"
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["layers"][0]["flags"] == ["vanishing"] and data["layers"][0]["saturation"] == 0.0
    assert data["layers"][1]["saturation"] is None  # no activation after the output layer: NaN -> null
    assert data["remedies"][0]["links"][0].startswith("https://example.org/book/")
    assert set(data["thresholds"]) == set(th.FLAGS)
