"""The course's explorers: each face shows what the core computes, for its own controls.

Catalog-wide tests; what one explorer alone must show is in test_explorers_<module>.py, which
take their small grids from ``SMALL`` here.
"""

import re

import numpy as np
import pytest

import gradwidgets as gw
from gradwidgets.explorers import CATALOG, compare, gradient_flow, saturation
from gradwidgets.widgets import static_html

SMALL = {  # small grids and short runs, so each explorer's tests take seconds
    "gradient_flow": dict(
        depths=(3, 12),
        activations=("sigmoid", "relu"),
        inits=("xavier_normal",),
        norms=(None, "batch"),
        residual=(False,),
    ),
    "init_variance": dict(inits=("normal", "kaiming_normal"), activations=("relu",), widths=(16, 64)),
    "compare": dict(
        activations=("sigmoid", "relu"),
        inits=("xavier_normal",),
        depth=8,
        a=("sigmoid", "xavier_normal"),
        b=("relu", "xavier_normal"),
    ),
    "saturation": dict(activations=("sigmoid", "tanh"), gains=(1.0, 4.0), layers=(1, 3), depth=3),
    "norm_training": dict(
        norms=(None, "batch"), residual=(False,), activations=("sigmoid",), depths=(6,), steps=12
    ),
    "clipping": dict(modes=("none", "norm"), thresholds=(0.1, 1.0), radii=(1.5,), seq_len=10, steps=10),
    "learning_rate": dict(lrs=(0.2, 1.05), steps=10),
    "weight_decay": dict(optimizers=("sgd", "adamw"), decays=(0.0, 0.1), steps=10, depth=2, width=16),
    "cnn_flow": dict(
        depths=(3, 6), activations=("sigmoid", "relu"), inits=("pytorch_default",), norms=(None,)
    ),
    "sequence_memory": dict(cells=("lstm",), gate_biases=(None, 2.0), seq_lens=(10, 20), n=8),
    "fp16_range": dict(activations=("sigmoid", "relu"), depths=(3,), scales=(1.0, 2.0**16), width=8),
    "loss_scaling": dict(scalings=("none", "dynamic"), scales=(2.0**16,), steps=6, depth=3, width=8),
    "jacobian_spectrum": dict(
        activations=("linear", "sigmoid"), weights=("gaussian",), gains=(1.0, 2.0), depth=6
    ),
    "layer_norm_placement": dict(depths=(2, 4), seeds=(1, 2)),
    "warmup_training": dict(placements=(False, True), warmups=(0,), lrs=(0.01,), steps=12, num_layers=2),
}


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_explorer_default_runs_and_bakes_small(name):
    ex = CATALOG[name](**SMALL[name])
    result = ex.run(ex.default_config)
    assert result.data and result.status
    assert len(static_html(ex.static())) < 1_000_000


@pytest.mark.parametrize("name", list(CATALOG))
def test_live_control_change_shows_the_core_result(name):
    ex = CATALOG[name](**SMALL[name])
    panel = ex.live()
    control = next(c for c in ex.controls if len(c.options) > 1)
    new = next(o for o in control.options if o != control.default)
    panel.set(**{control.name: new})
    assert panel.wait(120)
    expected = ex.run(ex.config(**{control.name: new}))
    for source, cols in expected.data.items():
        for col, values in cols.items():
            got = panel.sources[source].data[col]
            if np.asarray(values).dtype.kind == "f":
                np.testing.assert_array_equal(np.asarray(got, dtype=float), values, err_msg=f"{source}.{col}")
            else:
                assert list(got) == list(values)


def test_explorer_labels_come_from_the_registries(monkeypatch):
    """Change a registry's label and the controls show it: no second copy of the labels."""
    import dataclasses

    from gradwidgets.core import models

    monkeypatch.setitem(
        gw.INITS, "kaiming_normal", dataclasses.replace(gw.INITS["kaiming_normal"], label="He!")
    )
    monkeypatch.setitem(gw.ACTIVATIONS, "relu", dataclasses.replace(gw.ACTIVATIONS["relu"], label="ReLU!"))
    monkeypatch.setitem(models.NORM_LABELS, "batch", "BN!")
    controls = {c.name: c for c in gradient_flow().controls}
    assert "He!" in controls["init"].option_labels
    assert "ReLU!" in controls["activation"].option_labels
    assert "BN!" in controls["norm"].option_labels
    assert "ReLU!" in {c.name: c for c in saturation().controls}["activation"].option_labels


def _choice_arguments():
    """Every (factory, argument) whose default is a tuple: the choices a factory offers."""
    import inspect

    for name, factory in CATALOG.items():
        for arg, param in inspect.signature(factory).parameters.items():
            if isinstance(param.default, tuple):
                yield name, arg, param.default


CHOICES = list(_choice_arguments())
CHOICE_IDS = [f"{name}-{arg}" for name, arg, _ in CHOICES]


@pytest.mark.parametrize("name", list(CATALOG))
def test_an_unknown_keyword_is_refused_by_name_with_the_nearest_one(name):
    first = CATALOG[name]().controls[0].name
    typo = first[0] + first  # "ddepth": near the control's name, and no argument's
    with pytest.raises(
        ValueError, match=rf"^{typo}= is not an argument of {name}\(\) \(did you mean '{first}'\?\)"
    ):
        CATALOG[name](**{typo: CATALOG[name]().controls[0].default})


def test_gradient_flow_refuses_a_misspelt_keyword_and_still_takes_a_controls_default():
    with pytest.raises(
        ValueError,
        match=r"activaton= is not an argument of gradient_flow\(\) \(did you mean 'activation'\?\)",
    ):
        gradient_flow(activaton="relu")
    ex = gradient_flow(depth=20, activation="relu", residual=(True, False))
    assert ex.default_config["depth"] == 20 and ex.default_config["activation"] == "relu"
    assert ex.default_config["residual"] is True
    with pytest.raises(ValueError, match=r"residual=True must be a sequence of choices, e.g. \(True,\)"):
        gradient_flow(residual=True)  # the name of the choices: no control's default


@pytest.mark.parametrize("name", list(CATALOG))
def test_a_default_that_is_not_among_the_choices_is_refused_at_the_call(name):
    first = CATALOG[name]().controls[0].name
    with pytest.raises(ValueError, match=rf"^{name}\(\): {first}='nope' is not supported"):
        CATALOG[name](**{first: "nope"})


@pytest.mark.parametrize(("name", "arg", "default"), CHOICES, ids=CHOICE_IDS)
def test_empty_or_unknown_choices_are_refused_at_the_call_by_name(name, arg, default):
    with pytest.raises(ValueError, match=rf"^{name}\(\): {arg}=\(\) "):
        CATALOG[name](**{arg: ()})
    with pytest.raises(ValueError, match=rf"^{name}\(\): {arg}\[0\]='nope' is not"):
        CATALOG[name](**{arg: ("nope", *default[1:])})


@pytest.mark.parametrize(
    ("name", "arg", "default"),
    [c for c in CHOICES if c[1] not in ("a", "b")],
    ids=[i for i, c in zip(CHOICE_IDS, CHOICES, strict=True) if c[1] not in ("a", "b")],
)
def test_a_choice_offered_twice_or_a_string_for_a_tuple_is_refused(name, arg, default):
    with pytest.raises(
        ValueError, match=rf"^{name}\(\): {arg}=.* offers {re.escape(repr(default[0]))} twice"
    ):
        CATALOG[name](**{arg: (default[0], *default)})
    with pytest.raises(ValueError, match=rf"^{name}\(\): {arg}='x' must be a sequence of choices"):
        CATALOG[name](**{arg: "x"})


def test_choices_are_checked_for_type_range_and_spelling():
    with pytest.raises(
        ValueError, match=r"activations\[0\]='relux' is not supported \(did you mean 'relu'\?\)"
    ):
        gradient_flow(activations=("relux",))
    with pytest.raises(ValueError, match=r"depths\[0\]=True is not allowed"):
        gradient_flow(depths=(True, 5))  # a bool is not an int
    with pytest.raises(ValueError, match=r"depths\[1\]=5.0 is not allowed"):
        gradient_flow(depths=(2, 5.0))
    with pytest.raises(ValueError, match=r"residual\[1\]=1 is not allowed; it must be True or False"):
        gradient_flow(residual=(False, 1))
    with pytest.raises(ValueError, match=r"depth=True is not supported"):
        gradient_flow(depth=True)
    with pytest.raises(ValueError, match=r"saturation\(\): layers\[0\]=4 is not allowed; .* from 1 to 3"):
        saturation(layers=(4,), depth=3)
    with pytest.raises(ValueError, match=r"dataset_name='adding' is not supported"):
        gradient_flow(dataset_name="adding")  # used to fail only when shown
    with pytest.raises(ValueError, match=r"compare\(\): a\[0\]='relux' is not supported"):
        compare(a=("relux", "xavier_normal"))  # used to start silently on the first activation
    with pytest.raises(ValueError, match=r"compare\(\): b=\('relu',\) must be a pair"):
        compare(b=("relu",))
    assert saturation(gain=1).default_config["gain"] == 1.0  # the offered option, as offered
