"""gradwidgets.core._util: numbers and plain-text tables as the reports print them."""

import math

from gradwidgets.core._util import fmt, format_table


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


def test_sentence_capitalises_the_first_letter_and_ends_with_a_stop():
    from gradwidgets.core._util import sentence

    assert sentence("reported 2 layers holding 100% of trainable parameters") == (
        "Reported 2 layers holding 100% of trainable parameters."
    )
    assert sentence("'x' holds NaN") == "'x' holds NaN." and sentence("") == "."
