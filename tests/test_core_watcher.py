"""watch(): gradient norms recorded from the user's own loop, against p.grad read by hand."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

import gradwidgets as gw
from gradwidgets import watch
from gradwidgets.core._util import fmt
from gradwidgets.core.diagnosis import diagnose
from gradwidgets.core.watcher import Watch, watched_layers
from gradwidgets.core.watchrecords import layer_flags


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


# --- mixed precision: a loss scaler -------------------------------------------------------------


def _amp_run(model, X, y, steps, scaler=None, inf_at=(), autocast=False, lr=0.05):
    """A mixed-precision loop (unscale_, clipping, scaler.step/update), or its unscaled twin that
    does not step where the scaler would skip (a loss made inf at ``inf_at``)."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with watch(model, scaler=scaler, live=False) as w:
        for step in range(steps):
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = F.mse_loss(model(X), y)
            loss = loss * math.inf if step in inf_at else loss
            (loss if scaler is None else scaler.scale(loss)).backward()
            w.log_loss(loss)
            if scaler is None:
                if step not in inf_at:
                    opt.step()
                continue
            scaler.unscale_(opt)  # after the watch read the gradients: not divided twice
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1e6)
            scaler.step(opt)
            scaler.update()
    return w.history()


def test_a_scaler_s_norms_are_the_unscaled_ones(regression):
    torch.manual_seed(0)
    base = gw.build_mlp(3, width=16, in_features=1)
    plain = _amp_run(copy.deepcopy(base), regression.X, regression.y, 5)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    scaled = _amp_run(copy.deepcopy(base), regression.X, regression.y, 5, scaler)
    assert scaler.get_scale() == 2.0**16  # no step was skipped: the scale the passes ran with
    np.testing.assert_allclose(scaled.layer_grad_norm, plain.layer_grad_norm, rtol=1e-5)
    np.testing.assert_allclose(scaled.total_norm_before, plain.total_norm_before, rtol=1e-5)
    np.testing.assert_allclose(scaled.loss, plain.loss, rtol=1e-6)
    assert scaled.skipped == () and scaled.diverged_at is None


def test_a_step_the_scaler_skips_is_marked_not_divergence(regression):
    torch.manual_seed(0)
    base = gw.build_mlp(3, width=16, in_features=1)
    X, y = regression.X, regression.y
    plain = _amp_run(copy.deepcopy(base), X, y, 6, inf_at=(2,))
    assert plain.diverged_at == 2 and plain.skipped == ()  # without a scaler, a non-finite step diverged
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    scaled = _amp_run(copy.deepcopy(base), X, y, 6, scaler, inf_at=(2,))
    assert scaled.skipped == (2,) and scaled.diverged_at is None
    assert "1 skipped by the scaler" in repr(scaled) and "finite" in repr(scaled)
    assert scaler.get_scale() == 2.0**15  # halved after the skip: the norms keep their meaning
    assert not np.isfinite(scaled.layer_grad_norm[2]).any()
    keep = [0, 1, 3, 4, 5]
    np.testing.assert_allclose(scaled.layer_grad_norm[keep], plain.layer_grad_norm[keep], rtol=1e-5)


def test_a_scale_that_overflows_float32_is_skipped_until_the_scaler_has_halved_it():
    torch.manual_seed(0)
    X, y = torch.randn(64, 2), 100 * torch.randn(64, 1)
    base = gw.build_mlp(3, width=16, in_features=2)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**127)
    scaled = _amp_run(copy.deepcopy(base), X, y, 10, scaler, lr=1e-4)
    k = len(scaled.skipped)
    assert scaled.skipped == tuple(range(k)) and 1 <= k <= 6 and scaled.diverged_at is None
    assert scaler.get_scale() == 2.0 ** (127 - k)  # finite gradients at a scale still near 1e37
    plain = _amp_run(copy.deepcopy(base), X, y, 10 - k, lr=1e-4)  # the skipped steps moved nothing
    np.testing.assert_allclose(scaled.layer_grad_norm[k:], plain.layer_grad_norm, rtol=1e-5)
    np.testing.assert_allclose(scaled.total_norm_before[k:], plain.total_norm_before, rtol=1e-5)


def test_bf16_autocast_with_and_without_a_scaler(regression):
    torch.manual_seed(0)
    base = gw.build_mlp(3, width=16, in_features=1)
    model, grads = copy.deepcopy(base), []
    with watch(model, live=False) as w, torch.autocast("cpu", dtype=torch.bfloat16):
        for _ in range(3):
            model.zero_grad(set_to_none=True)
            out = model(regression.X)
            assert out.dtype == torch.bfloat16
            F.mse_loss(out.float(), regression.y).backward()
            grads.append([float(lin.weight.grad.double().norm()) for lin in model.hidden_linears])
    np.testing.assert_allclose(w.history().layer_grad_norm, grads, rtol=1e-5)
    plain = _amp_run(copy.deepcopy(base), regression.X, regression.y, 4, autocast=True)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    scaled = _amp_run(copy.deepcopy(base), regression.X, regression.y, 4, scaler, autocast=True)
    np.testing.assert_allclose(scaled.layer_grad_norm, plain.layer_grad_norm, rtol=1e-5)


class _Scale:
    def __init__(self, value):
        self.value = value

    def get_scale(self):
        return self.value


def test_any_object_with_get_scale_is_a_scaler(regression):
    torch.manual_seed(0)
    base = gw.build_mlp(2, width=8, in_features=1)
    plain = _amp_run(copy.deepcopy(base), regression.X, regression.y, 1)
    model = copy.deepcopy(base)
    with watch(model, scaler=_Scale(torch.tensor(8.0)), live=False) as w:  # a one-element tensor too
        (8 * F.mse_loss(model(regression.X), regression.y)).backward()
    np.testing.assert_allclose(w.history().layer_grad_norm, plain.layer_grad_norm, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:`torch.cpu.amp.GradScaler")  # deprecated, still in use
def test_the_former_cpu_grad_scaler_is_a_scaler_too(regression):
    torch.manual_seed(0)
    base = gw.build_mlp(2, width=8, in_features=1)
    plain = _amp_run(copy.deepcopy(base), regression.X, regression.y, 3)
    scaled = _amp_run(copy.deepcopy(base), regression.X, regression.y, 3, torch.cpu.amp.GradScaler(2.0**8))
    np.testing.assert_allclose(scaled.layer_grad_norm, plain.layer_grad_norm, rtol=1e-5)


def test_a_disabled_scaler_is_no_scaler(regression):
    model = gw.build_mlp(2, width=8, in_features=1)
    scaler = torch.amp.GradScaler("cpu", enabled=False)  # GradScaler(enabled=use_amp)
    with watch(model, scaler=scaler, live=False) as w:
        (F.mse_loss(model(regression.X), regression.y) * math.inf).backward()
    assert w.scaler is None and w.history().diverged_at == 0 and w.history().skipped == ()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scaler": object()}, r"^scaler=<object object at .*> is not allowed; it must be a torch.amp"),
        ({"scaler": _Scale(0.0)}, r"^scaler: its get_scale\(\) returned 0.0; it must be"),
        ({"scaler": _Scale(math.nan)}, r"^scaler: its get_scale\(\) returned nan"),
        ({"scaler": _Scale("big")}, r"^scaler: its get_scale\(\) returned 'big'"),
        ({"scaler": _Scale(True)}, r"^scaler: its get_scale\(\) returned True"),
        ({"window": 0}, r"^window=0 is not allowed; it must be an integer >= 1"),
        ({"window": 2.0}, r"^window=2.0 is not allowed"),
        ({"window": True}, r"^window=True is not allowed"),
    ],
)
def test_bad_scaler_and_window(kwargs, match):
    model = gw.build_mlp(2)
    with pytest.raises(ValueError, match=match):
        watch(model, live=False, **kwargs)
    assert _hook_counts(model) == [0] * len(list(model.parameters()))


# --- torch.compile --------------------------------------------------------------------------------

_QUIET_DYNAMO = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated")  # torch's own


def _compiled_matches_eager(backend, regression):
    torch.manual_seed(0)
    base = gw.build_mlp(3, width=16, in_features=1)
    model, eager = copy.deepcopy(base), copy.deepcopy(base)
    compiled = torch.compile(model, backend=backend)
    assert [n for n, _ in watched_layers(compiled)] == [n for n, _ in watched_layers(eager)]
    with watch(compiled, live=False) as w, watch(eager, live=False) as ref:
        _train(compiled, regression.X, regression.y, 4, w)
        _train(eager, regression.X, regression.y, 4, ref)
    got, want = w.history(), ref.history()
    assert got.layer_names == ("blocks.0.linear", "blocks.1.linear", "blocks.2.linear")
    assert w.steps == 4 and got.steps.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(got.layer_grad_norm, want.layer_grad_norm, rtol=1e-5)
    np.testing.assert_allclose(got.loss, want.loss, rtol=1e-5)
    assert _hook_counts(model) == [0] * len(list(model.parameters()))


@_QUIET_DYNAMO
def test_a_compiled_model_is_watched_through_the_module_it_wraps(regression):
    _compiled_matches_eager("aot_eager", regression)  # AOTAutograd's compiled backward, no C compiler


@_QUIET_DYNAMO
@pytest.mark.slow
def test_a_model_compiled_by_inductor(regression):
    _compiled_matches_eager("inductor", regression)  # gcc builds its kernels: ~15 s on a cold cache


@_QUIET_DYNAMO
def test_a_compiled_training_step_is_watched(regression):
    torch.manual_seed(0)
    base = gw.build_mlp(2, width=8, in_features=1)
    model, eager = copy.deepcopy(base), copy.deepcopy(base)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)

    @torch.compile(backend="aot_eager")
    def step(X, y):  # backward() inside: a graph break, run by the eager engine
        opt.zero_grad()
        loss = F.mse_loss(model(X), y)
        loss.backward()
        opt.step()
        return loss

    with watch(model, live=False) as w, watch(eager, live=False) as ref:
        for _ in range(3):
            w.log_loss(step(regression.X, regression.y))
        _train(eager, regression.X, regression.y, 3, ref)
    np.testing.assert_allclose(w.history().layer_grad_norm, ref.history().layer_grad_norm, rtol=1e-5)


# --- a window over a long run ---------------------------------------------------------------------


def test_a_window_keeps_the_last_records_and_their_losses(regression):
    model = gw.build_mlp(3, in_features=1)
    with watch(model, live=False) as full, watch(model, window=4, live=False) as last:
        for _ in range(10):
            model.zero_grad()
            loss = F.mse_loss(model(regression.X), regression.y)
            loss.backward()
            full.log_loss(loss)
            last.log_loss(loss)
            assert len(last._kept.records) <= 4 and len(last._kept.losses) <= 5
    got, want = last.history(), full.history()
    assert got.steps.tolist() == [6, 7, 8, 9] and got.loss_start == 6
    assert got.loss_steps.tolist() == [6, 7, 8, 9]
    np.testing.assert_array_equal(got.loss, want.loss[6:])
    np.testing.assert_array_equal(got.layer_grad_norm, want.layer_grad_norm[6:])
    assert "window=4, 10 steps, 4 recorded" in repr(last) and "10 steps from step 6" not in repr(got)
    assert repr(got).startswith("History(4 steps from step 6, 3 layers")


def test_a_window_with_every_spans_the_records_it_keeps(regression):
    model = gw.build_mlp(2, in_features=1)
    current = {}
    with watch(model, every=3, window=2, read_loss=lambda: current["loss"], live=False) as w:
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        for _ in range(11):
            opt.zero_grad()
            current["loss"] = F.mse_loss(model(regression.X), regression.y)
            current["loss"].backward()
            opt.step()
    hist = w.history()
    assert hist.steps.tolist() == [6, 9] and hist.loss_start == 6 and len(hist.loss) == 5


def test_divergence_and_skips_before_the_window_still_count(regression):
    model = gw.build_mlp(2, in_features=1)
    with watch(model, window=2, live=False) as w:
        _train(model, regression.X, regression.y, 1, w)
        w.log_loss(math.nan)  # no backward: a loss only, of step 1
        _train(model, regression.X, regression.y, 4, w)
    assert w.history().diverged_at == 1 and w.history().steps.tolist() == [3, 4]
    scaler = _Scale(1.0)
    torch.manual_seed(0)
    model = gw.build_mlp(2, width=8, in_features=1)
    with watch(model, window=2, scaler=scaler, live=False) as w:
        for step in range(5):
            model.zero_grad()
            loss = F.mse_loss(model(regression.X), regression.y) * (math.inf if step < 2 else 1)
            loss.backward()
            w.log_loss(loss)
    hist = w.history()
    assert hist.skipped == () and hist.diverged_at is None and hist.steps.tolist() == [3, 4]
    assert "2 skipped by the scaler, 2 of them before the window" in w.summary()


# --- backward passes that raise, or run inside another ----------------------------------------------


class _Fails(torch.autograd.Function):
    """Identity whose backward raises while ``on`` is set."""

    on = False

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        if _Fails.on:
            raise RuntimeError("backward failed")
        return grad


def test_a_backward_pass_that_raises_is_not_a_step():
    torch.manual_seed(0)
    model, X = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)), torch.randn(8, 3)
    reads = []
    with watch(model, read_loss=lambda: reads.append(1) or float(len(reads)), live=False) as w:
        for step in range(4):
            model.zero_grad(set_to_none=True)
            _Fails.on = step == 1
            out = model[2](torch.tanh(_Fails.apply(model[0](X)))).sum()
            try:
                out.backward()  # fails at step 1 once model[2] got its gradient
            except RuntimeError:
                assert w._open  # partial: left open by the pass
                continue
            assert not w._open  # every other pass closes its step at its end
    _Fails.on = False
    hist = w.history()
    assert w.steps == 3 and hist.steps.tolist() == [0, 1, 2] and len(reads) == 3
    full = [float(model[0].weight.grad.norm()), float(model[2].weight.grad.norm())]
    np.testing.assert_allclose(hist.layer_grad_norm[-1], full, rtol=1e-6)  # nothing mixed in
    assert hist.diverged_at is None


def test_gradients_are_taken_as_accumulated_when_a_later_hook_drops_them(regression):
    """An optimiser fused into backward: a hook after the watch's steps each parameter and drops
    its .grad before the pass ends."""
    torch.manual_seed(0)
    model = gw.build_mlp(3, width=8, in_features=1)
    eager = copy.deepcopy(model)
    opts = {p: torch.optim.SGD([p], lr=0.05) for p in model.parameters()}

    def fused(p):
        opts[p].step()
        p.grad = None

    with watch(model, live=False) as w:
        handles = [p.register_post_accumulate_grad_hook(fused) for p in model.parameters()]
        for _ in range(3):
            F.mse_loss(model(regression.X), regression.y).backward()
        for h in handles:
            h.remove()
    with watch(eager, live=False) as ref:
        _train(eager, regression.X, regression.y, 3)
    got, want = w.history(), ref.history()
    assert (got.layer_grad_norm > 0).all()
    np.testing.assert_allclose(got.layer_grad_norm, want.layer_grad_norm, rtol=1e-5)
    np.testing.assert_allclose(got.total_norm_before, want.total_norm_before, rtol=1e-5)


def test_the_hooks_go_when_a_step_raises_out_of_the_with_block():
    model, X = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)), torch.randn(8, 3)
    _Fails.on = True
    try:
        with pytest.raises(RuntimeError, match="backward failed"), watch(model, live=False) as w:
            model[2](torch.tanh(_Fails.apply(model[0](X)))).sum().backward()
    finally:
        _Fails.on = False
    assert w.closed and w.steps == 0 and _hook_counts(model) == [0, 0, 0, 0]


@pytest.mark.filterwarnings("ignore:None of the inputs have requires_grad")  # the nested recompute
@pytest.mark.parametrize("where", ["output side", "input side", "all", "nested"])
def test_reentrant_checkpointing_is_one_step_per_backward(where):
    from torch.utils.checkpoint import checkpoint

    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
    X = torch.randn(8, 3, requires_grad=True)

    def ckpt(f, x):
        return checkpoint(f, x, use_reentrant=True)

    forward = {
        "output side": lambda: ckpt(m[4], m[3](m[2](m[1](m[0](X))))),  # the first hooks run inside
        "input side": lambda: m[4](m[3](m[2](m[1](ckpt(m[0], X))))),
        "all": lambda: ckpt(m, X),
        "nested": lambda: ckpt(lambda z: m[4](m[3](ckpt(m[2], m[1](m[0](z))))), X),
    }[where]
    reads = []
    with watch(m, read_loss=lambda: reads.append(1) or 1.0, live=False) as w:
        for _ in range(3):
            m.zero_grad(set_to_none=True)
            forward().sum().backward()
            assert not w._open
    assert w.steps == 3 and len(reads) == 3
    want = [float(m[i].weight.grad.norm()) for i in (0, 2, 4)]
    np.testing.assert_allclose(w.history().layer_grad_norm, [want] * 3, rtol=1e-6)


# --- summary ------------------------------------------------------------------------------------


def test_summary_is_the_per_layer_table_with_flags(regression):
    torch.manual_seed(0)
    model = gw.build_mlp(12, width=16, activation="sigmoid", in_features=1)
    with watch(model, live=False) as w:
        _train(model, regression.X, regression.y, 4, w)
    text = w.summary()
    lines = text.splitlines()
    assert lines[0] == "Watch of 12 layers, every=1, 4 steps: 4 recorded (steps 0-3); flags: vanishing (5)"
    assert lines[1].split() == ["layer", "median", "|dL/dW|", "last", "|dL/dW|", "median/largest", "flags"]
    hist = w.history()
    med = np.median(hist.layer_grad_norm, axis=0)
    rows = [line.split() for line in lines[2:14]]
    assert [r[0] for r in rows] == list(hist.layer_names)
    assert [r[1] for r in rows] == [fmt(m) for m in med]
    assert [r[2] for r in rows] == [fmt(g) for g in hist.layer_grad_norm[-1]]
    assert [r[3] for r in rows] == [fmt(m / med.max()) for m in med]
    assert [r[4] for r in rows] == ["vanishing"] * 5 + ["-"] * 7
    assert lines[15] == "Flags and their rules (medians over the recorded steps the scaler did not skip):"
    assert repr(w) == "Watch(12 layers, every=1, 4 steps, 4 recorded, closed; flags: vanishing (5))"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_layers": 6, "activation": "sigmoid"},
        {"num_layers": 12, "activation": "sigmoid"},
        {"num_layers": 8, "activation": "relu", "init": "normal"},
    ],
)
def test_summary_flags_agree_with_diagnose_on_one_step(kwargs, regression):
    model = gw.build_mlp(width=16, in_features=1, **kwargs)
    report = diagnose(model, regression.X, regression.y, loss="mse")
    with watch(model, live=False) as w:
        F.mse_loss(model(regression.X), regression.y).backward()
    want = [tuple(f for f in flags if f in ("vanishing", "exploding")) for flags in report.flags]
    assert list(layer_flags(w.history(), w.frozen)) == want
    assert any(want) == (kwargs["num_layers"] != 6)  # a healthy net, a vanishing one, an exploding one


def test_summary_of_frozen_and_non_finite_layers(regression):
    model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    model[2].weight.requires_grad_(False)
    with watch(model, live=False) as w:
        _train(model, regression.X, regression.y, 3, w)
        with torch.no_grad():
            model[4].weight[0, 0] = math.inf
        _train(model, regression.X, regression.y, 1, w)
    assert w.frozen == (False, True, False)
    rows = [line.split(None, 4) for line in w.summary().splitlines()[2:5]]
    assert rows[1][4] == "- (frozen)" and "non-finite (1)" in rows[0][4] and "non-finite (1)" in rows[2][4]
    assert "diverged at step 3" in repr(w) and "non-finite (2)" in repr(w)
