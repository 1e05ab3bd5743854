"""watch(): gradient norms recorded from the user's own loop, against p.grad read by hand."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

import gradwidgets as gw
from gradwidgets import watch
from gradwidgets.core.diagnosis import diagnose
from gradwidgets.core.watcher import Watch, watched_layers


def _hook_counts(model):
    return [len(p._post_accumulate_grad_hooks or {}) for p in model.parameters()]


def _train(model, X, y, steps, w=None, lr=0.05, reference=None):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(X), y)
        loss.backward()
        if reference is not None:
            reference.append([p.grad.detach().clone() for p in model.parameters()])
        if w is not None:
            w.log_loss(loss)
        opt.step()


def test_records_match_the_gradients_read_by_hand(regression):
    model = gw.build_mlp(4, width=16, in_features=1)
    grads = []
    with watch(model) as w:
        _train(model, regression.X, regression.y, 6, w, reference=grads)
    hist = w.history()
    assert isinstance(hist, gw.History)
    assert hist.layer_names == tuple(f"blocks.{i}.linear" for i in range(4))
    assert hist.steps.tolist() == list(range(6)) and len(hist.loss) == 6
    params = list(model.parameters())
    index = [next(i for i, p in enumerate(params) if p is lin.weight) for lin in model.hidden_linears]
    layer = [[float(g[i].norm()) for i in index] for g in grads]
    total = [math.sqrt(sum(float(x.norm()) ** 2 for x in g)) for g in grads]
    np.testing.assert_allclose(hist.layer_grad_norm, layer, rtol=1e-6)
    np.testing.assert_allclose(hist.total_norm_before, total, rtol=1e-6)
    np.testing.assert_array_equal(hist.total_norm_after, hist.total_norm_before)
    assert np.isnan(hist.update_ratio).all() and hist.update_ratio.shape == (6, 4)
    assert hist.diverged_at is None and hist.stopped_at is None
    assert hist.loss[-1] < hist.loss[0]


def test_same_numbers_as_train(regression):
    a, b = gw.build_mlp(3, in_features=1), gw.build_mlp(3, in_features=1)
    ref = gw.train(a, regression.X, regression.y, steps=5, lr=0.05)
    with watch(b) as w:
        _train(b, regression.X, regression.y, 5, w)
    got = w.history()
    np.testing.assert_allclose(got.loss, ref.loss, rtol=1e-6)
    np.testing.assert_allclose(got.layer_grad_norm, ref.layer_grad_norm, rtol=1e-6)


def test_adds_and_removes_exactly_its_hooks(regression):
    model = gw.build_mlp(3, in_features=1)
    before = _hook_counts(model)
    w = watch(model)
    assert _hook_counts(model) == [n + 1 for n in before]
    other = watch(model)  # two watches at once: each its own hooks
    assert _hook_counts(model) == [n + 2 for n in before]
    _train(model, regression.X, regression.y, 2)
    other.close()
    w.close()
    w.close()  # twice is fine
    assert _hook_counts(model) == before and w.closed and not w._handles
    assert len(w.history().steps) == len(other.history().steps) == 2
    _train(model, regression.X, regression.y, 2)  # nothing is recorded once closed
    assert len(w.history().steps) == 2
    with watch(model) as again:  # and a new watch after closing works
        _train(model, regression.X, regression.y, 3)
    assert again.history().steps.tolist() == [0, 1, 2]
    assert _hook_counts(model) == before


def test_every_records_every_nth_backward(regression):
    model = gw.build_mlp(2, in_features=1)
    seen = []
    with watch(model, every=3) as w:
        w._on_record = seen.append  # where a live view attaches
        _train(model, regression.X, regression.y, 10, w)
    hist = w.history()
    assert hist.steps.tolist() == [0, 3, 6, 9] and len(hist.loss) == 10
    assert [r.step for r in seen] == [0, 3, 6, 9]
    assert isinstance(seen[0], gw.StepRecord) and seen[0].layer_grad_norm.shape == (2,)
    assert "every=3, 10 steps, 4 recorded, closed" in repr(w)


def test_loss_callable_is_read_once_per_step(regression):
    model = gw.build_mlp(2, in_features=1)
    current = {}
    with watch(model, read_loss=lambda: current["loss"]) as w:
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        for _ in range(4):
            opt.zero_grad()
            current["loss"] = F.mse_loss(model(regression.X), regression.y)
            current["loss"].backward()
            opt.step()
        with pytest.raises(ValueError, match=r"log_loss: this watch already reads the loss"):
            w.log_loss(1.0)
    hist = w.history()
    assert len(hist.loss) == 4 and hist.loss[-1] < hist.loss[0]


def test_divergence_is_the_first_non_finite_step(regression):
    model = gw.build_mlp(3, in_features=1)
    with watch(model) as w:
        _train(model, regression.X, regression.y, 3, w)
        with torch.no_grad():
            model.hidden_linears[1].weight[0, 0] = float("nan")
        _train(model, regression.X, regression.y, 2, w)
    hist = w.history()
    assert hist.diverged_at == 3 and "diverged at step 3" in repr(hist)
    assert np.isnan(hist.layer_grad_norm[3]).any()


def test_unused_parameters_close_the_step_at_the_next_backward():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.a, self.b = nn.Linear(2, 4), nn.Linear(4, 1), nn.Linear(4, 1)

        def forward(self, x, head):
            return getattr(self, head)(torch.tanh(self.body(x)))

    model, X = TwoHeads(), torch.randn(8, 2)
    with watch(model) as w:
        for head in ("a", "b", "a"):
            model.zero_grad(set_to_none=True)
            model(X, head).sum().backward()
        assert w.steps == 3
    hist = w.history()
    assert hist.layer_names == ("body", "a", "b")
    assert hist.steps.tolist() == [0, 1, 2]
    assert (hist.layer_grad_norm[[0, 2], 2] == 0).all() and (hist.layer_grad_norm[1, 1] == 0).all()
    assert (hist.layer_grad_norm[:, 0] > 0).all()


def test_transformer_layers_include_attention():
    layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, batch_first=True)
    model = nn.Sequential(nn.TransformerEncoder(layer, 2, enable_nested_tensor=False), nn.Linear(16, 1))
    names = [n for n, _ in watched_layers(model)]
    assert names[:3] == ["0.layers.0.self_attn", "0.layers.0.linear1", "0.layers.0.linear2"]
    assert not any(n.endswith("out_proj") for n in names)
    with watch(model) as w:
        model(torch.randn(4, 6, 16)).sum().backward()
    ref = torch.sqrt(
        sum(
            p.grad.norm() ** 2
            for p in (
                model[0].layers[0].self_attn.in_proj_weight,
                model[0].layers[0].self_attn.out_proj.weight,
            )
        )
    )
    assert w.history().layer_grad_norm[0, 0] == pytest.approx(float(ref), rel=1e-6)


def test_diagnose_inside_a_watch_records_nothing(spirals):
    model = gw.build_mlp(3)
    with watch(model) as w:
        diagnose(model, spirals.X, spirals.y.float())  # autograd.grad: no .grad is accumulated
    assert w.steps == 0 and len(w.history().steps) == 0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((gw.build_mlp(2),), None),
        ((gw.build_mlp(2), 0), r"every=0 is not allowed"),
        ((nn.Tanh(),), r"model \(Tanh\) has no parameters"),
        (("model",), r"model must be a torch.nn.Module"),
        ((gw.build_mlp(2), 1, 3.0), r"read_loss must be a callable"),
    ],
)
def test_bad_arguments(args, match):
    if match is None:
        assert isinstance(watch(*args), Watch)
        return
    with pytest.raises(ValueError, match=match):
        watch(*args)


def test_close_removes_the_hooks_even_when_the_loss_reader_raises(spirals):
    model = gw.build_mlp(2)

    def reader():
        raise RuntimeError("reader failed")

    w = Watch(model, read_loss=reader)
    out = model(spirals.X).sum()
    with pytest.raises(RuntimeError, match="reader failed"):
        out.backward()  # the step ends in the backward pass: the reader's error surfaces there
    assert w.steps == 1 and math.isnan(w.history().loss[0])  # the step is closed, its loss unknown
    w._open = True  # as a backward pass that started and raised before its end leaves it
    with pytest.raises(RuntimeError, match="reader failed"):
        w.close()
    assert w.closed and _hook_counts(model) == [0] * len(list(model.parameters()))


def test_log_loss_takes_numbers_tensors_and_model_outputs_only():
    model = gw.build_mlp(2)
    with Watch(model) as w:
        w.log_loss(np.float32(0.5))
        w.log_loss({"loss": torch.tensor(0.25), "logits": torch.zeros(2)})
        with pytest.raises(ValueError, match=r"^value: a loss must be a number.*got str"):
            w.log_loss("0.1")
        with pytest.raises(ValueError, match=r"^value: a loss must be a number"):
            w.log_loss(torch.ones(3))
    assert w.history().loss.tolist() == [0.5, 0.25]


def test_a_parameter_that_takes_no_hook_leaves_none_of_the_others_behind():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    last = model[2].bias

    def refuse(hook):
        raise RuntimeError("no hooks here")

    last.register_post_accumulate_grad_hook = refuse
    with pytest.raises(RuntimeError, match="no hooks here"):
        watch(model, live=False)
    assert all(not getattr(p, "_post_accumulate_grad_hooks", None) for p in model.parameters())


def test_a_lazy_model_is_named_before_any_hook():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.LazyLinear(1))
    with pytest.raises(ValueError, match=r"model \(Sequential\) has lazy parameters"):
        watch(model, live=False)
    assert all(not getattr(p, "_post_accumulate_grad_hooks", None) for p in model[0].parameters())


def test_loss_is_the_deprecated_name_of_read_loss(regression):
    model = gw.build_mlp(2, in_features=1)
    with pytest.warns(DeprecationWarning, match=r"^loss= is renamed read_loss="):
        w = watch(model, loss=lambda: 0.5, live=False)
    with w:
        F.mse_loss(model(regression.X), regression.y).backward()
    assert w.history().loss.tolist() == [0.5]
