"""gradwidgets.core.outputs: how a model is run and how what it returns is read."""

import pytest
import torch
from torch import nn

from gradwidgets.core.outputs import accepts_labels, floating_tensors, run_forward, split_output


def test_run_forward_names_x_for_a_misfit_and_lets_other_errors_through():
    with pytest.raises(ValueError, match=r"^X of shape \(2, 5\) does not fit the model: .*shape") as info:
        run_forward(nn.Linear(3, 1), torch.ones(2, 5))
    assert isinstance(info.value.__cause__, RuntimeError)

    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("the cat sat on the keyboard")

    with pytest.raises(
        RuntimeError,
        match=r"^model: its forward raised RuntimeError: the cat sat on the keyboard \(on X of shape",
    ) as info:
        run_forward(Broken(), torch.ones(2, 3))
    assert isinstance(
        info.value, ValueError
    )  # a ValueError that names the model, and still the model's own type
    assert str(info.value.__cause__) == "the cat sat on the keyboard"


def test_the_users_own_error_keeps_its_type_even_when_it_mentions_a_size():
    class Picky(nn.Module):
        def forward(self, x):
            raise RuntimeError("my own check: sample size too small")

    with pytest.raises(RuntimeError, match=r"^model: its forward raised RuntimeError: my own check") as info:
        run_forward(Picky(), torch.ones(2, 3))
    assert "does not fit" not in str(info.value)  # not blamed on X: the user's code raised it

    class OwnError(Exception):
        def __init__(self, code, detail):  # a constructor that takes no message alone
            super().__init__(f"{code}: {detail}")

    class Custom(nn.Module):
        def forward(self, x):
            raise OwnError(7, "no")

    with pytest.raises(ValueError, match=r"^model: its forward raised OwnError: 7: no"):
        run_forward(Custom(), torch.ones(2, 3))
    with pytest.raises(KeyboardInterrupt):  # not an error of the model: passes as it is
        run_forward(
            type(
                "Stop", (nn.Module,), {"forward": lambda self, x: (_ for _ in ()).throw(KeyboardInterrupt)}
            )(),
            torch.ones(1),
        )


def test_split_output_reads_tuples_dicts_and_dataclasses_by_one_rule():
    import dataclasses

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


def test_accepts_labels_reads_the_forward_signature():
    class Takes(nn.Module):
        def forward(self, x, labels=None):
            return x

    class KeywordOnly(nn.Module):
        def forward(self, x, *, labels=None, **kwargs):
            return x

    class Anything(nn.Module):
        def forward(self, *args, **kwargs):  # could take labels, but says nothing about it
            return args[0]

    assert accepts_labels(Takes()) and accepts_labels(KeywordOnly())
    assert not accepts_labels(Anything()) and not accepts_labels(nn.Linear(2, 2))


def test_floating_tensors_walks_nested_outputs():
    import dataclasses

    @dataclasses.dataclass
    class Out:
        logits: torch.Tensor
        extra: tuple

    a, b, c = torch.ones(2), torch.zeros(3), torch.ones(1, dtype=torch.float16)
    found = list(floating_tensors(Out(a, ({"k": b}, [c, torch.arange(3)], "text"))))
    assert [t is x for t, x in zip(found, (a, b, c), strict=True)] == [True] * 3  # not the integers
