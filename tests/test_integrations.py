"""The framework callbacks: real Lightning and Hugging Face runs, against gradients and losses
replayed by hand or read from the trainer's own logs."""

import copy
import importlib
import json
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from types import SimpleNamespace

import _realmodels  # before lightning or transformers: it lets torchvision import beside the CPU torch
import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

import gradwidgets as gw
from gradwidgets.integrations import _common, huggingface, lightning
from gradwidgets.widgets import LiveWatch

# Lightning 2.6.6's own use of torch's pytree API, not ours
pytestmark = pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated")

needs_lightning = pytest.mark.skipif(
    find_spec("lightning") is None and find_spec("pytorch_lightning") is None,
    reason='Lightning is not installed: pip install -c constraints.txt -e ".[lightning]"',
)
needs_transformers = pytest.mark.skipif(
    find_spec("transformers") is None or find_spec("accelerate") is None,
    reason='transformers or accelerate is not installed: pip install -c constraints.txt -e ".[huggingface]"',
)
FRAMEWORKS = [
    pytest.param(lightning, marks=needs_lightning),
    pytest.param(huggingface, marks=needs_transformers),
]


def _hooks(model):
    return sum(len(p._post_accumulate_grad_hooks or {}) for p in model.parameters())


def _norms(model, names):
    return [float(torch.linalg.vector_norm(model.get_submodule(n).weight.grad.double())) for n in names]


def test_importing_the_modules_and_gradwidgets_imports_no_framework(tmp_path):
    code = textwrap.dedent(
        """
        import json, sys
        import gradwidgets, gradwidgets.integrations
        from gradwidgets.integrations import huggingface, lightning
        print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"lightning", "pytorch_lightning",
              "transformers", "accelerate", "bokeh", "ipywidgets"})))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("module", FRAMEWORKS)
def test_arguments_are_checked_when_the_callback_is_made(module):
    with pytest.raises(ValueError, match="every=0"):
        module.WatchCallback(every=0)
    with pytest.raises(ValueError, match="live='yes'"):
        module.WatchCallback(live="yes")
    with pytest.raises(
        ValueError, match=r"windw= is not an argument of WatchCallback\(\) \(did you mean 'window'"
    ):
        module.WatchCallback(windw=10)
    callback = module.WatchCallback(window=10)
    assert "not started" in repr(callback)
    with pytest.raises(RuntimeError, match="training has not started"):
        callback.history()
    callback.close()  # before training: nothing to do, and safe twice
    callback.close()


@pytest.mark.parametrize("module, framework", [(lightning, "lightning"), (huggingface, "transformers")])
def test_a_missing_framework_is_an_import_error_naming_the_extra(module, framework, monkeypatch):
    monkeypatch.delitem(module.__dict__, "WatchCallback", raising=False)  # made on first use: make it anew
    for name in (*lightning.FRAMEWORKS, "transformers"):
        monkeypatch.setitem(sys.modules, name, None)
    extra = "lightning" if framework == "lightning" else "huggingface"
    with pytest.raises(ImportError, match=rf'pip install "gradwidgets\[{extra}\]"'):
        module.WatchCallback  # noqa: B018


def test_an_installed_framework_that_fails_to_import_raises_its_own_error(tmp_path, monkeypatch):
    (tmp_path / "brokenframework").mkdir()
    (tmp_path / "brokenframework" / "__init__.py").write_text("import a_dependency_it_lacks\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="a_dependency_it_lacks"):
        _common.base_class(("brokenframework",), "Callback", "lightning")
    assert importlib.import_module("gradwidgets.integrations").__all__ == ["huggingface", "lightning"]


# Lightning ----------------------------------------------------------------------------------


def _lightning_module(manual=False, fail_at=None):
    from lightning.pytorch import LightningModule

    class Net(LightningModule):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
            self.automatic_optimization = not manual
            self.losses, self.grads = [], []

        def training_step(self, batch, batch_idx):
            if batch_idx == fail_at:
                raise RuntimeError("the training step failed")
            X, y = batch
            loss = F.mse_loss(self.net(X).float(), y)
            self.losses.append(float(loss.detach()))
            if not manual:
                return loss
            opt = self.optimizers()
            opt.zero_grad()
            self.manual_backward(loss)  # two backward passes per batch: two steps
            self.manual_backward(2 * F.mse_loss(self.net(X), y))
            self.losses.append(2 * float(loss.detach()))
            opt.step()
            return None

        def on_after_backward(self):  # the gradient as Lightning leaves it, unscaled by hand
            scaler = getattr(self.trainer.precision_plugin, "scaler", None)
            scale = float(scaler.get_scale()) if scaler is not None else 1.0
            self.grads.append([n / scale for n in _norms(self, ("net.0", "net.2", "net.4"))])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    return Net()


def _loader():
    g = torch.Generator().manual_seed(1)
    data = torch.utils.data.TensorDataset(torch.randn(32, 4, generator=g), torch.randn(32, 1, generator=g))
    return torch.utils.data.DataLoader(data, batch_size=4, shuffle=False)


def _fit(callback, module, **kwargs):
    from lightning.pytorch import Trainer

    options = dict(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False)
    options |= dict(enable_model_summary=False, max_steps=2) | kwargs
    trainer = Trainer(callbacks=[callback], **options)
    trainer.fit(module, _loader())
    return trainer


def _replay(net, accumulate, passes):
    """Each backward pass's norms and loss, by hand: SGD on a copy, the loss divided as Lightning does."""
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    norms, losses = [], []
    for i, (X, y) in zip(range(passes), _loader(), strict=False):
        loss = F.mse_loss(net(X), y)
        (loss / accumulate).backward()
        norms.append(_norms(net, ("0", "2", "4")))
        losses.append(float(loss.detach()))
        if (i + 1) % accumulate == 0:
            opt.step()
            opt.zero_grad()
    return norms, losses


@needs_lightning
@pytest.mark.parametrize("accumulate", [1, 2])
def test_lightning_fit_records_each_backward_pass_as_replayed_by_hand(accumulate):
    module = _lightning_module()
    reference, losses = _replay(copy.deepcopy(module.net), accumulate, 2 * accumulate)
    callback = lightning.WatchCallback()
    _fit(callback, module, accumulate_grad_batches=accumulate)
    hist = callback.history()
    assert hist.layer_names == ("net.0", "net.2", "net.4")
    assert hist.steps.tolist() == list(range(2 * accumulate))  # one step per backward pass
    np.testing.assert_allclose(hist.layer_grad_norm, reference, rtol=1e-5)
    np.testing.assert_allclose(hist.layer_grad_norm, module.grads, rtol=1e-6)
    np.testing.assert_allclose(hist.loss, losses, rtol=1e-6)
    np.testing.assert_allclose(hist.loss, module.losses, rtol=1e-7)  # what training_step returned
    assert callback.watch.closed and _hooks(module) == 0
    assert all(name in callback.summary() for name in hist.layer_names)
    assert f"{2 * accumulate} steps" in repr(callback)


@needs_lightning
def test_lightning_manual_optimization_counts_every_manual_backward_and_passes_watch_keywords():
    module = _lightning_module(manual=True)
    callback = lightning.WatchCallback(window=3)
    _fit(callback, module)
    hist = callback.history()
    assert callback.watch.steps == 4 and hist.steps.tolist() == [1, 2, 3]  # the window: the last 3
    np.testing.assert_allclose(hist.loss, module.losses[1:], rtol=1e-6)
    np.testing.assert_allclose(hist.layer_grad_norm, module.grads[1:], rtol=1e-6)


@needs_lightning
def test_lightning_closes_the_watch_when_the_training_step_raises():
    module = _lightning_module(fail_at=1)
    callback = lightning.WatchCallback()
    with pytest.raises(RuntimeError, match="the training step failed"):
        _fit(callback, module)
    assert callback.watch.closed and _hooks(module) == 0
    hist = callback.history()
    assert hist.steps.tolist() == [0] and hist.loss.tolist() == pytest.approx(module.losses)


@needs_lightning
def test_lightning_16_mixed_gets_the_plugins_scaler_and_records_unscaled_values():
    from lightning.pytorch.plugins import MixedPrecision

    module = _lightning_module()
    callback = lightning.WatchCallback()
    trainer = _fit(callback, module, plugins=[MixedPrecision("16-mixed", "cpu")], max_steps=4)
    assert callback.watch.scaler is trainer.precision_plugin.scaler is not None
    hist = callback.history()
    assert hist.steps.tolist() == list(range(len(module.losses))) and len(module.losses) >= 4
    np.testing.assert_allclose(hist.layer_grad_norm, module.grads, rtol=1e-5)  # inf where it overflowed
    np.testing.assert_allclose(hist.loss, module.losses, rtol=1e-6)
    overflowed = hist.steps[~np.isfinite(hist.total_norm_before)].tolist()  # a weight's or a bias's
    assert list(hist.skipped) == overflowed and hist.diverged_at is None


@needs_lightning
def test_lightning_only_global_rank_zero_shows_a_live_view():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    for zero, kind in ((False, gw.Watch), (True, LiveWatch)):
        callback = lightning.WatchCallback(live=True)
        callback.on_train_start(SimpleNamespace(is_global_zero=zero), model)
        assert type(callback.watch) is kind
        callback.on_train_end(None, model)
    assert _hooks(model) == 0


# Hugging Face -------------------------------------------------------------------------------


class _Tokens(torch.utils.data.Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, i):
        x = torch.randint(
            0, _realmodels.VOCAB, (_realmodels.TOKENS,), generator=torch.Generator().manual_seed(i)
        )
        return {"input_ids": x, "labels": x}


def _reference_callback():
    """The weights' gradients after each backward pass, read by hand (clipping is off: before the step)."""
    from transformers import TrainerCallback

    class Reference(TrainerCallback):
        def __init__(self):
            self.norms, self.hooks = [], []

        def on_substep_end(self, args, state, control, model=None, **kwargs):
            weights = {n: getattr(m, "weight", None) for n, m in model.named_modules()}
            weights = {n: w for n, w in weights.items() if isinstance(w, torch.Tensor) and w.grad is not None}
            self.norms.append(
                {n: float(torch.linalg.vector_norm(w.grad.double())) for n, w in weights.items()}
            )
            self.hooks.append(_hooks(model))

        on_pre_optimizer_step = on_substep_end

    return Reference()


def _train(callbacks, tmp_path, accumulate=1, model=None, raise_at=None, **options):
    from transformers import Trainer, TrainingArguments

    model = model or _realmodels.gpt2_lm_head()[0]
    if raise_at is not None:
        calls = []

        def fail(*_):
            calls.append(1)
            if len(calls) == raise_at:
                raise RuntimeError("the forward failed")

        model.transformer.h[0].register_forward_pre_hook(fail)
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=2,
        report_to=[],
        use_cpu=True,
        per_device_train_batch_size=2,
        gradient_accumulation_steps=accumulate,
        logging_steps=1,
        save_strategy="no",
        disable_tqdm=True,
        max_grad_norm=0.0,
        learning_rate=0.01,
        seed=0,
        **options,
    )
    trainer = Trainer(model=model, args=args, train_dataset=_Tokens(), callbacks=callbacks)
    return trainer, model


@needs_transformers
@pytest.mark.parametrize("accumulate", [1, 2])
def test_hf_trainer_records_each_backward_pass_and_the_losses_it_logs(accumulate, tmp_path):
    callback = huggingface.WatchCallback()
    trainer, model = _train([callback], tmp_path, accumulate)
    reference = _reference_callback()
    trainer.add_callback(reference)
    trainer.train()
    hist = callback.history()
    names = hist.layer_names
    assert hist.steps.tolist() == list(range(2 * accumulate))
    assert {"transformer.wte", "transformer.h.1.attn.c_attn", "transformer.h.1.mlp.c_proj"} <= set(names)
    np.testing.assert_allclose(
        hist.layer_grad_norm, [[r[n] for n in names] for r in reference.norms], rtol=1e-6
    )
    logged = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    np.testing.assert_allclose(hist.loss.reshape(2, accumulate).mean(axis=1), logged, rtol=1e-6)
    assert reference.hooks == [len(list(model.parameters()))] * len(reference.hooks)
    assert callback.watch.closed and _hooks(model) == 0 and not model._forward_hooks
    assert all(name in callback.summary() for name in names)


@needs_transformers
def test_hf_a_loss_the_model_does_not_compute_leaves_the_loss_curve_empty(tmp_path):
    callback = huggingface.WatchCallback()
    trainer, _ = _train([callback], tmp_path, label_smoothing_factor=0.1)  # the Trainer takes the labels
    trainer.train()
    hist = callback.history()
    assert hist.steps.tolist() == [0, 1] and hist.loss.size == 0 and hist.diverged_at is None


@needs_transformers
def test_hf_trainer_raising_leaves_the_hooks_until_close_and_a_with_block_removes_them(tmp_path):
    callback = huggingface.WatchCallback()
    trainer, model = _train([callback], tmp_path, raise_at=2)
    with pytest.raises(RuntimeError, match="the forward failed"):
        trainer.train()  # Trainer has no hook for an exception: the watch stays open
    assert not callback.watch.closed and _hooks(model) == len(list(model.parameters()))
    assert callback.history().steps.tolist() == [0]
    with callback:
        trainer.train()  # the next run closes the old watch first: one hook per parameter
    assert callback.watch.closed and _hooks(model) == 0 and callback.history().steps.tolist() == [0, 1]

    with huggingface.WatchCallback() as fresh:
        trainer, model = _train([fresh], tmp_path, raise_at=2)
        with pytest.raises(RuntimeError, match="the forward failed"):
            trainer.train()
    assert fresh.watch.closed and _hooks(model) == 0 and not model._forward_hooks


@needs_transformers
def test_hf_only_the_main_process_shows_a_live_view_and_the_optimizers_scaler_is_used():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    scaler = torch.amp.GradScaler("cpu")
    for zero, kind in ((False, gw.Watch), (True, LiveWatch)):
        callback = huggingface.WatchCallback(live=True)
        state = SimpleNamespace(is_world_process_zero=zero)
        callback.on_train_begin(None, state, None, model=model, optimizer=SimpleNamespace(scaler=scaler))
        assert type(callback.watch) is kind and callback.watch.scaler is scaler
        callback.on_train_end(None, state, None, model=model)
    assert _hooks(model) == 0 and not model._forward_hooks
