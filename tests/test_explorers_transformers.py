"""gradwidgets.explorers.transformers: LayerNorm placement at initialization; training with warmup."""

import numpy as np
import pytest
from test_explorers import SMALL

from gradwidgets.explorers import layer_norm_placement, warmup_training
from gradwidgets.lessons import mean_ffn_grad_norms, warmup_run


def test_layer_norm_placement_draws_the_lessons_measurement():
    ex = layer_norm_placement(**SMALL["layer_norm_placement"])
    result = ex.run(ex.config(depth=4, seeds=2))
    post, pre = mean_ffn_grad_norms(4, False, 2), mean_ffn_grad_norms(4, True, 2)
    np.testing.assert_array_equal(result.data["post-LN"]["value"], post)
    np.testing.assert_array_equal(result.data["pre-LN"]["x"], [1, 2, 3, 4])
    assert f"{post[-1] / pre[-1]:.1f} × pre-LN's" in result.status


def test_warmup_training_streams_and_shares_the_lessons_runs():
    # a setting no other test computes: a cached run would not stream
    ex = warmup_training(placements=(True,), warmups=(3,), lrs=(0.01,), steps=13, num_layers=2)
    partials = []
    final = ex.run(ex.default_config, emit=lambda r: partials.append(r) or False)
    assert partials and partials[0].progress < 1 and final.progress == 1
    cached = warmup_run(True, 3, 0.01, 0, 2, 13)  # computed by the explorer, not again
    np.testing.assert_array_equal(final.data["loss"]["loss"], cached.loss)
    assert len(final.data["heat"]["step"]) == 13 * 4  # embeddings, 2 layers, head
    again = []
    assert ex.run(ex.default_config, emit=lambda r: again.append(r) or False).status == final.status
    assert not again


def test_a_stalled_run_says_it_learned_nothing():
    """Post-LN at 0.02 without warmup, the chapter's default network: the status says it is guessing."""
    ex = warmup_training(placements=(False,), warmups=(0,), lrs=(0.02,))
    result = ex.run(ex.default_config)
    assert "learned nothing" in result.status and result.problem


@pytest.mark.parametrize(
    ("factory", "kwargs", "arg"),
    [
        (layer_norm_placement, {"depths": (0,)}, "depths"),
        (layer_norm_placement, {"seeds": ()}, "seeds"),
        (warmup_training, {"lrs": (0.0,)}, "lrs"),
        (warmup_training, {"placements": ("pre",)}, "placements"),
        (warmup_training, {"warmup": 5}, "warmup"),
    ],
)
def test_bad_arguments_name_themselves(factory, kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        factory(**kwargs)


def test_the_decoder_only_stack_is_the_causal_measurement():
    ex = layer_norm_placement(depths=(4,), seeds=(2,), stacks=("encoder", "decoder-only"))
    decoder = ex.run(ex.config(stack="decoder-only"))
    encoder = ex.run(ex.config(stack="encoder"))
    for label, pre in (("post-LN", False), ("pre-LN", True)):
        expected = mean_ffn_grad_norms(4, pre, 2, causal=True)
        np.testing.assert_allclose(decoder.data[label]["value"], expected, rtol=1e-6)
        assert not np.allclose(encoder.data[label]["value"], expected)
    with pytest.raises(ValueError, match="stacks"):
        layer_norm_placement(stacks=("decoder",))
