"""gradwidgets.core.limits: hard maxima and memory estimates, checked before anything is allocated."""

import time

import numpy as np
import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core import checks, limits


@pytest.fixture(autouse=True)
def _default_bound(monkeypatch):
    monkeypatch.delenv(checks.MAX_BYTES_ENV, raising=False)


def _quick(call, match):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        call()
    assert time.perf_counter() - start < 2.0  # refused before allocating, not after


@pytest.mark.parametrize("norm", [None, "layer", "batch"])
def test_mlp_estimate_counts_every_parameter_and_statistic(norm):
    model = gw.build_mlp(3, width=8, in_features=5, out_features=2, norm=norm)
    stored = sum(t.numel() for t in [*model.parameters(), *model.buffers()] if t.is_floating_point())
    assert limits.mlp_bytes(3, 8, 5, 2, norm) == 4 * stored


def test_rnn_and_dataset_estimates_are_at_least_what_is_kept():
    rnn = gw.build_rnn(input_size=3, hidden_size=16, output_size=2)
    assert limits.rnn_bytes(3, 16, 2) >= 4 * sum(p.numel() for p in rnn.parameters())
    for name in gw.DATASETS:
        data = gw.make_dataset(name, n=64, seq_len=20)
        kept = data.X.numel() * data.X.element_size() + data.y.numel() * data.y.element_size()
        assert limits.dataset_bytes(name, 64, 20) >= kept


def test_sizes_beyond_memory_are_refused_at_once_with_the_estimate():
    _quick(
        lambda: gw.build_mlp(100, width=10**5),
        r"^build_mlp\(num_layers=100, width=100000, in_features=2\) needs about 3.6 TiB, above the limit",
    )
    _quick(
        lambda: gw.build_rnn(input_size=10**9),
        r"^build_rnn\(input_size=1000000000, hidden_size=32.*needs about",
    )
    _quick(
        lambda: gw.make_dataset("spirals", n=10**11),
        r"^make_dataset\('spirals', n=100000000000\) needs about",
    )
    _quick(
        lambda: gw.make_dataset("adding", n=10**6, seq_len=10**4), r"seq_len=10000\) needs about 186.3 GiB"
    )


def test_hard_maxima_where_time_not_memory_is_the_limit():
    _quick(lambda: gw.build_mlp(10**6, width=1), r"^num_layers=1000000 is not allowed; .*from 1 to 10000$")
    _quick(lambda: gw.build_rnn(hidden_size=10**4), r"^hidden_size=10000 is not allowed; .*from 1 to 2048$")
    data = gw.make_dataset("regression", 16)
    model = gw.build_mlp(2, in_features=1)
    for kwargs, match in [
        ({"steps": 10**9}, r"^steps=1000000000 .*from 1 to 1000000$"),
        ({"lr": 1e39}, r"^lr=1e\+39 is not allowed; it must be a finite number > 0 and <= 1e\+06$"),
        ({"weight_decay": 1e39}, r"^weight_decay=1e\+39 .*<= 1e\+06$"),
        ({"clip_value": 1e39}, r"^clip_value=1e\+39 .*<= 1e\+30$"),
    ]:
        _quick(lambda kw=kwargs: gw.train(model, data.X, data.y, **{"steps": 1, "lr": 0.1, **kw}), match)


def test_a_pass_or_a_run_too_large_is_refused_before_it_starts(monkeypatch):
    model = gw.build_mlp(4, width=256, in_features=8)
    X, y = torch.randn(4096, 8), torch.randn(4096, 1)
    need = limits.activation_bytes(model, X, copies=4)
    assert need == 4 * 4096 * (4 * 256 + 1) * 4  # a lower bound: batch x output units x 4 copies
    # the bound admits 3 copies of the activations: a profile keeps 4; training 3, and more per weight
    monkeypatch.setenv(checks.MAX_BYTES_ENV, str(limits.activation_bytes(model, X, copies=3)))
    before = [p.detach().clone() for p in model.parameters()]
    for call, what in [
        (gw.gradient_profile, r"gradient_profile"),
        (gw.diagnose, r"diagnose"),
        (lambda *a: gw.train(*a, steps=10, lr=0.1), r"train\(steps=10, record_every=1\)"),
    ]:
        with pytest.raises(ValueError, match=rf"^{what} with X of shape \(4096, 8\) on MLP needs about"):
            call(model, X, y)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before, strict=True))
    monkeypatch.setenv(checks.MAX_BYTES_ENV, str(8 * need))
    assert gw.gradient_profile(model, X, y).finite


def test_a_history_of_a_million_records_of_a_thousand_layers_is_refused():
    assert limits.history_bytes(10**6, 1, 1000) > 4 * 2**30
    model = gw.build_mlp(1000, width=2, in_features=1)
    data = gw.make_dataset("regression", 8)
    _quick(
        lambda: gw.train(model, data.X, data.y, steps=10**6, lr=0.1),
        r"^train\(steps=1000000, record_every=1\)",
    )


def test_recurrent_layers_count_each_time_step():
    rnn = gw.build_rnn(input_size=2, hidden_size=8, output_size=1)
    X = torch.randn(4, 50, 2)
    assert limits.activation_bytes(rnn, X, copies=1) == 4 * 4 * (50 * 8 + 1)
    lstm = nn.LSTM(2, 8, num_layers=2, bidirectional=True)
    assert limits.activation_bytes(lstm, X, copies=1) == 4 * 4 * 50 * 8 * 2 * 2


def test_a_numpy_size_cannot_wrap_the_estimate_around():
    """np.int64 arithmetic wraps at 2**63: the estimate must be taken in Python ints."""
    with pytest.raises(ValueError, match=r"^make_dataset\(.*needs about"):
        gw.make_dataset("spirals", n=np.int64(2**58))
    with pytest.raises(ValueError, match=r"needs about"):
        gw.build_mlp(2, width=np.int64(3_037_000_500))
