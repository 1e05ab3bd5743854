"""gradwidgets.lessons.backprop: the chain rule by hand on the 2-2-1 network agrees with autograd."""

import pytest
import torch

from gradwidgets.lessons.backprop import TinyNet, manual_backprop, tiny_example, tiny_loss


def _autograd(net: TinyNet, x, y):
    params = [p.clone().requires_grad_() for p in net.parameters()]
    return torch.autograd.grad(tiny_loss(x, y, *params), params)


def _random_case(seed: int):
    g = torch.Generator().manual_seed(seed)
    shapes = [(2, 2), (2,), (1, 2), (1,)]
    net = TinyNet(*(torch.randn(s, generator=g, dtype=torch.float64) for s in shapes))
    return (
        net,
        torch.randn(2, generator=g, dtype=torch.float64),
        torch.randn(1, generator=g, dtype=torch.float64),
    )


@pytest.mark.parametrize("seed", [None, 0, 1, 2, 3])
def test_manual_gradients_match_autograd(seed):
    net, x, y = tiny_example() if seed is None else _random_case(seed)
    hand = manual_backprop(net, x, y)
    auto = _autograd(net, x, y)
    for h, a in zip(hand.grads, auto, strict=True):
        assert h.shape == a.shape
        torch.testing.assert_close(h, a, rtol=1e-12, atol=1e-14)
    assert hand.max_abs_diff(auto) < 1e-12


def test_forward_values_match_the_loss_autograd_differentiates():
    net, x, y = tiny_example()
    hand = manual_backprop(net, x, y)
    assert hand.loss == pytest.approx(float(tiny_loss(x, y, *net.parameters())), rel=1e-15)
    torch.testing.assert_close(hand.h1, torch.tanh(net.W1 @ x + net.b1))


@pytest.mark.parametrize("i,j", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_chain_product_equals_the_weight_gradient(i, j):
    net, x, y = tiny_example()
    hand = manual_backprop(net, x, y)
    chain = hand.chain(i, j)
    assert len(chain.factors) == 4
    assert chain.value == pytest.approx(float(_autograd(net, x, y)[0][i, j]), rel=1e-12)
    assert f"= {chain.value:.4g}" in repr(chain)


def test_step_moves_every_parameter_against_its_gradient_and_lowers_the_loss():
    net, x, y = tiny_example()
    hand = manual_backprop(net, x, y)
    after = net.step(hand, lr=0.1)
    for p, q, g in zip(net.parameters(), after.parameters(), hand.grads, strict=True):
        torch.testing.assert_close(q, p - 0.1 * g)
    assert after.loss(x, y) < net.loss(x, y)


def test_reprs_show_the_numbers():
    net, x, y = tiny_example()
    hand = manual_backprop(net, x, y)
    text = repr(hand)
    assert "dL/dz1 = f'(z1) ⊙ dL/dh1" in text and f"{hand.loss:.4g}" in text
    assert repr(net).startswith("TinyNet(W1=[[0.6, -0.2], [0.3, 0.8]]")
