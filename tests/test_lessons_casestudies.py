"""gradwidgets.lessons.casestudies: models from outside the course (a CNN, sequence models).

Their figures are tested in test_plots_casestudies.py, their explorers in test_explorers_casestudies.py.
"""

import numpy as np
import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.lessons.casestudies import (
    build_cnn,
    build_sequence_model,
    input_grad_norms,
    random_images,
    set_gate_bias,
)


def test_random_images_are_seeded():
    a, b = random_images(16, seed=3), random_images(16, seed=3)
    assert a.X.shape == (16, 1, 16, 16) and a.y.shape == (16,)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
    assert set(a.y.tolist()) <= {0, 1} and a.loss == "cross_entropy"


def test_build_cnn_layout_and_norm():
    net = build_cnn(4, channels=3, activation="tanh", norm="batch", num_classes=5)
    kinds = [type(m).__name__ for m in net]
    assert kinds[:3] == ["Conv2d", "BatchNorm2d", "Tanh"]
    assert kinds.count("Conv2d") == 4 and kinds[-3:] == ["AdaptiveAvgPool2d", "Flatten", "Linear"]
    assert net(torch.zeros(2, 1, 16, 16)).shape == (2, 5)


def test_build_cnn_init_variance_and_zero_bias():
    """He init on 3x3 convolutions with 16 input channels: Var(W) = 2 / (16 * 9)."""
    net = build_cnn(3, channels=16, activation="relu", init="kaiming_normal")
    conv = [m for m in net if isinstance(m, nn.Conv2d)][1]
    assert float(conv.weight.detach().var()) == pytest.approx(2 / (16 * 9), rel=0.1)
    assert torch.count_nonzero(conv.bias) == 0


def test_build_cnn_default_matches_plain_pytorch_and_keeps_the_global_rng():
    state = torch.get_rng_state()
    net = build_cnn(3, channels=4)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(0)
    plain = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.Sigmoid(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.Sigmoid(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.Sigmoid(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    )
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), plain.parameters(), strict=True))


@pytest.mark.parametrize(
    "kwargs", [dict(num_layers=0), dict(norm="layer"), dict(activation="swish"), dict(init="he")]
)
def test_build_cnn_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        build_cnn(**kwargs)


def test_build_sequence_model_cells_and_gate_bias():
    for cell, kind in (("rnn", nn.RNN), ("gru", nn.GRU), ("lstm", nn.LSTM)):
        model = build_sequence_model(cell, input_size=3, hidden_size=5)
        assert isinstance(model.rnn, kind)
        assert model(torch.zeros(2, 7, 3)).shape == (2, 1)
    lstm = build_sequence_model("lstm", hidden_size=4, gate_bias=2.5).rnn
    assert torch.equal(lstm.bias_ih_l0[4:8], torch.full((4,), 2.5))
    assert torch.count_nonzero(lstm.bias_hh_l0[4:8]) == 0


def test_build_sequence_model_rejects_a_gate_bias_for_rnn():
    with pytest.raises(ValueError, match="no gate"):
        build_sequence_model("rnn", gate_bias=1.0)
    with pytest.raises(ValueError):
        build_sequence_model("transformer")
    with pytest.raises(ValueError, match="finite"):
        build_sequence_model("lstm", gate_bias=float("nan"))


def test_gru_gate_bias_keeps_the_state():
    """set_gate_bias on a GRU opens the update gate z: h_t = (1 - z) n + z h_{t-1} keeps h."""
    gru = nn.GRU(1, 1, batch_first=True)
    with torch.no_grad():
        for p in gru.parameters():
            p.zero_()
        gru.weight_ih_l0[2] = 1.0  # candidate n = tanh(x)
    set_gate_bias(gru, -50.0)  # z = 0 at step 1: write n
    with torch.no_grad():
        _, h1 = gru(torch.tensor([[[3.0]]]))
        assert float(h1) == pytest.approx(np.tanh(3.0), rel=1e-5)
        set_gate_bias(gru, 50.0)  # z = 1: keep h whatever the input
        _, h2 = gru(torch.tensor([[[-3.0]]]), h1)
    assert float(h2) == pytest.approx(float(h1), rel=1e-5)
    with pytest.raises(ValueError):
        set_gate_bias(nn.RNN(1, 1), 1.0)


def test_input_grad_norms_matches_autograd_and_restores_state():
    model = nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.5))  # dropout: the random state is forked
    seq = gw.make_dataset("adding", 6, seq_len=5)
    y = torch.randn(6, 5, 4)
    state = torch.get_rng_state()
    got = input_grad_norms(model, seq.X, y)
    assert torch.equal(torch.get_rng_state(), state)
    X = seq.X.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(nn.functional.mse_loss(model(X), y), X)
    np.testing.assert_allclose(got, grad.double().norm(dim=(0, 2)).numpy(), rtol=1e-6)
    assert got.shape == (5,) and got.dtype == np.float64


def test_input_grad_norms_rejects_a_flat_batch():
    with pytest.raises(ValueError, match="batch, time, features"):
        input_grad_norms(nn.Linear(2, 1), torch.zeros(4, 2), torch.zeros(4, 1))
