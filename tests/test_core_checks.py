"""gradwidgets.core.checks: every error names the argument and what is allowed."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from gradwidgets.core import checks
from gradwidgets.core.checks import (
    check_bool,
    check_choice,
    check_int,
    check_keywords,
    check_memory,
    check_model,
    check_positive,
    check_seed,
)


def test_choice_returns_the_value_or_names_the_argument_with_a_suggestion():
    assert check_choice("norm", None, (None, "batch")) is None
    with pytest.raises(ValueError, match=r"^norm='group' is not supported; allowed: None, 'batch'$"):
        check_choice("norm", "group", (None, "batch"))
    with pytest.raises(ValueError, match=r"activation='relux' is not supported \(did you mean 'relu'\?\)"):
        check_choice("activation", "relux", ("tanh", "relu", "sigmoid"))


@pytest.mark.parametrize("bad", [True, 1.0, np.array([1, 2]), [1], {"a": 1}])
def test_a_bool_is_not_an_int_choice_nor_an_array_or_unhashable_value(bad):
    with pytest.raises(ValueError, match=r"is not supported"):
        check_choice("depth", bad, (1, 5, 20))


def test_an_int_is_not_a_bool_choice_but_numbers_match_across_int_and_float():
    with pytest.raises(ValueError, match=r"residual=1 is not supported"):
        check_choice("residual", 1, (False, True))
    assert check_choice("residual", True, (False, True)) is True
    assert check_choice("lr", 1, (0.5, 1.0)) == 1


def test_int_refuses_bools_floats_and_values_out_of_range():
    assert check_int("steps", 1, 1) == 1
    for bad in (0, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=rf"^steps={bad!r} is not allowed; it must be an integer >= 1$"):
            check_int("steps", bad, 1)
    with pytest.raises(
        ValueError, match=r"^width=10001 is not allowed; it must be an integer from 1 to 10000$"
    ):
        check_int("width", 10001, 1, 10_000)


def test_positive_takes_real_finite_numbers_only():
    assert check_positive("lr", 0.5) == 0.5 and check_positive("decay", 0, allow_zero=True) == 0.0
    assert check_positive("lr", torch.tensor(0.25)) == 0.25  # a 0-d tensor is a number
    for bad in (0, -1.0, math.inf, math.nan, "0.5", None, True, 1j, torch.ones(2)):
        with pytest.raises(ValueError, match=r"it must be a finite number > 0$"):
            check_positive("lr", bad)
    with pytest.raises(ValueError, match=r"^decay=-0.1 is not allowed; it must be a finite number >= 0$"):
        check_positive("decay", -0.1, allow_zero=True)
    with pytest.raises(
        ValueError, match=r"^lr=1e\+39 is not allowed; it must be a finite number > 0 and <= 1e\+06$"
    ):
        check_positive("lr", 1e39, maximum=1e6)


def test_bool_and_seed():
    assert check_bool("residual", False) is False
    for bad in (0, 1, "no", None):
        with pytest.raises(ValueError, match=rf"^residual={bad!r} is not allowed; it must be True or False$"):
            check_bool("residual", bad)
    assert check_seed("seed", 0) == 0 and check_seed("seed", 2**63 - 1) == 2**63 - 1
    for bad in (None, "abc", 1.5, -1, 2**63, True):
        with pytest.raises(
            ValueError, match=rf"^seed={bad!r} is not allowed; it must be an integer from 0 to"
        ):
            check_seed("seed", bad)


def test_unknown_keywords_are_named_with_the_nearest_known_one():
    check_keywords("gradient_flow", {"depths": (5,)}, ["depths", "activations"])
    with pytest.raises(
        ValueError, match=r"^activaton= is not an argument of gradient_flow \(did you mean 'activations'\?\)"
    ):
        check_keywords("gradient_flow", {"activaton": "relu"}, ["depths", "activations"])


def test_model_must_be_a_module_with_real_parameters():
    model = nn.Linear(2, 2)
    assert check_model("model", model) is model
    with pytest.raises(ValueError, match=r"^model must be a torch.nn.Module, got function$"):
        check_model("model", lambda x: x)
    with torch.device("meta"):
        meta = nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"'meta' device"):
        check_model("model", meta)


def test_memory_bound_names_the_estimate_and_can_be_raised(monkeypatch):
    monkeypatch.delenv(checks.MAX_BYTES_ENV, raising=False)
    check_memory("build_mlp(num_layers=10)", 10e6)
    with pytest.raises(
        ValueError, match=r"build_mlp\(num_layers=1000000\) needs about 15.6 GiB, above the limit of 4.0 GiB"
    ):
        check_memory("build_mlp(num_layers=1000000)", 15.6 * 2**30)
    check_memory("big", 15.6 * 2**30, limit=16 * 2**30)  # raised by the argument
    monkeypatch.setenv(checks.MAX_BYTES_ENV, str(16 * 2**30))
    check_memory("big", 15.6 * 2**30)  # raised by the environment variable
    monkeypatch.setenv(checks.MAX_BYTES_ENV, "lots")
    with pytest.raises(ValueError, match=r"GRADWIDGETS_MAX_BYTES='lots' is not allowed"):
        check_memory("big", 1)


def test_trainable_needs_a_parameter_with_requires_grad():
    from gradwidgets.core.checks import check_trainable

    model = nn.Linear(2, 2)
    assert check_trainable("model", model) is model
    with pytest.raises(ValueError, match=r"^model \(Tanh\) has no parameters; there is no gradient"):
        check_trainable("model", nn.Tanh())
    with pytest.raises(ValueError, match=r"^model \(Linear\) has no parameter with requires_grad=True"):
        check_trainable("model", nn.Linear(2, 2).requires_grad_(False))


def test_submodules_must_be_a_non_empty_list_of_the_models_modules():
    from gradwidgets.core.checks import check_submodules

    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert check_submodules("layers", (model[0], model[2]), model) == [model[0], model[2]]
    for bad in (5, [], "0", model[0]):
        with pytest.raises(
            ValueError, match=r"^layers=.* is not allowed; it must be a non-empty list of modules"
        ):
            check_submodules("layers", bad, model)
    with pytest.raises(ValueError, match=r"^layers\[1\]=.* is not a module of the model"):
        check_submodules("layers", [model[0], nn.Linear(2, 3)], model)
    with pytest.raises(ValueError, match=r"^layers\[0\]=3 is not a module;"):
        check_submodules("layers", [3], model)


def test_numpy_integers_and_bools_count_as_ints_and_bools():
    """Values from ``np.arange`` or a numpy comparison are what people loop over and pass on."""
    assert check_int("depth", np.int64(5), 1) == 5 and type(check_int("depth", np.int64(5), 1)) is int
    assert check_seed("seed", np.uint32(7)) == 7
    assert check_choice("depth", np.int64(5), (2, 5, 10)) == 5
    assert check_bool("residual", np.bool_(True)) is True
    for bad in (np.bool_(True), np.float64(5.0)):
        with pytest.raises(ValueError, match=r"it must be an integer"):
            check_int("depth", bad, 1)
    with pytest.raises(ValueError, match=r"is not supported"):
        check_choice("residual", np.int64(1), (False, True))
    assert check_choice("residual", np.bool_(False), (False, True)) == np.bool_(False)


def test_numbers_beyond_floats_range_are_refused_not_overflowed():
    with pytest.raises(ValueError, match=r"it must be a finite number > 0$"):
        check_positive("lr", 10**400)
    with pytest.raises(ValueError, match=r"needs about .* TiB"):
        check_memory("make_dataset(n=10**400)", 10**400)


def test_renamed_takes_the_new_name_and_warns_on_the_old():
    from gradwidgets.core.checks import renamed

    assert renamed("old", None, "new", 3) == 3
    with pytest.warns(DeprecationWarning, match=r"^old= is renamed new="):
        assert renamed("old", 4, "new", None) == 4
    with pytest.raises(ValueError, match=r"^old= is the former name of new=; pass only new=$"):
        renamed("old", 4, "new", 3)
