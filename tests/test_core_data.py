import pytest
import torch

import gradwidgets as gw


@pytest.mark.parametrize("name", gw.DATASETS)
def test_same_seed_same_tensors(name):
    a, b = gw.make_dataset(name, 100, seed=3), gw.make_dataset(name, 100, seed=3)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
    c = gw.make_dataset(name, 100, seed=4)
    assert not torch.equal(a.X, c.X)


@pytest.mark.parametrize("name", ["spirals", "moons", "circles", "xor"])
def test_classification_sets_are_balanced_2d(name):
    d = gw.make_dataset(name, 200)
    assert d.X.shape == (200, 2) and d.X.dtype == torch.float32
    assert d.loss == "cross_entropy" and d.num_classes == 2
    assert int(d.y.sum()) == 100


def test_xor_labels_follow_the_quadrant():
    d = gw.make_dataset("xor", 500)
    assert torch.equal(d.y, ((d.X[:, 0] > 0) ^ (d.X[:, 1] > 0)).long())


def test_adding_problem_target_is_the_sum_of_marked_values():
    d = gw.make_dataset("adding", 50, seq_len=30)
    assert d.X.shape == (50, 30, 2)
    assert torch.equal(d.X[:, :, 1].sum(1), torch.full((50,), 2.0))
    torch.testing.assert_close(d.y[:, 0], (d.X[:, :, 0] * d.X[:, :, 1]).sum(1))


def test_regression_is_1d():
    d = gw.make_dataset("regression", 64)
    assert d.X.shape == (64, 1) and d.y.shape == (64, 1) and d.loss == "mse" and d.num_classes == 0


def test_repr():
    assert repr(gw.make_dataset("moons", 10)) == "Dataset('moons', X=(10, 2), y=(10,), loss='cross_entropy')"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "mnist"}, r"name='mnist'.*'spirals'"),
        ({"name": "moons", "n": 0}, r"n=0.*>= 1"),
        ({"name": "adding", "seq_len": 1}, r"seq_len=1.*>= 2"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gw.make_dataset(**kwargs)
