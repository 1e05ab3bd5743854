"""gradwidgets.widgets.spec: an explorer's declaration, its grid of configs, keys and status lines."""

import pytest
from test_widgets_explorer import make

from gradwidgets.widgets.spec import Control


def test_grid_and_keys():
    ex = make()
    assert ex.grid_size == 16 and len(list(ex.grid())) == 16
    assert ex.key({"depth": 8, "activation": "relu"}) == "2-2"
    assert ex.default_config == {"depth": 4, "activation": "tanh"}


def test_bad_declarations_and_configs():
    with pytest.raises(ValueError, match=r"default=3 of control 'depth' is not one of \(2, 4\)"):
        Control("depth", "Depth", (2, 4), 3)
    with pytest.raises(ValueError, match=r"'width' is not a control of 'test'; controls: depth, activation"):
        make().config(width=3)
    with pytest.raises(ValueError, match=r"depth=3 is not allowed; allowed: 2, 4, 8, 16"):
        make().config(depth=3)


def test_exceptions_and_invalid_combinations_become_status_lines():
    ex = make(
        invalid=lambda c: (
            "too deep for sigmoid here" if c["depth"] == 16 and c["activation"] == "sigmoid" else None
        )
    )
    bad = ex.run({"depth": 2, "activation": "boom"})
    assert bad.problem and "RuntimeError: kaboom" in bad.status and not bad.data
    invalid = ex.run({"depth": 16, "activation": "sigmoid"})
    assert invalid.problem and invalid.status == "too deep for sigmoid here"


def test_a_control_offers_each_choice_once_and_matches_values_by_type():
    with pytest.raises(ValueError, match=r"options of control 'depth' offer 4 twice"):
        Control("depth", "Depth", (2, 4, 4))
    with pytest.raises(ValueError, match=r"default=1 of control 'residual' is not one of \(False, True\)"):
        Control("residual", "Skips", (False, True), 1)  # 1 is not True
    skips = Control("residual", "Skips", (False, True))
    with pytest.raises(ValueError, match=r"residual=0 is not allowed"):
        skips.index(0)
    depth = Control("depth", "Depth", (2, 4))
    with pytest.raises(ValueError, match=r"depth=4.0 is not allowed"):
        depth.index(4.0)
    assert Control("gain", "Gain", (0.5, 1.0)).index(1) == 1  # 1 is the number 1.0
