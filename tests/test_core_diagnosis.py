"""diagnose() on foreign models against torch.autograd.grad, its flags, and the state it leaves."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

import gradwidgets as gw
from gradwidgets.core import thresholds as th
from gradwidgets.core.diagnosis import diagnose
from gradwidgets.core.layers import layer_weights


def _norms(grads, groups):
    """Per-layer norm of groups of gradients (a layer may own several weight tensors)."""
    it = iter(grads)
    return [float(torch.sqrt(sum(next(it).double().norm() ** 2 for _ in range(k)))) for k in groups]


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lstm = nn.LSTM(3, 8, num_layers=2, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def test_lstm_matches_autograd():
    model = LSTMNet()
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(16, 5, 3, generator=g), torch.randn(16, 1, generator=g)
    report = diagnose(model, X, y)
    assert report.layer_names == ("lstm", "head")
    assert report.layer_types == ("LSTM", "Linear")
    assert report.loss_name == "mse"
    out, _ = model.lstm(X)
    loss = F.mse_loss(model.head(out[:, -1]), y)
    ws = [*layer_weights(model.lstm), model.head.weight]
    assert len(ws) == 5  # weight_ih/hh of two LSTM layers, and the head
    grads = torch.autograd.grad(loss, [*ws, out])
    np.testing.assert_allclose(report.profile.weight_grad_norm, _norms(grads[:5], [4, 1]), rtol=1e-5)
    np.testing.assert_allclose(report.profile.act_grad_norm[0], float(grads[5].norm()), rtol=1e-5)
    assert report.profile.loss == pytest.approx(float(loss.detach()))


def _transformer():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.1, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    return nn.Sequential(enc, nn.Flatten(), nn.Linear(6 * 16, 1))


def test_transformer_covers_attention_and_matches_autograd():
    model = _transformer()  # in training mode: dropout is active
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(8, 6, 16, generator=g), torch.randn(8, 1, generator=g)
    rng = torch.get_rng_state()
    report = diagnose(model, X, y)
    assert torch.equal(torch.get_rng_state(), rng)  # dropout drew from a copy of the random state
    names = [f"0.layers.{i}.{m}" for i in range(2) for m in ("self_attn", "linear1", "linear2")]
    assert report.layer_names == (*names, "2")
    assert report.layer_types[0] == "MultiheadAttention"
    # The reference: the same forward, same dropout masks (same random state), and autograd.
    # No activation follows attention, so its row describes its output after dropout1.
    attn_out = []
    hooks = [m.dropout1.register_forward_hook(lambda m, a, o: attn_out.append(o)) for m in model[0].layers]
    loss = F.mse_loss(model(X), y)
    for h in hooks:
        h.remove()
    mods = [model[0].get_submodule(n[2:]) for n in names] + [model[2]]
    ws = [w for m in mods for w in layer_weights(m)]
    groups = [len(layer_weights(m)) for m in mods]
    assert groups[0] == 2  # in_proj_weight and out_proj.weight: the hooks on out_proj never fire
    grads = torch.autograd.grad(loss, ws + attn_out)
    np.testing.assert_allclose(report.profile.weight_grad_norm, _norms(grads[: len(ws)], groups), rtol=1e-5)
    attn_grad = [float(g.norm()) for g in grads[len(ws) :]]
    np.testing.assert_allclose(report.profile.act_grad_norm[[0, 3]], attn_grad, rtol=1e-5)


def test_attention_with_separate_key_and_value_sizes():
    attn = nn.MultiheadAttention(8, 2, kdim=4, vdim=4)
    assert [w.shape for w in layer_weights(attn)] == [(8, 8), (8, 4), (8, 4), (8, 8)]


class ResBlock(nn.Module):
    """torchvision's BasicBlock pattern: in-place ReLU and an in-place skip addition."""

    def __init__(self, inplace):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.c2, self.b2 = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.relu, self.inplace = nn.ReLU(inplace=inplace), inplace

    def forward(self, x):
        out = self.b2(self.c2(self.relu(self.b1(self.c1(x)))))
        if self.inplace:
            out += x
        else:
            out = out + x
        return self.relu(out)


def _convnet(inplace):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(inplace=inplace),
        ResBlock(inplace),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    )


def test_conv_stack_with_inplace_ops_matches_autograd():
    model = _convnet(inplace=True)
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(16, 1, 8, 8, generator=g), torch.arange(16) % 3
    report = diagnose(model, X, y)
    assert report.loss_name == "cross_entropy"
    assert report.layer_names == ("0", "2.c1", "2.c2", "5")
    assert report.profile.activations == ("relu", "relu", "?", "?")  # c2 feeds the skip sum, not a ReLU
    # The reference, written without any in-place operation
    blk = model[2]
    h0 = F.relu(model[0](X))
    h1 = F.relu(blk.b1(blk.c1(h0)))
    z2 = blk.b2(blk.c2(h1))  # the output of c2's block before the skip: what its row describes
    h5 = model[5](F.max_pool2d(F.relu(z2 + h0), 2).flatten(1))
    loss = F.cross_entropy(h5, y)
    convs = [model[0], blk.c1, blk.c2, model[5]]
    hs = [h0, h1, z2, h5]
    grads = torch.autograd.grad(loss, [m.weight for m in convs] + hs)
    np.testing.assert_allclose(
        report.profile.weight_grad_norm, [float(g.norm()) for g in grads[:4]], rtol=1e-5
    )
    np.testing.assert_allclose(report.profile.act_grad_norm, [float(g.norm()) for g in grads[4:]], rtol=1e-5)
    means = [float(h.detach().mean()) for h in hs]
    np.testing.assert_allclose(report.profile.act_mean, means, rtol=1e-5, atol=1e-7)
    dead = [float((h == 0).all(0).all(-1).all(-1).float().mean()) for h in (h0, h1)]
    np.testing.assert_allclose(report.profile.dead_fraction[:2], dead)
    # and the same numbers, bit for bit, as the same network without in-place operations
    plain = diagnose(_convnet(inplace=False), X, y)
    for field in ("weight_grad_norm", "act_grad_norm", "act_mean", "act_std", "saturation", "dead_fraction"):
        np.testing.assert_array_equal(getattr(plain.profile, field), getattr(report.profile, field), field)


def test_deep_sigmoid_is_flagged_vanishing_at_the_first_layers(spirals):
    report = diagnose(gw.build_mlp(30, activation="sigmoid"), spirals.X, spirals.y.float())
    vanishing = report.flagged("vanishing")
    names = [f"blocks.{i}.linear" for i in range(30)]
    assert vanishing == tuple(names[: len(vanishing)])  # a prefix: the first layers ...
    assert 10 <= len(vanishing) <= 25  # ... and not the last ones
    assert not report.flagged("exploding")  # the healthy last layers are not "exploding"
    (remedy,) = report.remedies
    assert remedy.flag == "vanishing" and "sigmoid" in remedy.advice
    assert "activations.html" in remedy.links and "normalization-skips.html" in remedy.links


@pytest.mark.parametrize(
    "cfg", [dict(init="kaiming_normal"), dict(norm="batch")], ids=["kaiming", "batchnorm"]
)
def test_healthy_relu_network_is_not_flagged(spirals, cfg):
    report = diagnose(gw.build_mlp(6, activation="relu", **cfg), spirals.X, spirals.y.float())
    assert report.healthy and not any(report.flags) and not report.remedies
    assert report.profile.saturation.max() > 0.4  # ReLU's flat half is not "saturated"


def test_large_tanh_init_is_exploding_early_and_saturated_not_vanishing_late(spirals):
    model = gw.build_mlp(20, activation="tanh", init="normal", init_scale=1.0)
    report = diagnose(model, spirals.X, spirals.y.float())
    exploding = report.flagged("exploding")
    assert exploding[0] == "blocks.0.linear" and "blocks.19.linear" not in exploding
    assert not report.flagged("vanishing")  # the last layers are small next to the first, not vanishing
    assert len(report.flagged("saturated")) >= 15
    assert {r.flag for r in report.remedies} == {"exploding", "saturated"}


def test_dead_units_are_flagged_on_that_layer_only(spirals):
    model = gw.build_mlp(3, activation="relu", init="kaiming_normal")
    with torch.no_grad():
        model.hidden_linears[1].bias[:40] = -100.0
    report = diagnose(model, spirals.X, spirals.y.float())
    assert report.flagged("dead") == ("blocks.1.linear",)
    assert "LeakyReLU" in report.remedies[0].advice


def test_thresholds_match_the_plots_zones():
    plots = pytest.importorskip("gradwidgets.plots")
    assert plots.VANISHING_BELOW is th.VANISHING_ABSOLUTE
    assert plots.EXPLODING_ABOVE is th.EXPLODING_ABSOLUTE


def _assert_untouched(model, before, grads, modes):
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    for p, g in zip(model.parameters(), grads, strict=True):
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)
    assert [m.training for m in model.modules()] == modes


@pytest.mark.parametrize("train_mode", [True, False], ids=["train", "eval"])
def test_diagnose_leaves_params_grads_buffers_and_mode_untouched(spirals, train_mode):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 16), nn.Tanh()
    )
    model.add_module("head", nn.Linear(16, 2))
    model.train(train_mode)
    model[1].eval()  # a mixed state: it must come back exactly so
    F.cross_entropy(model(spirals.X), spirals.y).backward()
    model[0].weight.grad = None  # and a parameter without a gradient
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    rng = torch.get_rng_state()
    first = diagnose(model, spirals.X, spirals.y)
    _assert_untouched(model, before, grads, modes)
    assert torch.equal(torch.get_rng_state(), rng)
    second = diagnose(model, spirals.X, spirals.y)  # same random state: same dropout masks
    assert np.array_equal(first.profile.weight_grad_norm, second.profile.weight_grad_norm)
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_batch_norm_buffers_untouched_in_train_mode(spirals):
    model = gw.build_mlp(4, norm="batch")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    diagnose(model, spirals.X, spirals.y.float())
    _assert_untouched(
        model, before, [None] * len(list(model.parameters())), [True] * len(list(model.modules()))
    )


def test_nan_model_gives_a_non_finite_report(regression):
    model = gw.build_mlp(4, in_features=1)
    with torch.no_grad():
        model.hidden_linears[2].weight[0, 0] = float("nan")
    report = diagnose(model, regression.X, regression.y)
    assert not report.finite and not report.healthy
    assert report.flagged("non-finite") == report.layer_names
    (remedy,) = report.remedies
    assert remedy.advice.startswith("'blocks.2.linear.weight' of 'blocks.2.linear' (Linear) holds NaN")
    assert "reload a checkpoint" in remedy.advice and remedy.advice in report.notes[-1]
    json.dumps(report.to_dict(), allow_nan=False)  # NaN becomes null: strict JSON


def test_nan_in_the_data_is_named(regression):
    X = regression.X.clone()
    X[3, 0] = float("inf")
    report = diagnose(gw.build_mlp(2, in_features=1), X, regression.y)
    assert report.remedies[-1].advice.startswith("X holds inf values before the model even runs.")


def test_nan_from_an_overflow_names_the_module_where_it_began(regression):
    model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 8), nn.Linear(8, 1))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[0].bias.fill_(1.0)  # every tanh output above 0.76 for X >= 0
        model[2].weight.fill_(1e38)  # finite weights: 8 of them times those overflow float32
    report = diagnose(model, regression.X.abs(), regression.y)
    assert not report.finite
    assert "first appeared in the output of '2' (Linear), from finite inputs and weights" in report.notes[-1]


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (nn.Tanh(), r"model \(Tanh\) has no parameters"),
        (nn.Linear(1, 1).requires_grad_(False), r"model \(Linear\) has no parameter with requires_grad=True"),
        ("not a model", r"model must be a torch.nn.Module, got str"),
    ],
)
def test_bad_model(model, match, regression):
    with pytest.raises(ValueError, match=match):
        diagnose(model, regression.X, regression.y)


def test_bad_loss(regression):
    model = gw.build_mlp(2, in_features=1)
    with pytest.raises(ValueError, match=r"loss must return a scalar tensor; got \(128, 1\)"):
        diagnose(model, regression.X, regression.y, loss=lambda o, y: o - y)
    with pytest.raises(ValueError, match=r"loss='hinge' is not supported; allowed: 'mse', 'cross_entropy'"):
        diagnose(model, regression.X, regression.y, loss="hinge")


def test_bad_x(regression):
    model = gw.build_mlp(2, in_features=1)
    with pytest.raises(ValueError, match=r"X is on meta but the model's parameters are on cpu"):
        diagnose(model, regression.X.to("meta"), regression.y)
    conv = _convnet(inplace=True)
    with pytest.raises(ValueError, match=r"X of shape \(16, 8\) does not fit the model: .*conv2d"):
        diagnose(conv, torch.randn(16, 8), torch.arange(16) % 3)
    with pytest.raises(ValueError, match=r"X of shape \(8, 6, 8\) does not fit.*embedding dimension of 16"):
        diagnose(_transformer(), torch.randn(8, 6, 8), torch.randn(8, 1))
    with pytest.raises(ValueError, match=r"X of shape \(16, 5, 2\) does not fit.*input_size"):
        diagnose(LSTMNet(), torch.randn(16, 5, 2), torch.randn(16, 1))


def test_default_loss(spirals):
    two = gw.build_mlp(2, out_features=2)
    assert diagnose(two, spirals.X, spirals.y).loss_name == "cross_entropy"
    assert diagnose(two, spirals.X, F.one_hot(spirals.y).float()).loss_name == "mse"
    assert diagnose(gw.build_mlp(2), spirals.X, spirals.y).loss_name == "mse"  # labels, one output
    named = diagnose(two, spirals.X, spirals.y, loss=F.cross_entropy)
    assert named.loss_name == "cross_entropy" and named.profile.loss == pytest.approx(
        diagnose(two, spirals.X, spirals.y).profile.loss
    )


def test_report_plot(spirals):
    pytest.importorskip("gradwidgets.plots")
    report = diagnose(gw.build_mlp(3), spirals.X, spirals.y.float())
    fig = gw.plots.plot_gradient_norms(report.profile)
    assert type(fig).__name__ == "figure"


def test_parametrized_weight_is_reported_through_its_original(spirals):
    torch.manual_seed(0)
    model = nn.Sequential(spectral_norm(nn.Linear(2, 8)), nn.Tanh(), nn.Linear(8, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = diagnose(model, spirals.X, spirals.y)
    for k, v in model.state_dict().items():  # the power iteration updates buffers: restored
        assert torch.equal(v, before[k]), k
    assert report.layer_names == ("0", "2")
    loss = F.cross_entropy(model(spirals.X), spirals.y)
    assert not torch.equal(
        model.state_dict()["0.parametrizations.weight.0._u"], before["0.parametrizations.weight.0._u"]
    )
    grads = torch.autograd.grad(loss, [model[0].parametrizations.weight.original, model[2].weight])
    np.testing.assert_allclose(report.profile.weight_grad_norm, [float(g.norm()) for g in grads], rtol=1e-5)


def test_vanishing_through_time_in_a_vanilla_rnn_points_to_gated_cells():
    torch.manual_seed(0)
    X, y = torch.randn(16, 40, 2), torch.randn(16, 1)
    report = diagnose(gw.build_rnn(spectral_radius=0.5), X, y)
    assert report.flagged("vanishing") == ("cell",)  # through time: the cell's own weights look fine
    (remedy,) = report.remedies
    assert "first of 40 time steps" in remedy.advice and "nn.LSTM or nn.GRU" in remedy.advice
    assert "sigmoid" not in remedy.advice  # the recurrence, not the activation choice, is the cause
    assert remedy.chapters == ("vanishing", "init")
    assert diagnose(gw.build_rnn(spectral_radius=0.5), X[:, -4:], y).healthy  # a short sequence


def test_loss_fn_is_the_deprecated_name_of_loss(regression):
    model = gw.build_mlp(2, in_features=1)
    with pytest.warns(DeprecationWarning, match=r"^loss_fn= is renamed loss=; loss_fn= will be removed$"):
        old = diagnose(model, regression.X, regression.y, loss_fn="mse")
    assert (
        old.loss_name == "mse"
        and old.profile.loss == diagnose(model, regression.X, regression.y).profile.loss
    )
    with pytest.raises(ValueError, match=r"^loss_fn= is the former name of loss=; pass only loss=$"):
        diagnose(model, regression.X, regression.y, loss="mse", loss_fn="mse")
