"""gradwidgets.core.losses: losses by name, and the checks a batch passes before it reaches a model."""

import pytest
import torch
from torch import nn

from gradwidgets.core.losses import Loss, check_loss, compute_loss, prepare_batch


def test_prepare_batch_casts_float_inputs_to_the_models_dtype_only():
    model = nn.Linear(3, 1).double()
    X, y = prepare_batch(model, torch.ones(4, 3), torch.zeros(4))
    assert X.dtype == torch.float64 and y.dtype == torch.float32  # the targets are the loss's business
    tokens = torch.arange(4).reshape(4, 1)
    assert prepare_batch(nn.Embedding(8, 2), tokens, torch.zeros(4))[0] is tokens
    with pytest.raises(ValueError, match=r"^X must be a torch.Tensor, got list$"):
        prepare_batch(model, [[1.0, 2.0, 3.0]], torch.zeros(1))


def test_compute_loss_by_name_or_callable_is_a_0d_tensor():
    out = torch.tensor([[1.0], [3.0]])
    mse = compute_loss("mse", out, torch.tensor([0.0, 1.0]))  # y of shape (n,) fits an (n, 1) output
    assert mse.shape == () and mse.item() == pytest.approx((1 + 4) / 2)
    logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    ce = compute_loss("cross_entropy", logits, torch.tensor([0, 1]))
    assert ce.item() == pytest.approx(nn.functional.cross_entropy(logits, torch.tensor([0, 1])).item())
    summed = compute_loss(lambda o, y: (o - y).sum().reshape(1), out, torch.ones(2, 1))
    assert summed.shape == () and summed.item() == 2.0
    check_loss("loss_fn", nn.functional.l1_loss)  # any callable passes at the entry
    allowed = r"^loss_fn='hinge' is not supported; allowed: 'mse', 'cross_entropy'$"
    with pytest.raises(ValueError, match=allowed):
        check_loss("loss_fn", "hinge")


@pytest.mark.parametrize("dtype", [torch.int32, torch.uint8, torch.int16])
def test_cross_entropy_takes_integer_labels_of_any_width(dtype):
    out = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    expected = nn.functional.cross_entropy(out, torch.tensor([0, 1]))
    assert torch.equal(compute_loss("cross_entropy", out, torch.tensor([0, 1], dtype=dtype)), expected)


def test_cross_entropy_reads_sequences_with_classes_last_or_on_axis_1_and_skips_minus_100():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 7)  # (n, T, classes): a language model's output
    y = torch.randint(0, 7, (2, 5))
    y[0, 0] = -100  # padding, as Hugging Face marks it
    expected = nn.functional.cross_entropy(logits.reshape(10, 7), y.reshape(10))
    assert torch.allclose(compute_loss("cross_entropy", logits, y), expected)
    channels = logits.movedim(-1, 1)  # torch's own (n, classes, T)
    assert torch.allclose(compute_loss("cross_entropy", channels, y), expected)
    with pytest.raises(ValueError, match=r"^y holds labels 0\.\.9 but the model outputs 7 classes"):
        compute_loss("cross_entropy", logits, torch.full((2, 5), 9).index_fill_(1, torch.tensor([0]), 0))
    with pytest.raises(ValueError, match=r"^y must hold integer class labels with one axis less"):
        compute_loss("cross_entropy", logits, torch.zeros(2, 5))


def test_the_default_loss_picks_cross_entropy_for_labels_else_mse():
    model = nn.Linear(3, 4)
    X = torch.randn(6, 3)
    auto = Loss(None)
    auto(model(X), torch.randint(0, 4, (6,)))
    assert auto.name == "cross_entropy"
    auto = Loss(None)
    auto(model(X), torch.randn(6, 4))
    assert auto.name == "mse"
    auto = Loss(None)  # integer targets for a single output: a regression on counts
    auto(nn.Linear(3, 1)(X), torch.arange(6))
    assert auto.name == "mse"


def test_the_default_loss_gives_labels_to_a_model_that_takes_them():
    class OwnLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def forward(self, x, labels=None):
            logits = self.lin(x)
            loss = None if labels is None else 2 * nn.functional.cross_entropy(logits, labels)
            return {"logits": logits, "loss": loss}

    model, X, y = OwnLoss(), torch.randn(5, 3), torch.tensor([0, 1, 0, 1, 1])
    auto = Loss(None)
    value = auto(auto.forward(model, X, y), y)
    assert auto.name == "the model's own loss"
    assert torch.equal(value, 2 * nn.functional.cross_entropy(model.lin(X), y))
    named = Loss("cross_entropy")  # a named loss reads the logits: the model is not given labels
    assert torch.equal(named(named.forward(model, X, y), y), nn.functional.cross_entropy(model.lin(X), y))
