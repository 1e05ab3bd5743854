"""gradwidgets.explorers.flow: the gradient-flow explorer shows vanishing and what lifts it."""

import numpy as np
from test_explorers import SMALL

from gradwidgets.explorers import gradient_flow


def test_gradient_flow_shows_vanishing_for_deep_sigmoid_and_batch_norm_lifts_it():
    ex = gradient_flow(**SMALL["gradient_flow"])
    plain = ex.run(ex.config(depth=12, activation="sigmoid", norm=None))
    bn = ex.run(ex.config(depth=12, activation="sigmoid", norm="batch"))
    assert plain.problem and "vanishing" in plain.status
    g_plain, g_bn = plain.data["grads"]["value"], bn.data["grads"]["value"]
    assert g_bn[0] / g_bn[-1] > 1e3 * (g_plain[0] / g_plain[-1])


def test_compare_with_a_and_b_alike_says_so_and_draws_b_dashed_over_a():
    from bokeh.models import ColumnDataSource, Line, Scatter

    from gradwidgets.explorers import compare

    ex = compare(
        ("sigmoid", "relu"), ("kaiming_normal",), 6, ("relu", "kaiming_normal"), ("relu", "kaiming_normal")
    )
    cfg = {
        "a_activation": "relu",
        "a_init": "kaiming_normal",
        "b_activation": "relu",
        "b_init": "kaiming_normal",
    }
    alike = ex.run(ex.config(**cfg))
    np.testing.assert_array_equal(alike.data["a"]["value"], alike.data["b"]["value"])  # one network
    assert alike.status.startswith("A and B are set alike") and "B dashed" in alike.status
    fig = ex.figures({k: ColumnDataSource(v) for k, v in alike.data.items()})
    lines = {r.data_source: r.glyph for r in fig.renderers if isinstance(r.glyph, Line)}
    dashes = sorted(str(g.line_dash) for g in lines.values())
    assert len(lines) == 2 and dashes[0] != dashes[1]
    markers = {r.glyph.marker for r in fig.renderers if isinstance(r.glyph, Scatter) and r.glyph.y == "y"}
    assert markers == {"circle", "square"}
    apart = ex.run(ex.config(**{**cfg, "a_activation": "sigmoid"}))
    assert "alike" not in apart.status and "A: first/last" in apart.status
    assert "(vanishing)" in apart.status or "(uneven)" in apart.status
