"""Bad input: a ValueError that names the argument and what is allowed."""

import pytest
import torch

import gradwidgets as gw


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activation": "swish"}, r"activation='swish'.*allowed: 'sigmoid', 'tanh'"),
        ({"init": "he"}, r"init='he'.*'kaiming_normal'"),
        ({"norm": "group"}, r"norm='group'.*None, 'batch', 'layer'"),
        ({"num_layers": 0}, r"num_layers=0.*>= 1"),
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
        ({"steps": 0}, r"steps=0.*>= 1"),
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
    with pytest.raises(ValueError, match=r"labels 0..1 but the model outputs \(256, 1\)"):
        gw.gradient_profile(gw.build_mlp(2), spirals.X, spirals.y, loss="cross_entropy")


def test_non_scalar_loss(regression):
    with pytest.raises(ValueError, match=r"loss must return a scalar tensor; got \(128, 1\)"):
        gw.gradient_profile(
            gw.build_mlp(2, in_features=1), regression.X, regression.y, loss=lambda o, y: o - y
        )


def test_model_without_parameters(regression):
    with pytest.raises(ValueError, match=r"model has no parameters"):
        gw.gradient_profile(torch.nn.Tanh(), regression.X, regression.y)


def test_divergence_never_raises(regression):
    model = gw.build_mlp(6, in_features=1, activation="relu", init="normal", init_scale=10.0)
    hist = gw.train(model, regression.X, regression.y, steps=10, lr=10.0)
    assert hist.diverged_at is not None
