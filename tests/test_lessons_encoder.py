"""gradwidgets.lessons.encoder: the diagnose chapter's small pre-norm Transformer."""

import pytest
import torch
from torch import nn

from gradwidgets.lessons import build_encoder, init_matrices, random_tokens


def test_the_encoder_is_the_torch_nn_stack_built_under_the_seed():
    """Same weights as the chapter's former inline class, built under torch.manual_seed(0)."""
    torch.manual_seed(0)
    block = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True, norm_first=True)
    encoder = nn.TransformerEncoder(block, 6, enable_nested_tensor=False)
    head = nn.Linear(32, 1)
    built = build_encoder(depth=6, d=32)
    reference = list(encoder.parameters()) + list(head.parameters())
    assert all(torch.equal(p, q) for p, q in zip(built.parameters(), reference, strict=True))
    tokens, targets = random_tokens(8, positions=5, d=32)
    assert built(tokens).shape == targets.shape == (8, 1)
    expected = head(encoder(tokens).mean(dim=1))
    torch.testing.assert_close(built(tokens), expected)


def test_building_leaves_the_global_random_state_alone():
    state = torch.random.get_rng_state()
    init_matrices(build_encoder(), nn.init.normal_)
    assert torch.equal(state, torch.random.get_rng_state())


def test_init_matrices_touches_only_the_encoders_matrices():
    model, fresh = build_encoder(depth=2, d=8), build_encoder(depth=2, d=8)
    init_matrices(model, nn.init.ones_)
    for (name, p), q in zip(model.encoder.named_parameters(), fresh.encoder.parameters(), strict=True):
        assert torch.equal(p, torch.ones_like(p)) if p.dim() > 1 else torch.equal(p, q), name
    assert torch.equal(model.head.weight, fresh.head.weight)
    again = init_matrices(build_encoder(depth=2, d=8), nn.init.normal_)
    assert torch.equal(
        init_matrices(model, nn.init.normal_).encoder.layers[0].linear1.weight,
        again.encoder.layers[0].linear1.weight,
    )


def test_random_tokens_are_seeded():
    a, b = random_tokens(seed=3), random_tokens(seed=3)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    g = torch.Generator().manual_seed(0)
    torch.testing.assert_close(random_tokens()[0], torch.randn(64, 16, 32, generator=g))


@pytest.mark.parametrize("kwargs", [{"depth": 0}, {"d": 6}, {"d": 2}])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        build_encoder(**kwargs)
