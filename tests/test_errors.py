"""Bad input: a ValueError that names the argument and what is allowed."""

import numpy as np
import pytest
import torch

import gradwidgets as gw


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activation": "swish"}, r"activation='swish'.*allowed: 'sigmoid', 'tanh'"),
        ({"init": "he"}, r"init='he'.*'kaiming_normal'"),
        ({"norm": "group"}, r"norm='group'.*None, 'batch', 'layer'"),
        ({"num_layers": 0}, r"num_layers=0.*integer from 1 to 10000"),
        ({"width": 0}, r"width=0.*>= 1"),
        ({"num_layers": 2.5}, r"num_layers=2.5.*integer"),
        ({"init_gain": -1.0}, r"init_gain=-1.0.*>= 0"),
    ],
)
def test_build_mlp_rejects(kwargs, match):
    args = {"num_layers": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        gw.build_mlp(**args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"spectral_radius": 0}, r"spectral_radius=0.*> 0"),
        ({"activation": "sigmoid"}, r"activation='sigmoid'.*'tanh', 'relu'"),
        ({"hidden_size": 0}, r"hidden_size=0"),
    ],
)
def test_build_rnn_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gw.build_rnn(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0}, r"lr=0.*> 0"),
        ({"lr": -0.1}, r"lr=-0.1.*> 0"),
        ({"lr": float("nan")}, r"lr=nan"),
        ({"steps": 0}, r"steps=0.*integer from 1 to 1000000"),
        ({"optimizer": "rmsprop"}, r"optimizer='rmsprop'.*'sgd', 'adam', 'adamw'"),
        ({"clip_norm": 0}, r"clip_norm=0.*> 0"),
        ({"clip_value": -1}, r"clip_value=-1"),
        ({"record_every": 0}, r"record_every=0"),
        ({"weight_decay": -1}, r"weight_decay=-1.*>= 0"),
        ({"optimizer": "adam", "momentum": 0.9}, r"momentum=0.9.*'sgd' only"),
        ({"loss": "hinge"}, r"loss='hinge'.*'mse', 'cross_entropy'"),
    ],
)
def test_train_rejects(kwargs, match, regression):
    args = {"steps": 2, "lr": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        gw.train(gw.build_mlp(2, in_features=1), regression.X, regression.y, **args)


def test_batch_of_one_with_batch_norm_in_training(regression):
    model = gw.build_mlp(2, in_features=1, norm="batch")
    for call in (gw.gradient_profile, lambda *a: gw.train(*a, steps=1, lr=0.1)):
        with pytest.raises(ValueError, match=r"X has a batch of 1.*batch norm in training mode"):
            call(model, regression.X[:1], regression.y[:1])
    model.eval()  # evaluation mode uses running statistics: a single example is fine
    assert gw.gradient_profile(model, regression.X[:1], regression.y[:1]).finite


def test_x_y_mismatch(regression):
    with pytest.raises(
        ValueError, match=r"X and y must have the same number of examples.*\(128, 1\).*\(127, 1\)"
    ):
        gw.gradient_profile(gw.build_mlp(2, in_features=1), regression.X, regression.y[:-1])


def test_x_wrong_width(regression):
    with pytest.raises(ValueError, match=r"X of shape \(128, 1\) does not fit the model"):
        gw.gradient_profile(gw.build_mlp(2, in_features=3), regression.X, regression.y)


def test_y_wrong_shape_for_mse(regression):
    with pytest.raises(ValueError, match=r"y has shape \(128, 2\) but the model outputs \(128, 1\)"):
        gw.gradient_profile(gw.build_mlp(2, in_features=1), regression.X, regression.y.repeat(1, 2))


def test_cross_entropy_needs_labels(spirals):
    model = gw.build_mlp(2, out_features=2)
    with pytest.raises(ValueError, match=r"y must hold integer class labels"):
        gw.gradient_profile(model, spirals.X, spirals.y.float(), loss="cross_entropy")
    with pytest.raises(ValueError, match=r"labels 0..1 but the model outputs 1 class \(\(256, 1\)\)"):
        gw.gradient_profile(gw.build_mlp(2), spirals.X, spirals.y, loss="cross_entropy")


def test_non_scalar_loss(regression):
    with pytest.raises(ValueError, match=r"loss must return a scalar tensor; got \(128, 1\)"):
        gw.gradient_profile(
            gw.build_mlp(2, in_features=1), regression.X, regression.y, loss=lambda o, y: o - y
        )


def test_model_without_parameters(regression):
    with pytest.raises(ValueError, match=r"model \(Tanh\) has no parameters"):
        gw.gradient_profile(torch.nn.Tanh(), regression.X, regression.y)


def test_divergence_never_raises(regression):
    model = gw.build_mlp(6, in_features=1, activation="relu", init="normal", init_scale=10.0)
    hist = gw.train(model, regression.X, regression.y, steps=10, lr=10.0)
    assert hist.diverged_at is not None


# ---- every argument checked at the public entry ----------------------------------------------

SEED_TAKERS = {
    "make_dataset": lambda seed: gw.make_dataset("spirals", 8, seed=seed),
    "build_mlp": lambda seed: gw.build_mlp(2, seed=seed),
    "build_rnn": lambda seed: gw.build_rnn(seed=seed),
}


@pytest.mark.parametrize("bad", [None, "abc", 1.5, -1, True, 2**63])
@pytest.mark.parametrize("where", sorted(SEED_TAKERS))
def test_a_seed_is_an_int_from_0_to_2_63(where, bad):
    with pytest.raises(ValueError, match=rf"^seed={bad!r} is not allowed; it must be an integer from 0 to"):
        SEED_TAKERS[where](bad)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"init": "normal", "init_scale": -1.0}, r"^init_scale=-1.0 is not allowed; .*>= 0"),
        ({"residual": "no"}, r"^residual='no' is not allowed; it must be True or False"),
        ({"residual": 1}, r"^residual=1 is not allowed"),
    ],
)
def test_build_mlp_rejects_a_negative_scale_and_a_residual_that_is_not_a_bool(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gw.build_mlp(3, **kwargs)


ENTRIES = {
    "gradient_profile": gw.gradient_profile,
    "diagnose": gw.diagnose,
    "train": lambda m, X, y, **kw: gw.train(m, X, y, steps=5, lr=0.1, **kw),
}


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_the_model_must_be_a_real_module_with_something_to_train(entry, regression):
    call = ENTRIES[entry]
    with pytest.raises(ValueError, match=r"^model must be a torch.nn.Module, got function"):
        call(lambda x: x, regression.X, regression.y)
    with torch.device("meta"):
        meta = torch.nn.Linear(1, 1)
    with pytest.raises(ValueError, match=r"^model \(Linear\) has parameters on the 'meta' device"):
        call(meta, regression.X, regression.y)
    frozen = gw.build_mlp(2, in_features=1).requires_grad_(False)
    with pytest.raises(ValueError, match=r"^model \(MLP\) has no parameter with requires_grad=True"):
        call(frozen, regression.X, regression.y)
    with pytest.raises(ValueError, match=r"^X has no examples \(shape \(0, 1\)\)"):
        call(gw.build_mlp(2, in_features=1), regression.X[:0], regression.y[:0])


def test_watch_refuses_a_meta_or_frozen_model_and_a_live_that_is_not_a_bool():
    with torch.device("meta"):
        meta = torch.nn.Linear(1, 1)
    with pytest.raises(ValueError, match=r"'meta' device"):
        gw.watch(meta)
    with pytest.raises(ValueError, match=r"has no parameter with requires_grad=True"):
        gw.watch(torch.nn.Linear(1, 1).requires_grad_(False))
    with pytest.raises(ValueError, match=r"^live='yes' is not allowed; it must be True or False"):
        gw.watch(torch.nn.Linear(1, 1), live="yes")


@pytest.mark.parametrize(
    ("entry", "arg"), [("gradient_profile", "loss"), ("diagnose", "loss"), ("train", "loss")]
)
@pytest.mark.parametrize(
    "loss",
    [lambda o, y: torch.tensor(0.5), lambda o, y: ((o.detach() - y) ** 2).mean()],
    ids=["constant", "detached"],
)
def test_a_loss_not_connected_to_the_model_names_the_loss(entry, arg, loss, regression):
    model = gw.build_mlp(2, in_features=1)
    with pytest.raises(
        ValueError, match=rf"^{arg}: the loss \(.*\) does not depend on any trainable parameter"
    ):
        ENTRIES[entry](model, regression.X, regression.y, **{arg: loss})


def test_profile_layers_must_list_probed_modules_of_the_model(regression):
    model = gw.build_mlp(3, in_features=1)
    X, y = regression.X, regression.y
    for bad, match in [
        (5, r"^layers=5 is not allowed; it must be a non-empty list of modules"),
        ([], r"^layers=\[\] is not allowed"),
        ([torch.nn.Linear(1, 1)], r"^layers\[0\]=Linear.* is not a module of the model"),
        (
            [model.blocks[0].act],
            r"^layers\[0\] is a Tanh, which owns no weight of 2 or more dimensions; layers must",
        ),
    ]:
        with pytest.raises(ValueError, match=match):
            gw.gradient_profile(model, X, y, layers=bad)
    chosen = gw.gradient_profile(model, X, y, layers=(model.blocks[2].linear, model.blocks[0].linear))
    assert chosen.layer_names == ("blocks.2.linear", "blocks.0.linear")


def test_each_argument_is_checked_once_at_the_public_entry(monkeypatch, regression):
    from gradwidgets.core import diagnosis, losses, profile

    calls = []

    def counting(model, X, y):
        calls.append(1)
        return losses.prepare_batch(model, X, y)

    monkeypatch.setattr(diagnosis, "prepare_batch", counting)
    monkeypatch.setattr(profile, "prepare_batch", counting)
    gw.diagnose(gw.build_mlp(2, in_features=1), regression.X, regression.y)
    assert len(calls) == 1


# ---- a failure midway leaves the user's state as it was ---------------------------------------


class Failure(Exception):  # noqa: N818 (a test double)
    pass


class Boom(torch.nn.Module):
    """Passes its input on ``calls`` times, then raises ``error``."""

    def __init__(self, error: BaseException, calls: int = 0):
        super().__init__()
        self.error, self.calls = error, calls

    def forward(self, x):
        self.calls -= 1
        if self.calls < 0:
            raise self.error
        return x


def _failing_model(error=None, calls=0):
    torch.manual_seed(0)
    nn = torch.nn
    middle = Boom(error, calls) if error is not None else nn.Identity()
    return nn.Sequential(
        nn.Linear(1, 8),
        nn.BatchNorm1d(8),
        nn.Tanh(),
        nn.Dropout(0.3),
        middle,
        nn.Linear(8, 8),
        nn.Tanh(),
        nn.Linear(8, 1),
    )


def _state(model):
    return {
        "params": [p.detach().clone() for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "flags": [p.requires_grad for p in model.parameters()],
        "buffers": [b.clone() for b in model.buffers()],
        "modes": [m.training for m in model.modules()],
        "rng": torch.get_rng_state(),
        "threads": torch.get_num_threads(),
    }


def _assert_untouched(model, before):
    after = _state(model)
    for key in ("params", "grads", "buffers"):
        for a, b in zip(after[key], before[key], strict=True):
            assert (a is None and b is None) or torch.equal(a, b), key
    for key in ("flags", "modes", "threads"):
        assert after[key] == before[key], key
    assert torch.equal(after["rng"], before["rng"])
    for m in model.modules():
        assert not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks)
        assert "forward" not in m.__dict__  # the tracer's wrapper is gone
    for p in model.parameters():
        assert not p._post_accumulate_grad_hooks and not p._backward_hooks


def _loss_failing_after(calls):
    """MSE for ``calls`` calls, then an error."""
    left = [calls]

    def loss(output, y):
        left[0] -= 1
        if left[0] < 0:
            raise Failure("loss failed")
        return torch.nn.functional.mse_loss(output, y)

    return loss


FAILURES = {  # (model, loss, the error that surfaces), given how many calls succeed first
    "forward raises in the middle layer": (lambda n: _failing_model(Failure("boom"), n), None, Failure),
    "the loss raises": (lambda n: _failing_model(), _loss_failing_after, Failure),
    "an interrupt inside the forward": (
        lambda n: _failing_model(KeyboardInterrupt(), n),
        None,
        KeyboardInterrupt,
    ),
}


@pytest.mark.parametrize("entry", ["gradient_profile", "diagnose", "train"])
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failure_midway_restores_everything(entry, failure, regression):
    make_model, make_loss, error = FAILURES[failure]
    calls = 2 if entry == "train" else 0  # train fails after two steps have changed the weights
    model = make_model(calls)
    model[5].eval()  # a mixed train/eval state, to be kept
    model[0].bias.requires_grad_(False)
    (model[7].weight.sum() * 2).backward()  # a .grad the user has
    torch.set_num_threads(1)
    before = _state(model)
    kwargs = {} if make_loss is None else {"loss": make_loss(calls)}
    with pytest.raises(error):
        ENTRIES[entry](model, regression.X, regression.y, **kwargs)
    _assert_untouched(model, before)


def test_the_fast_path_of_a_built_mlp_restores_everything_too(regression):
    model = gw.build_mlp(3, in_features=1, norm="batch")
    before = _state(model)
    for entry in ("gradient_profile", "train"):
        with pytest.raises(KeyboardInterrupt):
            ENTRIES[entry](model, regression.X, regression.y, loss=_interrupt)
        _assert_untouched(model, before)


def _interrupt(output, y):
    raise KeyboardInterrupt


def test_gradient_profile_keeps_the_global_random_state_with_dropout(regression):
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, 1))
    state = torch.get_rng_state()
    first = gw.gradient_profile(model, regression.X, regression.y)
    assert torch.equal(torch.get_rng_state(), state)
    assert first.loss == gw.gradient_profile(model, regression.X, regression.y).loss  # the same draws again


# ---- what a forward returns: one rule (losses.split_output) for profile, train and diagnose --------


class Wrapped(torch.nn.Module):
    """An MLP whose forward returns its output in another container."""

    def __init__(self, pack):
        super().__init__()
        self.net, self.pack = gw.build_mlp(2, in_features=1), pack

    def forward(self, x):
        return self.pack(self.net(x))


@pytest.mark.parametrize(
    "pack",
    [
        lambda out: (out, out.detach() * 0),
        lambda out: [out],
        lambda out: {"logits": out, "hidden": out * 2},
        lambda out: {"prediction": out},
    ],
    ids=["tuple", "list", "logits", "only-tensor"],
)
def test_tuple_and_dict_outputs_are_measured_as_the_plain_tensor(pack, regression):
    X, y = regression.X, regression.y
    plain, wrapped = Wrapped(lambda out: out), Wrapped(pack)
    assert gw.gradient_profile(wrapped, X, y).loss == gw.gradient_profile(plain, X, y).loss
    assert gw.diagnose(wrapped, X, y).profile.loss == gw.diagnose(plain, X, y).profile.loss
    np.testing.assert_array_equal(
        gw.train(wrapped, X, y, steps=3, lr=0.1).loss, gw.train(plain, X, y, steps=3, lr=0.1).loss
    )


def test_a_models_own_loss_is_what_diagnose_measures_by_default(regression):
    X, y = regression.X, regression.y
    own = Wrapped(lambda out: {"loss": (out**2).mean(), "logits": out})
    report = gw.diagnose(own, X, y)
    assert report.loss_name == "the model's own loss"
    assert report.profile.loss == pytest.approx(float((own.net(X) ** 2).mean().detach()))
    assert gw.diagnose(own, X, y, loss="mse").loss_name == "mse"  # a named loss reads the logits


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_an_output_nothing_can_be_read_from_is_a_value_error_that_says_what_was_returned(entry, regression):
    model = Wrapped(lambda out: {"a": out, "b": out})
    with pytest.raises(
        ValueError, match=r"^model returned a dict of 2 this cannot measure; accepted: a tensor"
    ):
        ENTRIES[entry](model, regression.X, regression.y)
