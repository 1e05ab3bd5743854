"""A watch's optional measurements (core/watchextras.py): update-to-weight ratios across each
optimiser step, and the root mean square of layer outputs, checked against direct reads."""

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

import gradwidgets as gw
from gradwidgets.core.watchextras import Activations, Updates


def _data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(32, 2, generator=g)
    return X, torch.sin(X[:, :1])


def test_update_ratios_are_the_weights_relative_move_across_each_step():
    torch.manual_seed(0)
    model = gw.build_mlp(3, width=16)
    X, y = _data()
    layers = model.hidden_linears
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    want = []
    with gw.watch(model, every=2, updates=True, live=False) as w:
        for step in range(5):
            opt.zero_grad()
            F.mse_loss(model(X), y).backward()
            w.log_loss(0.0)
            before = [m.weight.detach().clone() for m in layers]
            opt.step()
            if step % 2 == 0:
                want.append(
                    [
                        float((m.weight.detach() - b).norm() / b.norm())
                        for m, b in zip(layers, before, strict=True)
                    ]
                )
    h = w.history()
    assert h.steps.tolist() == [0, 2, 4]
    np.testing.assert_allclose(h.update_ratio, want, rtol=1e-5)  # the last one measured at close
    assert (h.update_ratio > 0).all()


def test_update_ratios_wait_for_the_next_pass_and_are_zero_without_a_step():
    torch.manual_seed(0)
    model = gw.build_mlp(2, width=8)
    X, y = _data()
    w = gw.watch(model, updates=True, live=False)
    F.mse_loss(model(X), y).backward()
    assert np.isnan(w.history().update_ratio).all()  # not yet: the optimiser has not stepped
    F.mse_loss(model(X), y).backward()  # a second pass with no step between: nothing moved
    w.close()
    np.testing.assert_array_equal(w.history().update_ratio, 0.0)


def test_activation_rms_is_each_layers_output_rms_in_recorded_steps_only():
    torch.manual_seed(0)
    model = gw.build_mlp(3, width=16)
    X, y = _data()
    outputs = []
    probe = [
        m.register_forward_hook(lambda m, a, out: outputs.append(out.detach())) for m in model.hidden_linears
    ]
    with gw.watch(model, every=2, activations=True, live=False) as w:
        for step in range(3):
            outputs.clear()
            with torch.no_grad():
                model(X * 100)  # an evaluation pass: not counted
            kept = list(outputs)
            loss = F.mse_loss(model(X), y)
            loss.backward()
            w.log_loss(loss)
            if step == 2:
                want_last = [float(o.pow(2).mean().sqrt()) for o in outputs[len(kept) :]]
    for h in probe:
        h.remove()
    hist = w.history()
    np.testing.assert_allclose(hist.activation_rms[-1], want_last, rtol=1e-5)
    assert hist.activation_rms.shape == (2, 3)
    assert all(not m._forward_hooks for m in model.modules())


def test_a_history_without_activations_has_nan_rms():
    model = gw.build_mlp(2, width=8)
    X, y = _data()
    with gw.watch(model, live=False) as w:
        F.mse_loss(model(X), y).backward()
    assert np.isnan(w.history().activation_rms).all()
    assert np.isnan(w.history().update_ratio).all()


def test_activations_read_a_tuple_output_and_a_block_of_layers():
    lstm, lin = torch.nn.LSTM(3, 4, batch_first=True), torch.nn.Linear(4, 2)
    acts = Activations([[lstm, lin]], armed=lambda: True)
    out, _ = lstm(torch.randn(2, 5, 3))
    last = lin(out)
    got = acts.read()[0]
    want = torch.cat([out.flatten(), last.flatten()]).detach().pow(2).mean().sqrt()
    np.testing.assert_allclose(got, float(want), rtol=1e-5)
    assert np.isnan(acts.read()).all()  # read starts over
    acts.remove()
    lin(out)
    assert np.isnan(acts.read()).all()


def test_updates_of_a_block_add_up_its_weights():
    a, b = torch.nn.Parameter(torch.ones(3, 3)), torch.nn.Parameter(torch.ones(4))
    u = Updates([a, b], [[0, 1], [1]])
    u.snapshot()
    assert u.pending
    with torch.no_grad():
        a += 1.0
    ratios = u.ratios()
    np.testing.assert_allclose(ratios, [3.0 / np.sqrt(13.0), 0.0])  # ||dA|| = 3, ||(A, b)|| = sqrt(13)
    assert not u.pending


def test_the_summary_shows_the_medians_of_what_was_measured():
    torch.manual_seed(0)
    model = gw.build_mlp(3, width=16)
    X, y = _data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gw.watch(model, updates=True, activations=True, live=False) as w:
        for _ in range(3):
            opt.zero_grad()
            loss = F.mse_loss(model(X), y)
            loss.backward()
            w.log_loss(loss)
            opt.step()
    h = w.history()
    text = w.summary()
    assert "median update/weight" in text and "median activation RMS" in text
    first = next(line for line in text.splitlines() if line.startswith(h.layer_names[0] + " "))
    assert gw.core._util.fmt(float(np.median(h.update_ratio[:, 0]))) in first
    assert gw.core._util.fmt(float(np.median(h.activation_rms[:, 0]))) in first
    with gw.watch(model, live=False) as plain:
        F.mse_loss(model(X), y).backward()
    assert "update/weight" not in plain.summary() and "activation RMS" not in plain.summary()
