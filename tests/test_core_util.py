"""gradwidgets.core._util: argument checks that name the argument, and plain-text number tables."""

import math

import pytest

from gradwidgets.core._util import check_choice, check_int, check_positive, fmt, format_table


def test_checks_return_the_value_or_name_the_argument_and_what_is_allowed():
    check_choice("norm", None, (None, "batch"))
    with pytest.raises(ValueError, match=r"^norm='group' is not supported; allowed: None, 'batch'$"):
        check_choice("norm", "group", (None, "batch"))
    assert check_int("steps", 1, 1) == 1
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match=rf"^steps={bad!r} is not allowed; it must be an integer >= 1$"):
            check_int("steps", bad, 1)
    assert check_positive("lr", "0.5") == 0.5 and check_positive("decay", 0, allow_zero=True) == 0.0
    for bad in (0, -1.0, math.inf, math.nan, "fast", None):
        with pytest.raises(ValueError, match=r"it must be a finite number > 0$"):
            check_positive("lr", bad)
    with pytest.raises(ValueError, match=r"^decay=-0.1 is not allowed; it must be a finite number >= 0$"):
        check_positive("decay", -0.1, allow_zero=True)


def test_numbers_get_three_digits_and_tables_right_align_their_columns():
    assert [fmt(x) for x in (0.0, 1.0, 0.123456, 1234.5, 0.001234, 12345.0, -2e-7)] == [
        "0",
        "1",
        "0.123",
        "1.23e+03",
        "1.23e-03",
        "1.23e+04",
        "-2.00e-07",
    ]
    assert (fmt(math.nan), fmt(-math.inf)) == ("nan", "-inf")
    table = format_table(["a", "value"], [["x", "1"], ["long", "22"]])
    assert table.splitlines() == ["   a  value", "   x      1", "long     22"]
    assert format_table(["a", "bb"], []) == "a  bb"
