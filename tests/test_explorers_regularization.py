"""The weight-decay explorer: its faces show what training computes."""

import numpy as np

from gradwidgets.explorers.regularization import LEARNING_RATES, weight_decay
from gradwidgets.widgets import static_html

SMALL = dict(optimizers=("sgd", "adamw"), decays=(0.0, 0.1), steps=12, depth=2, width=16)


def test_default_runs_and_bakes_small():
    ex = weight_decay(**SMALL)
    result = ex.run(ex.default_config)
    assert result.data and result.status.startswith("Step 12/12")
    assert len(static_html(ex.static())) < 1_000_000


def test_live_control_change_shows_the_core_result():
    ex = weight_decay(**SMALL)
    panel = ex.live()
    panel.set(optimizer="adamw")
    assert panel.wait(120)
    expected = ex.run(ex.config(optimizer="adamw"))
    for source, cols in expected.data.items():
        for col, values in cols.items():
            np.testing.assert_array_equal(np.asarray(panel.sources[source].data[col], dtype=float), values)


def test_decay_line_is_pure_decay_and_sgd_follows_it_without_a_gradient_signal():
    ex = weight_decay(**SMALL)
    data = ex.run(ex.config(optimizer="sgd", decay=0.1)).data
    norms, decay = data["params"]["value"], data["decay"]["value"]
    steps = np.arange(decay.size)
    np.testing.assert_allclose(decay, norms[0] * (1 - LEARNING_RATES["sgd"] * 0.1) ** steps)
    assert norms.size == 13 and data["loss"]["value"].size == 12


def test_streams_partial_results():
    ex = weight_decay(**SMALL)
    partials = []
    final = ex.run(ex.default_config, emit=lambda r: partials.append(r) or False)
    assert partials and partials[0].progress < 1 and final.progress == 1
    assert len(partials[0].data["params"]["x"]) < len(final.data["params"]["x"])
