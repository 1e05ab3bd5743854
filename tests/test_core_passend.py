"""PassEnd: one call at the end of the backward pass it was made in, also through reentrant
checkpointing, and a flag when the pass raised instead."""

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from gradwidgets.core.passend import PassEnd


class _Fails(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("backward failed")


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)), torch.randn(5, 3, requires_grad=True)


def _watch_first_gradient(model, log):
    """Make a PassEnd at the first gradient of each pass; log every gradient and every end."""
    made, waiting = [], []

    def ended():
        log.append("end")
        waiting.clear()

    def hook(param):
        log.append(tuple(param.shape))
        if not waiting:
            waiting.append(PassEnd(ended))
            made.append(waiting[0])
            log.append("made")

    handles = [p.register_post_accumulate_grad_hook(hook) for p in model.parameters()]
    return made, handles


def test_it_runs_once_when_the_pass_ends():
    model, X = _net()
    log = []
    made, handles = _watch_first_gradient(model, log)
    model(X).sum().backward()
    assert log == [(1,), "made", (1, 4), (4,), (4, 3), "end"]
    assert not made[0].raised
    for h in handles:
        h.remove()


def test_a_pass_that_raises_drops_it_unrun():
    model, X = _net()
    log = []
    made, handles = _watch_first_gradient(model, log)
    out = model[2](torch.tanh(_Fails.apply(model[0](X)))).sum()
    with pytest.raises(RuntimeError, match="backward failed"):
        out.backward()
    assert log == [(1,), "made", (1, 4)] and made[0].raised
    for h in handles:
        h.remove()


@pytest.mark.filterwarnings("ignore:None of the inputs have requires_grad")  # the nested recompute
@pytest.mark.parametrize("nested", [False, True])
def test_inside_a_reentrant_checkpoint_it_waits_for_the_outermost_pass(nested):
    model, X = _net()
    log = []
    made, handles = _watch_first_gradient(model, log)
    last = (lambda h: checkpoint(model[2], h, use_reentrant=True)) if nested else model[2]
    out = checkpoint(lambda x: last(torch.tanh(model[0](x))), X, use_reentrant=True).sum()
    out.backward()  # the last layer's gradients come first, inside the checkpoint's own pass
    assert log == [(1,), "made", (1, 4), (4,), (4, 3), "end"] and not made[0].raised
    log.clear()
    out = model[0](X)
    checkpoint(lambda h: model[2](torch.tanh(h)), out, use_reentrant=True).sum().backward()
    assert log == [(1,), "made", (1, 4), (4,), (4, 3), "end"]  # the inner pass ends; the outer goes on
    for h in handles:
        h.remove()


def test_what_it_raises_comes_out_of_backward():
    model, X = _net()

    def fail():
        raise KeyError("from the end")

    def hook(param):
        PassEnd(fail)

    handle = model[2].bias.register_post_accumulate_grad_hook(hook)
    with pytest.raises(KeyError, match="from the end"):
        model(X).sum().backward()
    handle.remove()


@pytest.mark.filterwarnings("ignore:None of the inputs have requires_grad")
def test_an_outer_pass_that_raises_after_a_reentrant_one_ended_drops_it_unrun():
    model, X = _net()
    log = []
    made, handles = _watch_first_gradient(model, log)
    h = _Fails.apply(model[0](X))  # the outer pass raises here, after the checkpoint's inner one
    out = checkpoint(lambda h: model[2](torch.tanh(h)), h, use_reentrant=True).sum()
    with pytest.raises(RuntimeError, match="backward failed"):
        out.backward()
    assert log == [(1,), "made", (1, 4)] and made[0].raised
    for h in handles:
        h.remove()
