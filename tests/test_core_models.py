import pytest
import torch

import gradwidgets as gw


def test_hidden_linears_in_order():
    m = gw.build_mlp(5, width=16, in_features=3, out_features=2)
    shapes = [tuple(lin.weight.shape) for lin in m.hidden_linears]
    assert shapes == [(16, 3)] + [(16, 16)] * 4
    assert m(torch.zeros(7, 3)).shape == (7, 2)


def test_same_seed_same_weights_bit_for_bit():
    a, b = gw.build_mlp(6, init="orthogonal", seed=5), gw.build_mlp(6, init="orthogonal", seed=5)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    c = gw.build_mlp(6, init="orthogonal", seed=6)
    assert not torch.equal(a.hidden_linears[1].weight, c.hidden_linears[1].weight)


def test_building_does_not_move_the_global_rng():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    gw.build_mlp(3)
    gw.build_rnn()
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_norm_sits_between_linear_and_activation(norm):
    m = gw.build_mlp(3, norm=norm)
    cls = torch.nn.BatchNorm1d if norm == "batch" else torch.nn.LayerNorm
    assert all(isinstance(b.norm, cls) for b in m.blocks)


def test_residual_skips_only_where_shapes_match():
    m = gw.build_mlp(4, residual=True)
    assert [b.residual for b in m.blocks] == [False, True, True, True]
    x = torch.randn(5, 64)
    b = m.blocks[1]
    torch.testing.assert_close(b(x), x + b.act(b.linear(x)))


def test_bias_starts_at_zero_not_one():
    m = gw.build_mlp(3)
    assert all(float(lin.bias.detach().abs().max()) == 0 for lin in m.hidden_linears)


def test_rnn_spectral_radius_is_set():
    for rho in (0.5, 1.0, 1.7):
        r = gw.build_rnn(hidden_size=24, spectral_radius=rho, seed=2)
        assert gw.spectral_radius(r.cell.weight_hh) == pytest.approx(rho, rel=1e-5)


def test_rnn_matches_torch_rnn_with_the_same_weights():
    r = gw.build_rnn(input_size=2, hidden_size=8)
    ref = torch.nn.RNN(2, 8, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, name + "_l0").copy_(getattr(r.cell, name))
    x = torch.randn(3, 11, 2)
    _, h = ref(x)
    torch.testing.assert_close(r(x), r.head(h[0]))


def test_repr_shows_the_config():
    assert "activation='relu'" in repr(gw.build_mlp(2, activation="relu"))
    assert "spectral_radius=1.5" in repr(gw.build_rnn(spectral_radius=1.5))


def test_preactivations_are_what_the_activation_sees():
    m = gw.build_mlp(4, width=8, norm="layer", residual=True, activation="sigmoid")
    x = torch.randn(5, 2)
    seen = []
    hooks = [b.act.register_forward_hook(lambda mod, inp, out: seen.append(inp[0])) for b in m.blocks]
    m(x)
    for h in hooks:
        h.remove()
    zs = m.preactivations(x)
    assert len(zs) == 4
    for z, ref in zip(zs, seen, strict=True):
        torch.testing.assert_close(z, ref)


@pytest.mark.parametrize("bad", ["x", None, torch.ones(3), torch.ones(2, 3)])
def test_spectral_radius_takes_a_square_matrix_only(bad):
    with pytest.raises(ValueError, match=r"^weight must be a square 2-D tensor"):
        gw.spectral_radius(bad)
    assert gw.spectral_radius(torch.diag(torch.tensor([0.5, -2.0]))) == pytest.approx(2.0)
