"""gradwidgets.explorers.trainers: training explorers stream partial results; clipping bounds norms."""

import numpy as np
from test_explorers import SMALL

from gradwidgets.explorers import clipping, norm_training


def test_norm_training_streams_partial_results():
    ex = norm_training(**SMALL["norm_training"])
    partials = []
    final = ex.run(ex.default_config, emit=lambda r: partials.append(r) or False)
    assert len(partials) >= 2 and partials[0].progress < 1 and final.progress == 1
    assert len(partials[0].data["loss"]["step"]) < len(final.data["loss"]["step"])


def test_clipping_by_norm_bounds_the_recorded_norm():
    ex = clipping(**SMALL["clipping"])
    result = ex.run(ex.config(mode="norm", threshold=0.1))
    assert np.all(result.data["norms"]["norm_after"] <= 0.1 * (1 + 1e-5))
    assert (
        result.data["time"]["value"][0] > result.data["time"]["value"][-1]
    )  # radius 1.5 explodes back in time
