"""Coverage: the share of trainable parameters the reported layers hold, and what they leave out."""

import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.coverage import Coverage, coverage
from gradwidgets.core.layers import reported_layers


class _Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 8)
        self.gate = nn.Parameter(torch.ones(8))  # a vector of its own: not a layer
        self.norm = nn.LayerNorm(8)
        self.unused = nn.Linear(8, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        return self.out(self.norm(self.fc(x) * self.gate))


def test_coverage_counts_each_trainable_parameter_once_and_names_what_is_left_out():
    model = _Gated()
    profile = gw.gradient_profile(model, torch.randn(5, 4), torch.randn(5, 1))
    cov = profile.coverage
    total = sum(p.numel() for p in model.parameters())
    assert cov.total == total and cov.layers == 2
    assert cov.reported == 4 * 8 + 8 + 8 + 1 and total == 49 + 72 + 16 + 8  # fc and out: weights, biases
    assert [(k, n, p) for k, n, p, _ in cov.missing] == [
        ("Linear", 1, 72),
        ("LayerNorm", 1, 16),
        ("_Gated", 1, 8),
    ]
    assert cov.not_run == ("unused",)
    text = str(cov)
    assert text.startswith("reported 2 layers holding 33.8% of trainable parameters; not reported: ")
    assert "did not run in this pass: 1 layers (unused)" in text


def test_frozen_and_tied_parameters_and_chosen_layers():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10))
    model[1].weight = model[0].weight  # tied, as a language model's head and embedding
    cov = coverage(model, tuple(reported_layers(model)))
    assert cov.total == 10 * 4 + 10 and cov.reported == cov.total and cov.fraction == 1.0
    model[0].requires_grad_(False)
    assert coverage(model, tuple(reported_layers(model))).total == 10  # frozen parameters do not count
    chosen = coverage(model, tuple(reported_layers(model)[:1]), chosen=True)
    assert chosen.not_run == () and str(chosen).startswith("reported 1 layers holding 0% ")


def test_a_share_is_never_rounded_to_all_or_nothing():
    assert "holding >99.9%" in str(Coverage(3, 99_999, 100_000))
    assert "holding <0.1%" in str(Coverage(1, 1, 100_000))
    assert "holding 100%" in str(Coverage(1, 5, 5))
