"""Gradients through time of nn.RNN/LSTM/GRU, replayed step by step: against an unrolled reference."""

import numpy as np
import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.recurrence import recorded_calls, through_time

_CELLS = {nn.RNN: nn.RNNCell, nn.LSTM: nn.LSTMCell, nn.GRU: nn.GRUCell}


def _reference(rnn: nn.RNNBase, x: torch.Tensor, loss_of) -> np.ndarray:
    """||dL/dh_t|| of a one-layer, one-direction ``rnn`` rebuilt from torch's cell modules,
    with every h_t kept: an independent unrolling (batch_first input)."""
    cell = _CELLS[type(rnn)](rnn.input_size, rnn.hidden_size)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data.copy_(getattr(rnn, f"{name}_l0"))
    h = x.new_zeros(x.shape[0], rnn.hidden_size)
    state = (h, h.clone()) if isinstance(rnn, nn.LSTM) else h
    hs = []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state)
        h = state[0] if isinstance(state, tuple) else state
        h.retain_grad()
        hs.append(h)
    loss_of(torch.stack(hs, dim=1), h).backward()
    return np.array([float(h.grad.double().norm()) for h in hs])


def _loss(out, h_n):
    return out[:, 2:].pow(2).sum() + h_n.tanh().sum()


@pytest.mark.parametrize("kind", [nn.RNN, nn.LSTM, nn.GRU])
def test_the_replay_gives_the_gradient_through_time_of_an_unrolled_reference(kind):
    torch.manual_seed(0)
    rnn = kind(3, 6, batch_first=True)
    x = torch.randn(4, 9, 3)
    with recorded_calls(rnn) as calls:
        out, state = rnn(x)
    h_n = state[0] if isinstance(state, tuple) else state
    grads = torch.autograd.grad(_loss(out, h_n[0]), calls[0].outputs, allow_unused=True)
    got = through_time(calls[0], list(grads))
    np.testing.assert_allclose(got, _reference(rnn, x, _loss), rtol=1e-5)
    assert not rnn._forward_hooks  # the recording hook is gone


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_replay_reproduces_the_fused_layer_in_every_layout(batch_first, bidirectional):
    torch.manual_seed(1)
    rnn = nn.LSTM(3, 5, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    x = torch.randn((2, 7, 3) if batch_first else (7, 2, 3))
    with recorded_calls(rnn) as calls:
        out, (h_n, c_n) = rnn(x)
    loss = out.sum() + h_n.pow(2).sum() + c_n.sum()
    grads = torch.autograd.grad(loss, calls[0].outputs)
    got = through_time(calls[0], list(grads))
    assert got.shape == (7,) and np.isfinite(got).all() and (got > 0).all()
    unbatched = x[0] if batch_first else x[:, 0]  # (T, features): batch_first does not apply
    with recorded_calls(rnn) as calls:
        out, (h_n, c_n) = rnn(unbatched)
    grads = torch.autograd.grad(out.sum() + h_n.pow(2).sum() + c_n.sum(), calls[0].outputs)
    assert through_time(calls[0], list(grads)).shape == (7,)


class _Classifier(nn.Module):
    def __init__(self, kind, scale):
        super().__init__()
        self.rnn = kind(4, 16, batch_first=True)
        self.fc = nn.Linear(16, 2)
        with torch.no_grad():
            self.rnn.weight_hh_l0.mul_(scale)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def test_a_profile_of_a_many_to_one_rnn_shows_the_gradient_dying_through_time():
    torch.manual_seed(2)
    X, y = torch.randn(8, 40, 4), torch.randint(0, 2, (8,))
    small = gw.gradient_profile(_Classifier(nn.RNN, 0.2), X, y)
    assert small.time_layer == 0 and small.time_grad_norm.shape == (40,)
    t = small.time_grad_norm
    assert t[0] < 1e-12 * t[-1]  # each step multiplies by about 0.2 * |W_hh| * tanh'
    short = gw.gradient_profile(_Classifier(nn.RNN, 0.2), X[:, -3:], y)
    assert short.time_grad_norm[0] > 1e-4 * short.time_grad_norm[-1]
    frozen = _Classifier(nn.GRU, 1.0)
    frozen.rnn.requires_grad_(False)  # nothing needs its gradient: no replay, no error
    assert gw.gradient_profile(frozen, X, y).time_grad_norm is None
