"""gradwidgets.explorers.trainers: training explorers stream partial results; clipping bounds norms."""

import numpy as np
from bokeh.models import ColumnDataSource, Legend
from test_explorers import SMALL

from gradwidgets.core.history import History
from gradwidgets.explorers import clipping, norm_training
from gradwidgets.explorers.trainers import _status


def test_norm_training_streams_partial_results():
    ex = norm_training(**SMALL["norm_training"])
    partials = []
    final = ex.run(ex.default_config, emit=lambda r: partials.append(r) or False)
    assert len(partials) >= 2 and partials[0].progress < 1 and final.progress == 1
    assert len(partials[0].data["loss"]["step"]) < len(final.data["loss"]["step"])


def test_norm_training_trains_the_init_chosen():
    kw = {**SMALL["norm_training"], "inits": ("xavier_normal", "kaiming_normal")}
    ex = norm_training(**kw)
    assert [c.name for c in ex.controls][-1] == "init"
    cfg = {**ex.default_config, "activation": "relu", "norm": None, "residual": False}
    xavier = ex.run({**cfg, "init": "xavier_normal"})
    he = ex.run({**cfg, "init": "kaiming_normal"})
    # the same network trained from He's scale starts with larger gradients in its first layers
    first_xavier = xavier.data["heat"]["value"][xavier.data["heat"]["step"] == 0]
    first_he = he.data["heat"]["value"][he.data["heat"]["step"] == 0]
    assert first_he[0] > 5 * first_xavier[0]  # about 10x at depth 6


def test_clipping_by_norm_bounds_the_recorded_norm():
    ex = clipping(**SMALL["clipping"])
    result = ex.run(ex.config(mode="norm", threshold=0.1))
    assert np.all(result.data["norms"]["norm_after"] <= 0.1 * (1 + 1e-5))
    assert (
        result.data["time"]["value"][0] > result.data["time"]["value"][-1]
    )  # radius 1.5 explodes back in time


def test_norm_training_does_not_speak_of_clipping():
    ex = norm_training(**SMALL["norm_training"])
    labels = {
        str(getattr(item.label, "value", item.label))
        for m in ex.figures(
            {k: ColumnDataSource(v) for k, v in ex.run(ex.default_config).data.items()}
        ).references()
        if isinstance(m, Legend)
        for item in m.items
    }
    assert "total gradient norm" in labels and not any("clipping" in label for label in labels)


def _history(losses, diverged_at=None):
    empty = np.zeros((0, 1))
    return History(
        ("l",), np.array(losses, float), np.arange(0), empty, empty[:, 0], empty[:, 0], empty, diverged_at
    )


def test_a_training_status_says_how_much_the_loss_fell_and_flags_a_loss_that_barely_moved():
    text, problem = _status(_history([0.8, 0.6, 0.4]), 3)
    assert text == "Step 3/3: the loss fell by 50% (0.8 to 0.4)." and not problem
    text, problem = _status(_history([0.6931, 0.6925, 0.6920]), 100)
    assert text == "Step 3/100: the loss barely fell, by 0.2% (0.693 to 0.692)." and problem
    text, problem = _status(_history([0.5, 0.7]), 2)
    assert text == "Step 2/2: the loss did not fall (0.5 to 0.7)." and problem
    text, problem = _status(_history([0.5, float("nan")], diverged_at=1), 2)
    assert text.startswith("Diverged at step 1") and problem
