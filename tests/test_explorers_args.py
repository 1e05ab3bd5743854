"""gradwidgets.explorers._args: a factory's arguments are checked at the call, each error naming it."""

import numpy as np
import pytest
import torch

from gradwidgets.core.checks import same_choice as same
from gradwidgets.explorers._args import FactoryArgs, finite, ints, one_of, optional


def toy(sizes=(1, 2), mode="a", **defaults):
    """A factory with one choice tuple, one scalar and a control ``size``."""
    args = FactoryArgs(toy)
    sizes = args.choices("sizes", sizes, ints(1, 8))
    args.value("mode", mode, one_of(("a", "b")))
    args.defaults(defaults, size=sizes)
    return sizes


def test_choices_scalars_and_defaults_are_checked_with_the_factorys_name():
    assert toy([3, 4]) == (3, 4)
    assert toy(size=2) == (1, 2)
    with pytest.raises(ValueError, match=r"^toy\(\): sizes=\(\) offers no choice"):
        toy(())
    with pytest.raises(ValueError, match=r"^toy\(\): sizes\[1\]=9 is not allowed; .* from 1 to 8"):
        toy((1, 9))
    with pytest.raises(ValueError, match=r"^toy\(\): sizes=\(1, 1\) offers 1 twice"):
        toy((1, 1))
    with pytest.raises(ValueError, match=r"^toy\(\): mode='c' is not supported"):
        toy(mode="c")
    with pytest.raises(ValueError, match=r"^toy\(\): size=3 is not supported"):
        toy(size=3)
    with pytest.raises(ValueError, match=r"^sise= is not an argument of toy\(\) \(did you mean 'size'\?\)"):
        toy(sise=1)
    with pytest.raises(ValueError, match=r"sizes=3 must be a sequence of choices, e.g. \(3,\)"):
        toy(3)
    # iterable by type but not as a value: a 0-d tensor or array (found by tests/test_fuzz.py)
    for zero_d in (torch.tensor(3), np.array(3)):
        with pytest.raises(ValueError, match=r"^toy\(\): sizes=.* must be a sequence of choices"):
            toy(zero_d)


def test_value_checks():
    assert optional(finite)("b", None) is None and finite("b", -2.5) == -2.5
    for bad in (True, float("nan"), "1", float("inf")):
        with pytest.raises(ValueError, match=r"b=.* is not allowed; it must be a finite number"):
            finite("b", bad)
    assert same(1, 1.0) and not same(1.0, 1) and not same(1, True) and same(None, None)


def test_a_rate_or_gain_the_factory_accepts_is_one_the_computation_accepts():
    """Above the core's bound on rates, a factory refuses; it never hands the kernel a setting
    that would fail when shown."""
    from gradwidgets.core.limits import MAX_RATE
    from gradwidgets.explorers import clipping, jacobian_spectrum, learning_rate, norm_training

    for make in (
        lambda: norm_training(lr=MAX_RATE * 10),
        lambda: clipping(thresholds=(1e40,)),
        lambda: learning_rate(lrs=(1e300,)),
        lambda: jacobian_spectrum(gains=(10**400,)),
    ):
        with pytest.raises(ValueError, match=r"it must be a finite number > 0 and <= 1e\+06"):
            make()
