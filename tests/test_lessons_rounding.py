"""gradwidgets.lessons.rounding: the float32 weights an update leaves unchanged, against torch."""

import math

import pytest
import torch

from gradwidgets.lessons.rounding import unmoved_above, unmoved_share


@pytest.mark.parametrize("update", [1.5625e-9, 3e-7, 1e-4, 0.3])
def test_weights_from_the_threshold_on_stay_put_below_it_they_move(update):
    edge = unmoved_above(update)
    above = torch.tensor([edge * (1 + 2**-20), -edge * (1 + 2**-20), 1.5 * edge, 100 * edge])
    assert torch.equal(above + update, above)
    below = torch.tensor([edge / 2, -edge / 2, 0.75 * edge, edge / 64])
    assert not torch.any(below + update == below)


def test_threshold_is_a_power_of_two_about_2_to_the_24_times_the_update():
    for update in (1e-9, 2.5e-6, 0.01):
        edge = unmoved_above(update)
        assert math.log2(edge).is_integer()
        assert 2**24 < edge / update <= 2**25


def test_unmoved_share_counts_every_weight_above_the_threshold():
    update = 0.1 * 1e-6 / 64  # lr 0.1, a 64 x 64 gradient of norm 1e-6 spread evenly
    w = 0.125 * torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    expected = float((w.abs() > unmoved_above(update)).double().mean())
    assert unmoved_share(w, update) == expected
    assert 0.7 < expected < 0.9
    assert unmoved_share(w, 0.0) == 1.0
    assert unmoved_share(w, torch.full_like(w, 1.0)) == 0.0


def test_unmoved_above_checks_its_argument():
    with pytest.raises(ValueError, match="update"):
        unmoved_above(0.0)
