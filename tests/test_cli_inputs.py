"""gradwidgets.cli_inputs: the factory, model and batch the CLI builds; each failure a CliError."""

import argparse

import pytest
import torch
from torch import nn

from gradwidgets.cli_inputs import (
    CliError,
    build_batch,
    build_model,
    call_user,
    check_options,
    input_shape,
    load_factory,
)


def _args(**kw):
    base = {"batch": 8, "seed": 0, "classes": None, "loss": None, "vocab": None}
    return argparse.Namespace(**{**base, **kw})


def test_user_code_errors_and_sys_exit_become_one_cli_error_naming_the_step():
    def fails():
        raise ValueError("bad\nvalue")

    with pytest.raises(CliError, match=r"^make\(\) raised ValueError: bad value$"):
        call_user("make() raised", fails)
    with pytest.raises(CliError, match=r"^make\(\) raised SystemExit: 4$"):
        call_user("make() raised", lambda: exit(4))
    with pytest.raises(KeyboardInterrupt):  # not an error of the user's: the caller exits 130
        call_user("make() raised", lambda: (_ for _ in ()).throw(KeyboardInterrupt))


def test_load_factory_takes_a_dotted_name_and_refuses_a_missing_one():
    assert load_factory("torch.nn:Linear") is nn.Linear
    with pytest.raises(CliError, match=r"^expected MODULE:FACTORY, got 'torch'$"):
        load_factory("torch")
    with pytest.raises(CliError, match=r"^torch.nn has no attribute 'Nothing'$"):
        load_factory("torch.nn:Nothing")
    with pytest.raises(CliError, match=r"^torch.nn:modules is not callable$"):
        load_factory("torch.nn:modules")


def test_build_model_refuses_a_non_module_and_a_meta_model(monkeypatch):
    import gradwidgets.cli_inputs as ci

    monkeypatch.setattr(ci, "load_factory", lambda target: lambda: "a string")
    with pytest.raises(CliError, match=r"^m:f\(\) returned str, not a torch.nn.Module$"):
        build_model("m:f")
    monkeypatch.setattr(ci, "load_factory", lambda target: lambda: nn.Linear(2, 2, device="meta"))
    with pytest.raises(
        CliError, match=r"^the model of m:f\(\) \(Linear\) has parameters on the 'meta' device"
    ):
        build_model("m:f")


@pytest.mark.parametrize("text", ["32,x", "", "1.5", "3,,2"])
def test_input_shape_must_be_integers(text):
    with pytest.raises(CliError, match=r"is not a list of integers like 32,10$"):
        input_shape(text, nn.Linear(3, 1), None)


@pytest.mark.parametrize("text", ["0,3", "-1", "3,0"])
def test_input_shape_must_be_positive(text):
    with pytest.raises(CliError, match=r"must have positive sizes$"):
        input_shape(text, nn.Linear(3, 1), None)


def test_input_shape_falls_back_to_the_model_then_the_factory():
    model = nn.Linear(3, 1)
    assert input_shape(" 4, 3", model, None) == (4, 3)
    model.input_shape = (3,)
    assert input_shape(None, model, None) == (3,)

    def factory():
        pass

    factory.input_shape = [5]
    assert input_shape(None, nn.Linear(5, 1), factory) == (5,)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"batch": 1}, r"^--batch=1 is not allowed; it must be an integer >= 2$"),
        ({"seed": -1}, r"^--seed=-1 is not allowed"),
        ({"seed": 2**64}, r"^--seed=18446744073709551616 is not allowed"),
        ({"classes": 1}, r"^--classes=1 is not allowed"),
    ],
)
def test_options_are_checked_by_core_checks(kw, message):
    with pytest.raises(CliError, match=message):
        check_options(_args(**kw))
    check_options(_args())


def test_a_batch_over_the_memory_bound_is_refused_before_it_is_allocated(monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_MAX_BYTES", raising=False)
    model = nn.Linear(3, 1).double()  # 8 bytes an element
    with pytest.raises(CliError, match=r"--batch 8 x --input-shape 10000,10000,10\) needs about 59.6 GiB"):
        build_batch(model, (10_000, 10_000, 10), _args())


def test_the_batch_fits_the_output_and_a_tuple_output_gives_its_first_element():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 4)

        def forward(self, x):
            return self.lin(x), x

    X, y, loss = build_batch(Pair(), (3,), _args())
    assert X.shape == (8, 3) and y.shape == (8, 4) and loss == "mse"
    X, y, loss = build_batch(Pair(), (3,), _args(classes=4))
    assert y.dtype == torch.int64 and int(y.max()) < 4 and loss == "cross_entropy"


def test_a_dict_output_gives_its_logits_and_a_loss_alone_is_refused():
    class Dict(nn.Module):
        def __init__(self, keys):
            super().__init__()
            self.lin, self.keys = nn.Linear(3, 4), keys

        def forward(self, x):
            out = self.lin(x)
            return {k: {"logits": out, "loss": out.sum(), "state": x}[k] for k in self.keys}

    _, y, loss = build_batch(Dict(["logits", "loss", "state"]), (3,), _args())
    assert y.shape == (8, 4) and loss == "mse"
    with pytest.raises(CliError, match=r"^the model's forward returned only a 'loss' entry"):
        build_batch(Dict(["loss"]), (3,), _args())


@pytest.mark.parametrize("out", [{"a": torch.zeros(8, 2), "b": torch.zeros(8)}, None, (), {"x": 1}])
def test_an_output_that_holds_no_tensor_is_named(out):
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def forward(self, x):
            return out

    with pytest.raises(CliError, match=r"^the model's forward returned an output the report cannot use: "):
        build_batch(Odd(), (3,), _args())


def test_a_failing_forward_is_named_with_the_shape_of_x_and_leaves_the_mode_as_it_was():
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout())
    with pytest.raises(
        CliError, match=r"^the model's forward failed: RuntimeError: mat1 .*\(X of shape \(8, 5\)"
    ):
        build_batch(model, (5,), _args())
    assert all(m.training for m in model.modules())
