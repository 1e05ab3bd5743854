"""gradwidgets.core.losses: losses by name, and the checks a batch passes before it reaches a model."""

import pytest
import torch
from torch import nn

from gradwidgets.core.losses import check_loss, compute_loss, prepare_batch, run_forward


def test_prepare_batch_casts_float_inputs_to_the_models_dtype_only():
    model = nn.Linear(3, 1).double()
    X, y = prepare_batch(model, torch.ones(4, 3), torch.zeros(4))
    assert X.dtype == torch.float64 and y.dtype == torch.float32  # the targets are the loss's business
    tokens = torch.arange(4).reshape(4, 1)
    assert prepare_batch(nn.Embedding(8, 2), tokens, torch.zeros(4))[0] is tokens
    with pytest.raises(ValueError, match=r"^X must be a torch.Tensor, got list$"):
        prepare_batch(model, [[1.0, 2.0, 3.0]], torch.zeros(1))


def test_run_forward_names_x_for_a_misfit_and_lets_other_errors_through():
    with pytest.raises(ValueError, match=r"^X of shape \(2, 5\) does not fit the model: .*shape") as info:
        run_forward(nn.Linear(3, 1), torch.ones(2, 5))
    assert isinstance(info.value.__cause__, RuntimeError)

    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("the cat sat on the keyboard")

    with pytest.raises(RuntimeError, match=r"^the cat sat on the keyboard$"):
        run_forward(Broken(), torch.ones(2, 3))


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


def test_split_output_reads_tuples_dicts_and_dataclasses_by_one_rule():
    import dataclasses

    from gradwidgets.core.losses import split_output

    out, own = torch.ones(4, 2), torch.tensor(0.5)
    assert split_output(out) == (out, None)
    assert split_output((out, (torch.zeros(1), torch.zeros(1))))[0] is out  # nn.LSTM's (output, state)
    assert split_output([out])[0] is out
    assert split_output({"logits": out, "hidden": torch.zeros(3)}) == (out, None)
    assert split_output({"hidden": out}) == (out, None)  # the only tensor
    got = split_output({"loss": own, "logits": out})
    assert got[0] is out and got[1] is own
    assert split_output({"loss": own}) == (None, own)

    @dataclasses.dataclass
    class Output:
        logits: torch.Tensor
        loss: torch.Tensor | None = None

    assert split_output(Output(out, own)) == (out, own)
    for bad, shown in [
        ("text", r"a str"),
        ({"a": out, "b": out}, r"a dict of 2"),
        ((None, out), r"a tuple of 2"),
        (None, r"a NoneType"),
    ]:
        with pytest.raises(
            ValueError, match=rf"^model returned {shown} this cannot measure; accepted: a tensor"
        ):
            split_output(bad)


@pytest.mark.parametrize("dtype", [torch.int32, torch.uint8, torch.int16])
def test_cross_entropy_takes_integer_labels_of_any_width(dtype):
    out = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    expected = nn.functional.cross_entropy(out, torch.tensor([0, 1]))
    assert torch.equal(compute_loss("cross_entropy", out, torch.tensor([0, 1], dtype=dtype)), expected)


def test_the_users_own_error_keeps_its_type_even_when_it_mentions_a_size():
    class Picky(nn.Module):
        def forward(self, x):
            raise RuntimeError("my own check: sample size too small")

    with pytest.raises(RuntimeError, match=r"^my own check: sample size too small$"):
        run_forward(Picky(), torch.ones(2, 3))
