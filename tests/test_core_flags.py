"""The flags of a profile: each rule at its edges, on hand-made profiles and on real models."""

import numpy as np
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core import thresholds as th
from gradwidgets.core.flags import flag_layers, zero_initialised


def _profile(g, act="relu", sat=0.0, dead=0.0, rms=None, time=None, input_dead=None):
    n = len(g)
    return gw.GradientProfile(
        layer_names=tuple(map(str, range(n))),
        activations=(act,) * n,
        weight_grad_norm=np.array(g, dtype=float),
        weight_norm=np.ones(n),
        grad_to_weight=np.array(g, dtype=float),
        act_grad_norm=np.ones(n),
        act_mean=np.zeros(n),
        act_std=np.ones(n) if rms is None else np.array(rms, dtype=float),
        saturation=np.full(n, sat),
        dead_fraction=np.full(n, dead),
        loss=1.0,
        time_grad_norm=None if time is None else np.array(time, dtype=float),
        time_layer=None if time is None else 0,
        input_dead=None if input_dead is None else np.array(input_dead, dtype=float),
    )


def _flags(*args, **kwargs):
    frozen = kwargs.pop("frozen", ())
    zero = kwargs.pop("zero", ())
    return flag_layers(_profile(*args, **kwargs), frozen, zero).flags


def test_gradient_rules_at_their_edges():
    rel = th.VANISHING_RELATIVE
    assert _flags([0.99 * rel, 1.0]) == (("vanishing",), ())
    assert _flags([1.01 * rel, 1.0]) == ((), ())
    assert _flags([0.5 * th.VANISHING_ABSOLUTE]) == (("vanishing",),)
    assert _flags([1.01 * th.EXPLODING_ABSOLUTE]) == (("exploding",),)
    assert _flags([1.5e3, 1.0, 1.0])[0] == ("exploding",)
    assert _flags([1.0, 1.0], frozen=(False, True)) == ((), ())
    assert _flags([0.0, 1.0], frozen=(True, False)) == ((), ())  # frozen: no gradient is fine
    assert _flags([np.nan, 1.0])[0] == ("non-finite",)


def test_a_median_of_zeros_is_no_reference_for_exploding():
    assert _flags([1.0, 0.0, 0.0]) == ((), (), ())  # the gradient reaches the first layer
    assert _flags([1.0, 0.0, 0.0], zero=("head.weight",)) == ((), (), ())  # 0 by design
    assert _flags([1e-8, 1.0, 1e-9, 1.0], zero=("scale",)) == ((), (), (), ())  # small by design
    assert _flags([1e-8, 1.0, 1e-9, 1.0])[0] == ("vanishing",)
    assert _flags([5e3, 1e-7, 1e-7, 1.0], zero=("scale",))[0] == ("exploding",)  # the rest as usual
    assert _flags([0.5, 1e-7, 1e-7, 1e-7])[0] == ()  # far above a tiny median, but not large
    assert _flags([50.0, 1e-7, 1e-7, 1.0], zero=("scale",))[0] == ()  # no median from held values


def test_saturated_and_dead_need_an_activation_that_does_them():
    assert _flags([1.0], act="tanh", sat=0.51) == (("saturated",),)
    assert _flags([1.0], act="relu", sat=0.9) == ((),)
    assert _flags([1.0], act="relu", dead=0.51) == (("dead",),)
    assert _flags([1.0], act="relu", dead=0.49) == ((),)
    assert _flags([1.0], act="?", dead=1.0) == ((),)  # a zero-initialised head: outputs 0 by design
    assert _flags([1.0], act="gelu", dead=1.0) == ((),)


def test_dead_units_behind_a_functional_relu_are_found_in_the_next_input():
    found = flag_layers(_profile([1.0, 1.0, 1.0], act="?", input_dead=[np.nan, 0.8, 0.1]))
    assert found.flags == (("dead",), (), ()) and found.functional_dead == ((0, 0.8),)
    first = flag_layers(_profile([1.0, 1.0], act="relu", dead=0.9, input_dead=[np.nan, 0.9]))
    assert first.flags == (("dead",), ("dead",)) and first.functional_dead == ()


def test_a_collapsing_forward_signal_is_vanishing():
    edge = th.COLLAPSE_RELATIVE
    assert _flags([1.0] * 4, rms=[1.0, 0.5, 0.99 * edge, 1.0])[2] == ("vanishing",)
    assert _flags([1.0] * 4, rms=[1.0, 0.5, 1.01 * edge, 1.0])[2] == ()
    # a dip that the signal recovers from (a small branch beside a residual stream) is no collapse
    assert _flags([1.0] * 5, rms=[1.0, 0.5 * edge, 0.5, 1.0, 1.0])[1] == ()
    assert _flags([1.0, 1.0], rms=[1e-3, 0.99]) == ((), ())


def test_a_forward_signal_that_blows_up_is_exploding_even_when_every_layer_is_alike():
    edge = 1 / th.COLLAPSE_RELATIVE
    assert _flags([1.0] * 4, rms=[1.0, 2.0, 1.01 * edge, 1.0])[2] == ("exploding",)
    assert _flags([1.0] * 4, rms=[1.0, 2.0, 0.99 * edge, 1.0])[2] == ()
    assert _flags([1.0] * 3, rms=[1.0, 2.0, 1.01 * edge])[2] == ()  # the output layer: a bias can do it


def test_the_gradient_through_time_flags_the_recurrent_layer():
    rel = th.VANISHING_RELATIVE
    assert _flags([1.0, 1.0], time=[0.99 * rel, 0.5, 1.0])[0] == ("vanishing",)
    assert _flags([1.0, 1.0], time=[1.01 * rel, 0.5, 1.0])[0] == ()
    assert _flags([1.0, 1.0], time=[1.01e3, 1.0, 1.0])[0] == ("exploding",)
    assert _flags([1.0, 1.0], time=[1.01e3, 1e2, 1.0])[0] == ("exploding",)  # the last step: reference
    assert _flags([1.0, 1.0], time=[0.99e3, 1e2, 1.0])[0] == ()
    assert _flags([1.0, 1.0], time=[0.0, 0.0])[0] == ()  # nothing reached it at all: no ratio


def test_zero_initialised_names_weights_and_scales_not_biases_nor_tokens():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    model.token = nn.Parameter(torch.zeros(1, 1, 3))  # a class token: added, passes gradients on
    model.layer_scale = nn.Parameter(torch.full((3,), 1e-6))  # ConvNeXt's layer scale
    model[0].b = nn.Parameter(torch.zeros(3))  # a bias beside a weight matrix, whatever its name
    model[1].channel_scale = nn.Parameter(torch.zeros(3, 1, 1))  # torchvision's layer scale shape
    with torch.no_grad():
        model[1].weight.zero_()
        model[2].weight.zero_()
    assert zero_initialised(model) == ("layer_scale", "1.weight", "1.channel_scale", "2.weight")
    model[2].requires_grad_(False)
    model.layer_scale.data.fill_(1e-3)
    model[1].channel_scale.data.fill_(1.0)
    assert zero_initialised(model) == ("1.weight",)


def test_a_zero_initialised_head_is_not_a_vanishing_network():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    with torch.no_grad():
        model[4].weight.zero_()
        model[4].bias.zero_()
    X, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    report = gw.diagnose(model, X, y)
    assert report.healthy, report
    assert report.profile.weight_grad_norm[0] == 0  # exactly 0, and said why
    assert any("zero-initialised" in n for n in report.notes)


def test_a_30_layer_relu_stack_with_xavier_init_is_vanishing_in_its_forward_signal():
    torch.manual_seed(0)
    layers = []
    for _ in range(30):
        lin = nn.Linear(64, 64)
        nn.init.xavier_normal_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(64, 1))
    X, y = torch.randn(128, 64), torch.randn(128, 1)
    report = gw.diagnose(model, X, y)
    g = report.profile.weight_grad_norm[:30]
    assert g.min() > 1e-2 * g.max()  # every weight gradient alike: the gradient rule sees nothing
    assert "vanishing" in report.flags[-2] and "forward signal dies" in report.remedies[0].advice
    for lin in model[:60:2]:
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
    assert gw.diagnose(model, X, y).healthy  # the twin with Kaiming init


def test_a_matrix_is_two_dimensional_or_a_kernel_not_a_broadcast_scale_or_token():
    from gradwidgets.core.flags import _matrix

    assert _matrix(torch.zeros(4, 3)) and _matrix(torch.zeros(32, 1))  # a linear map to 1 output
    assert _matrix(torch.zeros(8, 3, 3, 3)) and _matrix(torch.zeros(1, 16, 8))  # a kernel; positions
    assert not _matrix(torch.zeros(8, 1, 1)) and not _matrix(torch.zeros(1, 1, 8))  # a scale; a token
    assert not _matrix(torch.zeros(8)) and not _matrix(None)


class _Block(nn.Module):
    def __init__(self, width, residual):
        super().__init__()
        self.fc, self.norm, self.residual = nn.Linear(width, width), nn.BatchNorm1d(width), residual
        nn.init.zeros_(self.norm.weight)  # zero gamma, as ResNets' zero_init_residual does

    def forward(self, x):
        out = self.norm(self.fc(x))
        return torch.relu(x + out) if self.residual else torch.relu(out)


def test_a_zero_scale_is_by_design_at_the_end_of_a_branch_and_stuck_in_a_plain_chain():
    torch.manual_seed(0)
    X, y = torch.randn(64, 16), torch.randn(64, 1)
    for residual in (True, False):
        model = nn.Sequential(nn.Linear(16, 16), *[_Block(16, residual) for _ in range(4)], nn.Linear(16, 1))
        report = gw.diagnose(model, X, y)
        stuck = [n for n in report.notes if "none of them opens" in n]
        if residual:  # every gamma gets a gradient through the skip: it will grow
            assert report.healthy and not stuck, report
        else:  # the signal stops at the first zero gamma; the gammas before the last get nothing
            assert report.flagged("vanishing")[0] == "0" and stuck
