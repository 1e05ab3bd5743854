"""gradwidgets.lessons.warmup: Adam with a linear warmup, recorded into a History; cached runs."""

import numpy as np
import pytest
import torch

from gradwidgets.lessons.transformers import build_transformer, reversal_task
from gradwidgets.lessons.warmup import train_with_warmup, unit_names, warmup_run


def _moves(warmup, steps):
    """The largest change of any parameter entry over ``steps`` steps of the schedule."""
    X, y = reversal_task(16)
    model = build_transformer(2, True, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    train_with_warmup(model, X, y, steps, 0.01, warmup)
    return max(float((p.detach() - b).abs().max()) for p, b in zip(model.parameters(), before, strict=True))


def test_adams_first_step_moves_parameters_by_the_rate_and_warmup_divides_it():
    """The chapter: 'its first step moves almost every parameter by the learning rate'."""
    assert _moves(0, 1) == pytest.approx(0.01, rel=1e-3)
    assert _moves(4, 1) == pytest.approx(0.01 / 4, rel=1e-3)


def test_adams_first_step_size_does_not_depend_on_the_gradient_size():
    X, y = reversal_task(16)
    model = build_transformer(2, True, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    train_with_warmup(model, X, y, 1, 0.01)
    moved = torch.cat(
        [(p.detach() - b).abs().reshape(-1) for p, b in zip(model.parameters(), before, strict=True)]
    )
    # |m / (sqrt(v) + eps)| = |g| / (|g| + eps): the rate itself unless |g| is near eps = 1e-8
    assert float(((moved - 0.01).abs() < 1e-4).double().mean()) > 0.95
    assert float(moved.max()) <= 0.01 * (1 + 1e-4)


def test_the_history_has_a_row_per_step_and_a_column_per_unit():
    X, y = reversal_task(16)
    h = train_with_warmup(build_transformer(3, False, seed=0), X, y, 5, 0.001, 2)
    assert h.layer_names == unit_names(3) == ("embeddings", "layer 1", "layer 2", "layer 3", "head")
    assert h.layer_grad_norm.shape == (5, 5) and len(h.loss) == 5 and h.diverged_at is None
    np.testing.assert_allclose(np.sqrt((h.layer_grad_norm**2).sum(1)), h.total_norm_before, rtol=1e-5)


def test_a_callback_stops_the_run_and_a_stopped_run_is_not_cached():
    seen = []
    h = warmup_run(
        True, 0, 0.01, seed=5, num_layers=1, steps=10, callback=lambda r: seen.append(r) or r.step == 2
    )
    assert h.stopped_at == 2 and len(seen) == 3
    full = warmup_run(True, 0, 0.01, seed=5, num_layers=1, steps=10)
    assert len(full.loss) == 10 and warmup_run(True, 0, 0.01, seed=5, num_layers=1, steps=10) is full


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [({"steps": 0}, "steps"), ({"lr": 0}, "lr"), ({"warmup": -1}, "warmup"), ({"callback": 3}, "callback")],
)
def test_bad_arguments_name_themselves(kwargs, arg):
    X, y = reversal_task(4)
    args = {"steps": 2, "lr": 0.01, "warmup": 0, **kwargs}
    with pytest.raises(ValueError, match=arg):
        train_with_warmup(build_transformer(1, False), X, y, **args)
    with pytest.raises(ValueError, match="model"):
        train_with_warmup(torch.nn.Linear(2, 2), X, y, 2, 0.01)
