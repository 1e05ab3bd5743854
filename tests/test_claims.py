"""The course's claims about gradients, each a seeded experiment that fails if the claim is false."""

import ast
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import gradwidgets as gw


def _profile(data, **kw):
    model = gw.build_mlp(in_features=data.X.shape[1], **kw)
    return gw.gradient_profile(model, data.X, data.y)


def test_deep_sigmoid_first_layer_gradient_is_orders_below_the_last(regression):
    prof = _profile(regression, num_layers=10, activation="sigmoid")
    assert prof.first_last_ratio < 1e-5
    # and the shrinkage is steady, layer after layer (each sigmoid' <= 1/4)
    assert np.all(np.diff(np.log10(prof.weight_grad_norm)) > 0)


@pytest.mark.parametrize("seed", range(4))
def test_relu_kaiming_keeps_scale_xavier_shrinks_normal_explodes(spirals, seed):
    X, y = spirals.X, spirals.y.float()
    std = {
        name: gw.gradient_profile(gw.build_mlp(30, activation="relu", init=name, seed=seed), X, y).act_std
        for name in ("kaiming_normal", "xavier_normal", "normal")
    }
    kaiming = std["kaiming_normal"][-1] / std["kaiming_normal"][0]
    assert 0.1 < kaiming < 10
    assert std["xavier_normal"][-1] / std["xavier_normal"][0] < 1e-3
    assert std["normal"][-1] / std["normal"][0] > 1e10


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_zero_init_gives_exactly_zero_hidden_weight_gradients(regression, activation):
    prof = _profile(regression, num_layers=5, activation=activation, init="zeros")
    assert np.all(prof.weight_grad_norm == 0)


def test_constant_init_keeps_units_identical_through_training(regression):
    """Symmetry, not linearity: every unit of a layer gets the same gradient and stays a copy."""
    model = gw.build_mlp(3, width=8, in_features=1, activation="sigmoid", init="constant", init_scale=0.3)
    hist = gw.train(model, regression.X, regression.y, 50, 0.5)
    assert hist.layer_grad_norm[-1].min() > 0  # it does learn something ...
    for lin in model.hidden_linears:  # ... but every row (unit) is still the same
        assert torch.allclose(lin.weight, lin.weight[:1].expand_as(lin.weight))


@pytest.mark.parametrize("fix", [{"norm": "batch"}, {"residual": True}])
def test_batch_norm_and_residual_bring_first_last_ratio_orders_closer_to_one(regression, fix):
    plain = _profile(regression, num_layers=20, activation="sigmoid")
    fixed = _profile(regression, num_layers=20, activation="sigmoid", **fix)
    plain_dist = abs(np.log10(plain.first_last_ratio))
    fixed_dist = abs(np.log10(fixed.first_last_ratio))
    assert plain_dist > 10
    assert fixed_dist < plain_dist - 8


def test_rnn_gradient_grows_backward_in_time_above_radius_one(adding):
    exploding = gw.gradient_profile(gw.build_rnn(spectral_radius=1.5), adding.X, adding.y).time_grad_norm
    vanishing = gw.gradient_profile(gw.build_rnn(spectral_radius=0.5), adding.X, adding.y).time_grad_norm
    assert exploding[0] > 10 * exploding[-1]
    assert vanishing[0] < 1e-6 * vanishing[-1]


def test_clip_norm_keeps_direction_clip_value_does_not():
    g = torch.tensor([3.0, 0.1])
    a, b = g.clone().requires_grad_(), g.clone().requires_grad_()
    a.grad, b.grad = g.clone(), g.clone()
    torch.nn.utils.clip_grad_norm_([a], 1.0)
    torch.nn.utils.clip_grad_value_([b], 0.5)
    cos = lambda u: float(u @ g / (u.norm() * g.norm()))  # noqa: E731
    assert cos(a.grad) == pytest.approx(1.0)
    assert cos(b.grad) < 0.99


# ---- every number of the book is checked by its chapter's test module

BOOK = Path(__file__).resolve().parents[1] / "book"
TESTS = Path(__file__).resolve().parent
CHAPTER_TESTS = {
    "how-to-use": "test_book_howto.py",
    "primer": "test_book_primer.py",
    "backprop": "test_book_backprop.py",
    "vanishing-exploding": "test_book_vanishing.py",
    "activations": "test_book_activations.py",
    "initialization": "test_book_initialization.py",
    "normalization-skips": "test_book_normalization.py",
    "clipping-regularization": "test_book_clipping.py",
    "diagnose": "test_book_diagnose.py",
    "glossary": "test_book_glossary.py",
}
_ROLE = re.compile(r"\{(cite:p|cite:t|doc|ref|term|numref)\}`[^`]*`")
_GLUE = re.compile(r"\{glue:text\}`([A-Za-z0-9_]+)")
_NUMBER = re.compile(r"(?<![A-Za-z_\d.])\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


def _prose(chapter: str) -> str:
    """The chapter's text outside code cells, without roles, labels and shell examples."""
    text = (BOOK / f"{chapter}.md").read_text().split("\n---\n", 1)[1]  # after the front matter
    text = re.sub(r"```\{code-cell\}.*?\n```", "", text, flags=re.S)
    text = re.sub(r"```bash.*?```", "", text, flags=re.S)
    text = re.sub(r"^\s*(:(label|class|tags):.*|\(.*\)=)\s*$", "", text, flags=re.M)
    return _ROLE.sub("", text)


def _docstrings(path: Path) -> str:
    tree = ast.parse(path.read_text())
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]
    return "\n".join(d for n in nodes if (d := ast.get_docstring(n)))


@pytest.mark.parametrize("chapter", sorted(CHAPTER_TESTS))
def test_every_number_and_glued_value_of_a_chapter_is_quoted_by_a_test(chapter):
    """Each test of a chapter quotes the sentence it checks; so every number written in the prose
    (literally, or glued from a cell as {name}) must appear in a docstring of the chapter's tests."""
    prose, quoted = _prose(chapter), _docstrings(TESTS / CHAPTER_TESTS[chapter])
    glued = set(_GLUE.findall(prose))
    unquoted_glue = sorted(g for g in glued if not re.search(r"\{" + g + r"[:}]", quoted))
    literal = set(_NUMBER.findall(_THOUSANDS.sub("", _GLUE.sub("", prose))))
    unquoted_numbers = sorted(literal - set(_NUMBER.findall(_THOUSANDS.sub("", quoted))), key=float)
    assert not unquoted_glue, f"{chapter}: glued values no test quotes: {unquoted_glue}"
    assert not unquoted_numbers, f"{chapter}: numbers no test quotes: {unquoted_numbers}"
