"""Real torchvision, timm and Hugging Face models: per-layer norms against torch.autograd.grad.

The models (tests/_realmodels.py) are built from configs with random weights, never downloaded.
For each, ``gradient_profile`` and ``diagnose`` must report, for every layer they report, the
norm that ``torch.autograd.grad`` gives for that layer's weights; the reported layers must hold
every weight matrix that gets a gradient; and the model and its ``.grad`` must be left as they
were. The packages come with the ``models`` extra, which ``make install`` installs.
"""

import math
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

import _realmodels as rm  # first: it defines what `import torchvision` needs (see there)
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

import gradwidgets as gw

os.environ["HF_HUB_OFFLINE"] = "1"  # as _realmodels sets it: before huggingface_hub is imported
for _package in ("torchvision", "timm", "transformers"):
    pytest.importorskip(_package, reason="the models extra is not installed (make install installs it)")

Batch = tuple[nn.Module, torch.Tensor, torch.Tensor]


def token_cross_entropy(output, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each token's logits against its target, read off a Hugging Face output."""
    return F.cross_entropy(output.logits.flatten(0, 1), y.flatten())


@dataclass(frozen=True)
class Case:
    """A model builder and the loss gradwidgets is given: a name, a callable, or None (auto)."""

    build: Callable[[], Batch]
    loss: str | Callable | None

    def reference_loss(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The same loss, computed here without gradwidgets."""
        if self.loss is None:  # a Hugging Face model given labels computes its own loss
            return model(X, labels=y).loss
        output = model(X)
        if callable(self.loss):
            return self.loss(output, y)
        assert self.loss == "cross_entropy"
        return F.cross_entropy(output if isinstance(output, torch.Tensor) else output.logits, y)


CASES = {
    "gpt2_lm_head": Case(rm.gpt2_lm_head, token_cross_entropy),
    "gpt2_lm_head_own_loss": Case(rm.gpt2_lm_head, None),
    "bert_sequence_classification": Case(rm.bert_sequence_classification, "cross_entropy"),
    "llama_causal_lm_own_loss": Case(rm.llama_causal_lm, None),
    "torchvision_resnet18": Case(rm.torchvision_resnet18, "cross_entropy"),
    "torchvision_vit": Case(rm.torchvision_vit, "cross_entropy"),
    "torchvision_mobilenet_v3_small": Case(rm.torchvision_mobilenet_v3_small, "cross_entropy"),
    "timm_vit_tiny": Case(rm.timm_vit_tiny, "cross_entropy"),
    "timm_convnext_atto": Case(rm.timm_convnext_atto, "cross_entropy"),
}

ENTRIES = {
    "gradient_profile": lambda model, X, y, loss: gw.gradient_profile(model, X, y, loss=loss),
    "diagnose": lambda model, X, y, loss: gw.diagnose(model, X, y, loss=loss).profile,
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Fail the test on any attempt to reach the network (a weight download, a hub query)."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("no network in these tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield
    assert not attempts, f"the network was tried: {attempts}"


def autograd_norms(case: Case, model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, dict]:
    """The loss, and the float64 norm of each trainable parameter's gradient by id (None: unused)."""
    params = [p for p in model.parameters() if p.requires_grad]
    value = case.reference_loss(model, X, y)
    grads = torch.autograd.grad(value, params, allow_unused=True)
    norm = {}
    for p, g in zip(params, grads, strict=True):
        norm[id(p)] = None if g is None else torch.linalg.vector_norm(g.double()).item()
    return value.item(), norm


def snapshot(model: nn.Module) -> dict:
    """Copies of everything a measurement must leave alone: parameters, .grad, buffers, modes."""
    return {
        "params": {n: (p.detach().clone(), p.requires_grad) for n, p in model.named_parameters()},
        "grads": {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()},
        "buffers": {n: b.clone() for n, b in model.named_buffers()},
        "modes": {n: m.training for n, m in model.named_modules()},
    }


def assert_same(before: dict, after: dict) -> None:
    """Every tensor of one snapshot equals the other's, and every mode and flag is the same."""
    assert before["modes"] == after["modes"]
    for n, (p, requires_grad) in before["params"].items():
        assert torch.equal(p, after["params"][n][0]) and requires_grad == after["params"][n][1], n
    for n, g in before["grads"].items():
        g2 = after["grads"][n]
        assert (g is None and g2 is None) or (g is not None and g2 is not None and torch.equal(g, g2)), n
    assert before["buffers"].keys() == after["buffers"].keys()
    for n, b in before["buffers"].items():
        assert torch.equal(b, after["buffers"][n]), n


def test_torchvision_imports_beside_the_cpu_torch():
    import torchvision

    # the operators are defined here exactly when torchvision's own extension did not load
    assert rm.TORCHVISION_OPS_DEFINED_HERE in ((), tuple(rm.TORCHVISION_IMPORT_NEEDS))
    assert bool(rm.TORCHVISION_OPS_DEFINED_HERE) != torchvision.extension._has_ops()


def test_the_hub_is_offline():
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE


@pytest.mark.parametrize("name", CASES)
def test_a_builder_is_seeded_and_gives_every_parameter_a_gradient(name):
    case = CASES[name]
    model, X, y = case.build()
    again, X2, y2 = case.build()
    assert torch.equal(X, X2) and torch.equal(y, y2)
    state, state2 = model.state_dict(), again.state_dict()
    assert state.keys() == state2.keys() and all(torch.equal(state[k], state2[k]) for k in state)
    loss, norms = autograd_norms(case, model, X, y)
    assert math.isfinite(loss)
    without = [n for n, p in model.named_parameters() if not (norms[id(p)] and math.isfinite(norms[id(p)]))]
    assert not without, f"no finite non-zero gradient: {without}"


# How close a reported norm must come to autograd's, taken in float64. A float64 model's gradients
# are the same numbers in both passes, so only the choice of weights and their adding up can
# differ. In a float32 model torch's float32 norm itself is off by up to 1e-4 of the float64 one
# on these models' million-entry convolution weights (ResNet-18's layer4, measured: 1.0e-4).
REL = {torch.float64: 1e-5, torch.float32: 1e-3}


@pytest.mark.parametrize("dtype", REL, ids=str)
@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("name", CASES)
def test_every_reported_layers_gradient_norm_is_autograds(name, entry, dtype):
    case = CASES[name]
    model, X, y = case.build()
    model.to(dtype)
    X = X.to(dtype) if X.is_floating_point() else X  # token ids stay integers
    loss, norms = autograd_norms(case, model, X, y)
    profile = ENTRIES[entry](model, X, y, case.loss)
    assert profile.loss == pytest.approx(loss, rel=1e-6)
    assert len(profile.layers) == len(profile) > 0
    for layer, measured in zip(profile.layers, profile.weight_grad_norm, strict=True):
        expected = math.sqrt(sum((norms[id(w)] or 0.0) ** 2 for w in layer.weights))
        assert measured == pytest.approx(expected, rel=REL[dtype]), layer.name


@pytest.mark.parametrize("name", CASES)
def test_the_reported_layers_hold_every_weight_matrix_that_gets_a_gradient(name):
    case = CASES[name]
    model, X, y = case.build()
    _, norms = autograd_norms(case, model, X, y)
    profile = gw.gradient_profile(model, X, y, loss=case.loss)
    reported = {id(w) for layer in profile.layers for w in layer.weights}
    missing = [
        f"{n} {tuple(p.shape)}"
        for n, p in model.named_parameters()
        if p.dim() >= 2 and norms.get(id(p)) is not None and id(p) not in reported
    ]
    assert not missing, f"not in any reported layer ({', '.join(profile.layer_names)}): {missing}"


@pytest.mark.parametrize("name", CASES)
def test_the_model_and_its_grads_are_left_as_they_were(name):
    case = CASES[name]
    model, X, y = case.build()
    g = torch.Generator().manual_seed(0)
    for i, p in enumerate(model.parameters()):  # half hold a .grad, which must not accumulate
        if i % 2:
            p.grad = torch.randn(p.shape, generator=g)
    before = snapshot(model)
    gw.gradient_profile(model, X, y, loss=case.loss)
    gw.diagnose(model, X, y, loss=case.loss)
    assert_same(before, snapshot(model))
