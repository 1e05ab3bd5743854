"""Tables of computed values: text and HTML faces of the same numbers."""

import math

import numpy as np
import pytest

from gradwidgets.lessons.tables import Table, format_value, pretty, table


def test_text_face_formats_numbers_like_profiles():
    t = table([{"name": "relu", "x": 2.5e-06, "n": 3}, {"name": "tanh", "x": 0.5, "n": 4}])
    text = repr(t)
    assert text.splitlines()[0].split() == ["name", "x", "n"]
    assert "2.50e-06" in text and "0.5" in text
    assert t.column("x") == [2.5e-06, 0.5]


def test_html_face_typesets_math_and_powers_of_ten():
    t = table([{"f": r"\tanh(z)", "value": 1.5e-12, "word": "yes"}], math=["f"])
    html = t._repr_html_()
    assert r'<span class="math notranslate nohighlight">\(\tanh(z)\)</span>' in html
    assert "1.50\u00a0×\u00a010⁻¹²" in html
    assert html.count("<tr>") == 2


def test_html_escapes_text():
    html = table([{"a": "<b>"}])._repr_html_()
    assert "&lt;b&gt;" in html and "<b>" not in html


@pytest.mark.parametrize(
    ("value", "shown"),
    [(math.inf, "∞"), (-math.inf, "-∞"), (math.nan, "NaN"), (np.float32(0.25), "0.25"), (True, "yes")],
)
def test_special_values(value, shown):
    assert format_value(value) == shown


def test_rows_must_share_columns():
    with pytest.raises(ValueError, match="rows\\[1\\]"):
        table([{"a": 1}, {"b": 2}])
    with pytest.raises(ValueError, match="math"):
        table([{"a": 1}], math=["b"])
    with pytest.raises(ValueError, match="at least one row"):
        table([])


def test_table_is_a_plain_dataclass():
    t = Table(("a",), ((1,),))
    assert repr(t).split() == ["a", "1"]


@pytest.mark.parametrize(
    ("value", "digits", "shown"),
    [
        (6.74e-13, 1, "7 × 10⁻¹³"),
        (3.1e-07, 2, "3.1 × 10⁻⁷"),
        (0.229, 2, "0.23"),
        (6.79, 2, "6.8"),
        (2.2e21, 2, "2.2 × 10²¹"),
        (229.4, 3, "229"),
        (32.4, 1, "32"),
        (0.0981, 2, "0.098"),
        (0.0, 2, "0"),
        (math.inf, 2, "∞"),
    ],
)
def test_pretty_numbers_for_prose(value, digits, shown):
    assert pretty(value, digits) == shown.replace(" × ", "\u00a0×\u00a0")


def test_numeric_columns_and_their_headers_align_right():
    html = table([{"name": "a", "share": "16%", "x": 1.0}])._repr_html_()
    assert html.count("text-align: right") == 4  # two headers and two cells
    assert "white-space: nowrap" in html
