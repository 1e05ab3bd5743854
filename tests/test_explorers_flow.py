"""gradwidgets.explorers.flow: the gradient-flow explorer shows vanishing and what lifts it."""

from test_explorers import SMALL

from gradwidgets.explorers import gradient_flow


def test_gradient_flow_shows_vanishing_for_deep_sigmoid_and_batch_norm_lifts_it():
    ex = gradient_flow(**SMALL["gradient_flow"])
    plain = ex.run(ex.config(depth=12, activation="sigmoid", norm=None))
    bn = ex.run(ex.config(depth=12, activation="sigmoid", norm="batch"))
    assert plain.problem and "vanishing" in plain.status
    g_plain, g_bn = plain.data["grads"]["value"], bn.data["grads"]["value"]
    assert g_bn[0] / g_bn[-1] > 1e3 * (g_plain[0] / g_plain[-1])
