"""gradwidgets.lessons.transformers: the post-/pre-LN transformer, its task, its per-layer W2 gradients."""

import numpy as np
import pytest
import torch
from torch import nn

from gradwidgets.lessons.transformers import (
    TinyTransformer,
    build_transformer,
    copy_task,
    ffn_grad_norms,
    mean_ffn_grad_norms,
    reversal_task,
    token_loss,
)


def test_reversal_task_targets_are_the_inputs_reversed():
    X, y = reversal_task(5, 6, 4, seed=3)
    assert X.shape == y.shape == (5, 6) and X.dtype == torch.int64
    assert torch.equal(y[:, 0], X[:, -1]) and torch.equal(y, X.flip(1))
    assert int(X.max()) < 4 and torch.equal(reversal_task(5, 6, 4, seed=3)[0], X)


@pytest.mark.parametrize("norm_first", [False, True])
def test_build_transformer_places_the_layer_norm_and_inits_xavier(norm_first):
    model = build_transformer(3, norm_first, seed=1)
    assert all(layer.norm_first is norm_first for layer in model.layers)
    assert isinstance(model.final_norm, nn.LayerNorm if norm_first else nn.Identity)
    w2 = model.layers[0].linear2.weight.detach()  # 32 x 128: Xavier normal std sqrt(2 / 160)
    assert float(w2.std()) == pytest.approx((2 / 160) ** 0.5, rel=0.1)
    assert float(model.layers[0].linear2.bias.detach().abs().max()) == 0.0
    assert float(model.layers[0].norm1.weight.detach().min()) == 1.0  # layer norms keep gamma = 1


def test_build_transformer_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    a, b = build_transformer(2, False, seed=4), build_transformer(2, False, seed=4)
    assert torch.rand(1) == expected
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_ffn_grad_norms_match_backward():
    X, y = reversal_task()
    model = build_transformer(4, True, seed=2)
    got = ffn_grad_norms(model, X, y)
    nn.functional.cross_entropy(model(X).reshape(-1, 8), y.reshape(-1)).backward()
    ref = [float(layer.linear2.weight.grad.norm()) for layer in model.layers]
    np.testing.assert_allclose(got.w2, ref, rtol=1e-5)
    assert got.loss == pytest.approx(float(token_loss(model, X, y).detach()), rel=1e-6)
    assert "pre-LN" in repr(got)


def test_mean_ffn_grad_norms_is_the_mean_and_its_cache_cannot_be_changed():
    X, y = reversal_task()
    runs = [ffn_grad_norms(build_transformer(3, False, seed=s), X, y).w2 for s in range(2)]
    mean = mean_ffn_grad_norms(3, False, seeds=2)
    np.testing.assert_allclose(mean, np.mean(runs, axis=0), rtol=1e-6)
    mean[:] = 0
    assert mean_ffn_grad_norms(3, False, seeds=2).min() > 0


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [
        ({"num_layers": 0, "norm_first": False}, "num_layers"),
        ({"num_layers": 2, "norm_first": 1}, "norm_first"),
        ({"num_layers": 2, "norm_first": False, "d_model": 30, "nhead": 4}, "d_model"),
        ({"num_layers": 2, "norm_first": False, "seed": -1}, "seed"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        build_transformer(**kwargs)


def test_ffn_grad_norms_refuses_another_model():
    X, y = reversal_task()
    with pytest.raises(ValueError, match="model"):
        ffn_grad_norms(nn.Linear(8, 8), X, y)
    assert isinstance(build_transformer(1, False), TinyTransformer)
    with pytest.raises(ValueError, match="seeds"):
        mean_ffn_grad_norms(2, False, seeds=0)


def test_a_causal_stack_masks_the_future():
    X, _ = copy_task(n=4)
    model = build_transformer(2, True, seq_len=X.shape[1], causal=True)
    plain = build_transformer(2, True, seq_len=X.shape[1])
    changed = X.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 8  # only the last token differs
    with torch.no_grad():
        assert torch.allclose(
            model(X)[:, :-1], model(changed)[:, :-1], atol=1e-6
        )  # earlier outputs never see it
        assert not torch.allclose(plain(X)[:, :-1], plain(changed)[:, :-1], atol=1e-6)
    assert "causal" in repr(model) and "causal" not in repr(plain)
    with pytest.raises(ValueError, match="causal"):
        build_transformer(2, True, causal="yes")
