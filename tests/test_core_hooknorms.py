"""||dL/dh|| taken by hooks as the backward pass runs (core/hooknorms.py), against autograd."""

import numpy as np
import torch

from gradwidgets.core.hooknorms import GradNorms


class _Trace:
    def __init__(self, hs, weights):
        self.hs, self.weights = hs, weights


def test_hooks_take_each_h_norm_and_a_frozen_layers_h_is_asked_for():
    torch.manual_seed(0)
    lin1, lin2 = torch.nn.Linear(3, 5), torch.nn.Linear(5, 1)
    lin2.requires_grad_(False)
    x = torch.randn(8, 3)
    h1 = lin1(x)
    h2 = lin2(torch.tanh(h1))
    traces = [_Trace([h1], [lin1.weight]), _Trace([h2], [lin2.weight])]
    gn = GradNorms(traces)
    assert gn.asked == [h2]  # its layer has nothing to train: no gradient passes by on its way
    loss = h2.pow(2).sum()
    g1, g2 = torch.autograd.grad(loss, [h1, h2], retain_graph=True)
    (asked,) = torch.autograd.grad(loss, gn.asked, retain_graph=True)
    loss.backward()
    values = gn.fill([asked])
    gn.remove()
    np.testing.assert_allclose(values, [float(g1.norm()), float(g2.norm())], rtol=1e-6)
    assert gn.asked == []
