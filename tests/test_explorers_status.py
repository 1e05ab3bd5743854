"""gradwidgets.explorers._status: status lines that name vanishing or exploding, with the ratio."""

import numpy as np
import pytest

from gradwidgets.explorers._status import (
    SIMILAR_WITHIN,
    describe_norms,
    factor,
    number,
    ratio_kind,
    ratio_phrase,
    times,
)


def test_a_1e_minus_13_ratio_is_vanishing_and_shows_the_ratio():
    text, problem = describe_norms(np.geomspace(1e-13, 1.0, 20))
    assert problem and "vanishing" in text and "exploding" not in text
    assert "1.0e-13" in text and "1.0e+13× smaller" in text


def test_a_1e11_ratio_is_exploding_and_shows_the_ratio():
    text, problem = describe_norms(np.geomspace(1e11, 1.0, 20))
    assert problem and "exploding" in text and "vanishing" not in text
    assert "1.0e+11" in text and "larger" in text


def test_a_23x_spread_is_not_a_similar_scale():
    """The old line called a first/last ratio of 1/23 'a similar scale'."""
    text, problem = describe_norms(np.geomspace(1 / 23, 1.0, 10))
    assert "similar" not in text and "uneven" in text and "23× smaller" in text and not problem
    # first and last alike, but a layer between 23 times larger: uneven too
    text, _ = describe_norms(np.r_[1.0, 23.0, np.ones(8)])
    assert "similar" not in text and "span 23×" in text


def test_a_similar_scale_means_every_layer_within_tenfold():
    text, problem = describe_norms(np.geomspace(0.5, 1.0, 10))
    assert "a similar scale" in text and "2× smaller" in text and not problem
    assert ratio_kind(1 / SIMILAR_WITHIN) == ratio_kind(SIMILAR_WITHIN) == "similar"
    assert ratio_kind(SIMILAR_WITHIN * 1.01) == "uneven"


def test_absolute_limits_are_named_even_when_the_ratio_is_fine():
    text, problem = describe_norms(np.full(5, 1e4))
    assert problem and "5 of 5 layers are above 1000: exploding" in text
    text, problem = describe_norms(np.full(5, 1e-8))
    assert problem and "vanishing" in text


def test_zero_and_non_finite():
    assert describe_norms([0.0, 1.0])[0].startswith("1 of 2 layers get a gradient of exactly 0")
    text, problem = describe_norms([np.nan, 1.0])
    assert problem and "not finite" in text
    assert ratio_kind(np.inf) == "exploding" and ratio_kind(np.nan) == "non-finite"


@pytest.mark.parametrize(
    ("ratio", "words"),
    [(1e-13, "1.0e+13× smaller"), (1 / 23, "23× smaller"), (4.2, "4.2× larger"), (480.0, "480× larger")],
)
def test_ratios_are_said_as_readers_say_them(ratio, words):
    assert times(ratio) == words


def test_numbers_are_short():
    assert [number(x) for x in (0.043, 2.5, 1e-13, 2e5)] == ["0.043", "2.5", "1.0e-13", "2.0e+05"]
    assert [factor(x) for x in (2.5, 23.4, 1e13)] == ["2.5", "23", "1.0e+13"]
    assert ratio_phrase(1.0, "A", "B") == ("a similar scale: A's gradient is about B's", False)
