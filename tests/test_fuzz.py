"""Property-based tests of the public API: arbitrary values and types give a result or a
ValueError/TypeError naming the argument; never another exception, never a hang, and the
user's model is as it was (Hypothesis, a fixed number of derandomized examples)."""

import contextlib
import inspect
import re
import signal
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from torch import nn

import gradwidgets as gw
from gradwidgets import cli
from gradwidgets.explorers import CATALOG

FUZZ = settings(
    max_examples=40,
    deadline=None,  # a hang is caught by the alarm below: a deadline is measured only on return
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
HANG_SECONDS = 60

NAMES = [
    "tanh",
    "relu",
    "sigmoid",
    "batch",
    "layer",
    "sgd",
    "adam",
    "mse",
    "cross_entropy",
    "spirals",
    "adding",
]
ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 40),
    st.sampled_from([0, 10**6, 10**12, 2**64, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e39, 1e-300, 0.5, 1.0, 2.0]),
    st.text(max_size=6),
    st.sampled_from(NAMES),
    st.lists(st.integers(0, 5), max_size=3),
    st.complex_numbers(max_magnitude=2),
    st.sampled_from([np.int64(3), np.int64(2**58), np.float32(0.1), np.bool_(True), 10**400, -(10**400)]),
    st.sampled_from([torch.tensor(3), torch.tensor(0.5), torch.tensor([1.0, 2.0])]),
)


@contextlib.contextmanager
def no_hang(what):
    """Fail (instead of hanging the suite) when one call takes longer than HANG_SECONDS."""

    def alarm(signum, frame):
        raise TimeoutError(f"{what} ran for more than {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def call(func, names, *args, **kwargs):
    """Run ``func``; an error must be a ValueError/TypeError whose message names an argument."""
    with no_hang(func.__name__):
        try:
            return func(*args, **kwargs)
        except (ValueError, TypeError) as err:
            named = re.search(r"\b(" + "|".join(map(re.escape, names)) + r")\b", str(err))
            assert named, f"{func.__name__}: {type(err).__name__} does not name an argument: {err}"
            return err


def state(model):
    """Everything of a model's that a diagnostic call must leave as it was."""
    modules = list(model.modules())
    return {
        "params": [p.detach().clone() for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "buffers": [b.clone() for b in model.buffers()],
        "modes": [m.training for m in modules],
        "hooks": [
            (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks), "forward" in vars(m))
            for m in modules
        ],
        "param_hooks": [
            len(getattr(p, "_post_accumulate_grad_hooks", None) or {}) for p in model.parameters()
        ],
        "rng": torch.get_rng_state(),
        "threads": torch.get_num_threads(),
    }


def assert_same(before, after):
    for key in before:
        a, b = before[key], after[key]
        if key in ("params", "grads", "buffers"):
            assert len(a) == len(b) and all(
                (x is None and y is None) or (x is not None and y is not None and torch.equal(x, y))
                for x, y in zip(a, b, strict=True)
            ), f"the model's {key} changed"
        elif key == "rng":
            assert torch.equal(a, b), "the global torch RNG moved"
        else:
            assert a == b, f"the model's {key} changed: {a} -> {b}"


def small_model():
    return gw.build_mlp(3, width=8, activation="tanh", norm="batch")


X_GOOD = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
Y_GOOD = torch.randn(16, 1, generator=torch.Generator().manual_seed(1))
TENSORS = st.one_of(
    st.just(X_GOOD),
    st.just(Y_GOOD),
    st.just(torch.empty(0, 2)),
    st.just(torch.full((16, 2), float("nan"))),
    st.just(torch.ones(16, 3)),
    st.just(torch.ones(16, 2, dtype=torch.int64)),
    st.just(torch.ones(16, 2, dtype=torch.float64)),
    st.just(torch.ones(2)),
    st.just(X_GOOD.numpy()),
    st.just(torch.zeros(16, dtype=torch.int32)),
    st.just(torch.zeros(16, dtype=torch.bool)),
    ANY,
)


X_ANY = st.one_of(st.just(X_GOOD), TENSORS)  # half of the examples start from a good batch,
Y_ANY = st.one_of(st.just(Y_GOOD), TENSORS)  # so the valid paths are fuzzed too
LOSS_ANY = st.one_of(st.just("mse"), ANY)


VALID = {
    "num_layers": st.integers(1, 6),
    "width": st.integers(1, 16),
    "in_features": st.integers(1, 4),
    "out_features": st.integers(1, 3),
    "activation": st.sampled_from(sorted(gw.ACTIVATIONS)),
    "init": st.sampled_from(sorted(gw.INITS)),
    "init_gain": st.one_of(st.none(), st.floats(0.1, 3)),
    "norm": st.sampled_from(gw.NORMS),
    "residual": st.booleans(),
    "seed": st.integers(0, 2**63 - 1),
    "init_scale": st.one_of(st.none(), st.floats(0, 3)),
    "input_size": st.integers(1, 4),
    "hidden_size": st.integers(1, 16),
    "output_size": st.integers(1, 3),
    "spectral_radius": st.floats(0.1, 3),
    "name": st.sampled_from(gw.DATASETS),
    "n": st.integers(1, 64),
    "seq_len": st.integers(2, 20),
    "optimizer": st.sampled_from(gw.OPTIMIZERS),
    "momentum": st.floats(0, 0.99),
    "clip_norm": st.one_of(st.none(), st.floats(0.01, 10)),
    "clip_value": st.one_of(st.none(), st.floats(0.01, 10)),
    "weight_decay": st.floats(0, 0.1),
    "record_every": st.integers(1, 3),
    "loss": st.just("mse"),
}
"""A valid value per argument: two examples in three draw one, so valid calls are fuzzed too."""


def arg(name):
    """An argument's strategy: usually a valid value, else anything at all."""
    return st.one_of(VALID[name], VALID[name], ANY) if name in VALID else ANY


def kwargs_for(func, required=()):
    """Strategies for ``func``'s keyword arguments: each present with a value, or absent."""
    names = [n for n in inspect.signature(func).parameters if n not in ("self", "defaults")]
    optional = {n: arg(n) for n in names if n not in required}
    return st.fixed_dictionaries({n: arg(n) for n in required}, optional=optional)


@FUZZ
@given(kwargs_for(gw.build_mlp, required=("num_layers",)))
@example({"num_layers": 4, "norm": "batch", "residual": True})
def test_build_mlp(kwargs):
    result = call(gw.build_mlp, list(kwargs), **kwargs)
    assert isinstance(result, (nn.Module, ValueError, TypeError))


@FUZZ
@given(kwargs_for(gw.build_rnn))
def test_build_rnn(kwargs):
    result = call(gw.build_rnn, list(kwargs), **kwargs)
    assert isinstance(result, (nn.Module, ValueError, TypeError))


@FUZZ
@given(kwargs_for(gw.make_dataset, required=("name",)))
@example({"name": "adding", "n": 8, "seq_len": 5})
def test_make_dataset(kwargs):
    result = call(gw.make_dataset, list(kwargs), **kwargs)
    assert isinstance(result, (gw.Dataset, ValueError, TypeError))


@FUZZ
@given(X=X_ANY, y=Y_ANY, loss=LOSS_ANY, layers=st.one_of(st.none(), ANY))
@example(X=X_GOOD, y=Y_GOOD, loss="mse", layers=None)
def test_gradient_profile_leaves_the_model_as_it_was(X, y, loss, layers):
    model = small_model()
    before = state(model)
    result = call(
        gw.gradient_profile, ["model", "X", "y", "loss", "layers"], model, X, y, loss=loss, layers=layers
    )
    assert isinstance(result, (gw.GradientProfile, ValueError, TypeError))
    assert_same(before, state(model))


@FUZZ
@given(X=X_ANY, y=Y_ANY, loss=st.one_of(st.none(), LOSS_ANY))
@example(X=X_GOOD, y=Y_GOOD, loss=None)
def test_diagnose_leaves_the_model_as_it_was(X, y, loss):
    model = small_model().train()
    before = state(model)
    result = call(gw.diagnose, ["model", "X", "y", "loss"], model, X, y, loss=loss)
    assert isinstance(result, (gw.Report, ValueError, TypeError))
    assert_same(before, state(model))


TRAIN_ARGS = st.fixed_dictionaries(
    {
        "steps": st.one_of(st.integers(-1, 5), st.sampled_from([10**9, 2.0, None, True])),
        "lr": st.one_of(st.just(0.1), ANY),
    },
    optional={
        n: arg(n)
        for n in ("optimizer", "momentum", "clip_norm", "clip_value", "weight_decay", "record_every", "loss")
    },
)


@FUZZ
@given(X=X_ANY, y=Y_ANY, kwargs=TRAIN_ARGS)
@example(X=X_GOOD, y=Y_GOOD, kwargs={"steps": 3, "lr": 0.1, "clip_norm": 1.0})
@example(X=X_GOOD, y=Y_GOOD, kwargs={"steps": 5, "lr": 1e5})  # diverges: a result
def test_train_gives_a_history_or_names_the_argument_and_then_leaves_the_model_as_it_was(X, y, kwargs):
    model = small_model()
    before = state(model)
    result = call(gw.train, ["model", "X", "y", *kwargs], model, X, y, **kwargs)
    assert isinstance(result, (gw.History, ValueError, TypeError))
    if not isinstance(result, gw.History):
        assert_same(before, state(model))


WATCH_ARGS = st.fixed_dictionaries(
    {},
    optional={
        "scaler": st.one_of(ANY, st.just(torch.amp.GradScaler("cpu", init_scale=256.0))),
        "window": ANY,
        "blocks": st.one_of(ANY, st.sampled_from(["auto", "layers", 1, 2])),
        "updates": ANY,
        "activations": ANY,
    },
)


@FUZZ
@given(
    every=ANY,
    read_loss=st.one_of(st.none(), ANY, st.just(lambda: 1.0), st.just(lambda: 1 / 0)),
    kwargs=WATCH_ARGS,
)
@example(every=1, read_loss=None, kwargs={"blocks": 1, "updates": True, "activations": True, "window": 1})
def test_watch_records_or_names_the_argument_and_always_removes_its_hooks(every, read_loss, kwargs):
    model = small_model()
    before = state(model)
    names = ["model", "every", "read_loss", *kwargs]
    w = call(gw.watch, names, model, every=every, read_loss=read_loss, live=False, **kwargs)
    if isinstance(w, gw.Watch):
        with contextlib.suppress(ZeroDivisionError):  # the user's loss reader raising is theirs
            with no_hang("a watched step"):
                with w:
                    for _ in range(2):
                        out = model.eval()(X_GOOD)  # eval: the step moves no batch-norm statistics
                        ((out - Y_GOOD) ** 2).mean().backward()
        model.train().zero_grad(set_to_none=True)
        assert isinstance(w.history(), gw.History)
    before["rng"] = torch.get_rng_state()  # the step itself may draw (it is the user's loop)
    assert_same(before, state(model))


def _explorer_kwargs(factory):
    params = inspect.signature(factory).parameters
    choices = {
        n: st.lists(ANY, max_size=3).map(tuple)
        for n, p in params.items()
        if n.endswith("s") and n != "defaults"
    }
    others = {n: ANY for n in params if n not in choices and n != "defaults"}
    unknown = {"activaton": ANY, "depht": ANY}
    return st.fixed_dictionaries({}, optional={**choices, **others, **unknown})


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_explorer_factories(name):
    factory = CATALOG[name]

    @FUZZ
    @given(_explorer_kwargs(factory))
    def check(kwargs):
        result = call(factory, list(kwargs), **kwargs)
        if isinstance(result, gw.Explorer):
            for control in result.controls:  # every choice the factory accepted can be shown
                assert control.options and control.default in control.options
        else:
            assert isinstance(result, (ValueError, TypeError))

    check()


CLI_TOKENS = st.sampled_from(
    [
        "--input-shape",
        "2",
        "3,4",
        "0",
        "-1",
        "x",
        "100000,100000",
        "--batch",
        "1",
        "64",
        "10000000000",
        "--seed",
        "-5",
        "1180591620717411303424",
        "--loss",
        "mse",
        "hinge",
        "--classes",
        "--html",
        "/nonexistent/r.html",
    ]
)


@pytest.fixture
def factory_path(tmp_path):
    path = tmp_path / "fuzzmodels.py"
    model = "nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))"
    path.write_text(f"from torch import nn\n\n\ndef make():\n    return {model}\n")
    yield f"{path}:make"
    sys.modules.pop("fuzzmodels", None)


@settings(FUZZ, max_examples=40)
@given(tokens=st.lists(CLI_TOKENS, max_size=6))
def test_the_cli_exits_0_or_2_with_one_line_and_no_traceback(factory_path, tokens, capsys):
    with no_hang("the CLI"):
        try:
            code = cli.main(["report", factory_path, *tokens])
        except SystemExit as exit_:  # argparse's own refusal
            code = exit_.code
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err
    assert len(err.strip().splitlines()) <= 1 or err.startswith("usage:"), err
