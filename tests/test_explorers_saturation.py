"""gradwidgets.explorers.saturation: saturated units against the initial weights' gain."""

from test_explorers import SMALL

from gradwidgets.explorers import saturation


def test_saturation_grows_with_the_gain():
    ex = saturation(**SMALL["saturation"])
    low = ex.run(ex.config(activation="tanh", gain=1.0, layer=3)).data["acts"]["saturation"][2]
    high = ex.run(ex.config(activation="tanh", gain=4.0, layer=3)).data["acts"]["saturation"][2]
    assert high > low + 0.2
