"""gradwidgets.core.state: the user's state, snapshotted and put back whatever ends the block."""

import pytest
import torch
from torch import nn

from gradwidgets.core.state import Snapshot, kept


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 1))


def _mess(model):
    model(torch.randn(8, 3)).sum().backward()  # moves the RNG (dropout), the statistics, .grad
    model.eval()
    model[0].weight.requires_grad_(False)
    with torch.no_grad():
        model[3].weight.add_(1.0)
    torch.set_num_threads(torch.get_num_threads() + 1)


def test_a_snapshot_puts_back_modes_flags_buffers_rng_and_threads():
    model = _model()
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    buffers = [b.clone() for b in model.buffers()]
    snap = Snapshot(model)
    _mess(model)
    snap.restore()
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads
    assert all(m.training for m in model.modules()) and model[0].weight.requires_grad
    assert all(torch.equal(b, c) for b, c in zip(model.buffers(), buffers, strict=True))
    assert not torch.equal(model[3].weight, _model()[3].weight)  # values are not kept by default


def test_values_are_put_back_only_on_an_error_with_on_error_only():
    model, threads = _model(), torch.get_num_threads()
    values = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(KeyboardInterrupt), kept(model, values=True, on_error_only=True):
        _mess(model)
        raise KeyboardInterrupt
    assert all(torch.equal(p, v) for p, v in zip(model.parameters(), values, strict=True))
    assert all(p.grad is None for p in model.parameters())
    with kept(model, values=True, on_error_only=True):
        _mess(model)
    assert not model.training  # no error: kept as the block left it
    torch.set_num_threads(threads)  # the block changed it, and no error put it back
