"""One rule for the reported layers: profile, train, watch and diagnose agree on names, modules, weights."""

from __future__ import annotations

import copy
import pathlib

import numpy as np
import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.layers import is_probed, layer_kind, layer_weights, module_names, reported_layers


class _LSTMNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 8, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


class _TransformerNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x).mean(1))


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(64, 1),
    )


def _spectral() -> nn.Module:
    return nn.Sequential(nn.utils.parametrizations.spectral_norm(nn.Linear(2, 8)), nn.Tanh(), nn.Linear(8, 1))


CASES = {
    "build_mlp": (lambda: gw.build_mlp(4, width=8), (16, 2)),
    "sequential_mlp": (lambda: nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)), (16, 2)),
    "cnn": (_cnn, (16, 1, 6, 6)),
    "lstm": (_LSTMNet, (16, 5, 3)),
    "transformer": (_TransformerNet, (16, 4, 16)),
    "spectral_norm": (_spectral, (16, 2)),
}


def _case(name: str):
    make, shape = CASES[name]
    torch.manual_seed(0)
    model = make()
    X, y = torch.randn(*shape), torch.randn(shape[0], 1)
    return model, X, y


@pytest.mark.parametrize("name", list(CASES))
def test_profile_train_watch_and_diagnose_report_the_same_layers_and_weights(name):
    model, X, y = _case(name)
    rule = reported_layers(model)
    names = tuple(lr.name for lr in rule)
    assert names and all(lr.weights for lr in rule)

    profile = gw.gradient_profile(model, X, y)
    assert profile.layer_names == names
    assert [lr.module for lr in profile.layers] == [lr.module for lr in rule]
    assert [[id(w) for w in lr.weights] for lr in profile.layers] == [
        [id(w) for w in lr.weights] for lr in rule
    ]

    report = gw.diagnose(model, X, y)
    assert report.layer_names == names
    assert report.layer_types == tuple(type(lr.module).__name__ for lr in rule)

    with gw.Watch(model) as w:
        nn.functional.mse_loss(model(X), y).backward()
    watched = w.history()
    model.zero_grad(set_to_none=True)

    trained = gw.train(copy.deepcopy(model), X, y, steps=1, lr=1e-3)
    assert watched.layer_names == trained.layer_names == names
    # the same weights per layer, so the same norms at the first step: measured three ways
    np.testing.assert_allclose(trained.layer_grad_norm[0], profile.weight_grad_norm, rtol=1e-5)
    np.testing.assert_allclose(watched.layer_grad_norm[0], profile.weight_grad_norm, rtol=1e-5)
    assert np.isfinite(trained.update_ratio[0]).all()


def test_attention_is_one_layer_with_its_out_projection():
    model, _, _ = _case("transformer")
    rule = reported_layers(model)
    names = [lr.name for lr in rule]
    assert names[:3] == ["encoder.layers.0.self_attn", "encoder.layers.0.linear1", "encoder.layers.0.linear2"]
    assert not any(n.endswith("out_proj") for n in names)
    attn = model.encoder.layers[0].self_attn
    assert [w.shape for w in rule[0].weights] == [(48, 16), (16, 16)]
    assert rule[0].weights[1] is attn.out_proj.weight


def test_parametrized_weight_is_reported_by_what_receives_the_gradient():
    model, _, _ = _case("spectral_norm")
    first = reported_layers(model)[0]
    original = model[0].parametrizations.weight.original
    assert first.weights == (original,)
    assert layer_weights(model[0]) == [original]


def test_hidden_linears_win_over_the_type_rule():
    model = gw.build_mlp(3, width=8)
    rule = reported_layers(model)
    assert [lr.module for lr in rule] == model.hidden_linears
    assert "head" not in [lr.name for lr in rule]  # a Linear, but not a hidden layer


def test_frozen_layer_is_reported_by_all_three_and_flagged_frozen():
    model, X, y = _case("sequential_mlp")
    model[0].weight.requires_grad_(False)
    history = gw.train(copy.deepcopy(model), X, y, steps=1, lr=1e-3)
    assert history.layer_names == ("0", "2")
    assert np.isnan(history.layer_grad_norm[0, 0]) and history.layer_grad_norm[0, 1] > 0
    report = gw.diagnose(model, X, y)
    assert report.frozen == (True, False)


CORE = pathlib.Path(gw.__file__).parent / "core"


def test_the_rule_has_one_home():
    """The probed types, the weight lists and hidden_linears are defined and read in core/layers.py only."""
    for path in sorted(CORE.glob("*.py")):
        if path.name == "layers.py":
            continue
        text = path.read_text()
        rule = (
            "PROBED_TYPES =",
            "ATTENTION_TYPES =",
            "def layer_weights",
            '"hidden_linears"',
            "named_modules()",
        )
        for copy_of_rule in rule:
            assert copy_of_rule not in text, (path.name, copy_of_rule)


def test_module_names_are_those_of_named_modules_shared_modules_once():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.Tanh(), nn.Sequential(shared, nn.ReLU()), nn.Linear(4, 1))
    assert module_names(model) == {m: n for n, m in model.named_modules()}


class _TransposedLinear(nn.Module):
    """As Hugging Face's Conv1D: a linear layer with its weight stored (in, out)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * n_in**-0.5)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(*x.shape[:-1], -1)


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.up = _TransposedLinear(8, 16)
        self.scale = nn.Parameter(torch.ones(8, 8))  # a parent's own matrix, used in its forward
        self.norm = nn.LayerNorm(16)
        self.down = nn.ConvTranspose1d(16, 4, 1)

    def forward(self, tokens):
        h = self.embed(tokens) @ self.scale
        h = torch.relu(self.norm(self.up(h)))
        return self.down(h.transpose(1, 2)).mean(dim=(1, 2))


def test_every_module_owning_a_matrix_is_reported_with_its_kind():
    model = _Block()
    layers = {lr.name: lr for lr in reported_layers(model)}
    assert set(layers) == {"", "embed", "up", "down"}  # not the LayerNorm: its weight is 1-D
    assert [layers[n].kind for n in ("", "embed", "up", "down")] == ["linear", "embedding", "linear", "conv"]
    assert layers[""].weights == (model.scale,) and layers["up"].weights == (model.up.weight,)
    assert layer_kind(nn.LSTM(2, 2)) == "recurrent" and layer_kind(nn.MultiheadAttention(4, 2)) == "attention"
    assert not is_probed(nn.LayerNorm(4)) and not is_probed(nn.PReLU(3)) and is_probed(nn.Bilinear(2, 2, 2))


def test_a_profile_of_custom_layers_matches_autograd():
    model = _Block()
    tokens = torch.randint(0, 10, (6, 5), generator=torch.Generator().manual_seed(0))
    y = torch.randn(6)
    profile = gw.gradient_profile(model, tokens, y)
    assert set(profile.layer_names) == {"", "embed", "up", "down"}
    loss = nn.functional.mse_loss(model(tokens), y)
    for name, g in zip(profile.layer_names, profile.weight_grad_norm, strict=True):
        weights = next(lr.weights for lr in profile.layers if lr.name == name)
        grads = torch.autograd.grad(loss, weights, retain_graph=True)
        want = float(torch.sqrt(sum(gr.double().pow(2).sum() for gr in grads)))
        assert g == pytest.approx(want, rel=1e-6)
