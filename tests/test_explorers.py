"""The course's explorers: each face shows what the core computes, for its own controls.

Catalog-wide tests; what one explorer alone must show is in test_explorers_<module>.py, which
take their small grids from ``SMALL`` here.
"""

import numpy as np
import pytest
from bokeh.embed import json_item

import gradwidgets as gw
from gradwidgets.explorers import CATALOG, gradient_flow, saturation

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
    "jacobian_spectrum": dict(
        activations=("linear", "sigmoid"), weights=("gaussian",), gains=(1.0, 2.0), depth=6
    ),
}


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_explorer_default_runs_and_bakes_small(name):
    ex = CATALOG[name](**SMALL[name])
    result = ex.run(ex.default_config)
    assert result.data and result.status
    layout = ex.static()
    assert len(str(json_item(layout))) < 1_000_000


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
