"""gradwidgets.explorers.casestudies: the CNN-flow and sequence-memory explorers."""

import pytest

from gradwidgets.explorers.casestudies import cnn_flow, sequence_memory
from gradwidgets.widgets import static_html


def test_full_explorers_bake_under_a_megabyte():
    """The chapter's grids: 54 CNN profiles and 32 sequence runs."""
    for ex in (cnn_flow(), sequence_memory()):
        assert len(static_html(ex.static())) < 1_000_000


def test_single_option_controls_are_hidden():
    ex = cnn_flow(depths=(5,), norms=(None,))
    assert [c.name for c in ex.controls] == ["activation", "init"]
    assert len(ex.run(ex.default_config).data["grads"]["value"]) == 6  # five convolutions and the head


def test_sequence_memory_rejects_rnn_and_reports_underflow():
    with pytest.raises(ValueError, match="no gate"):
        sequence_memory(cells=("rnn", "lstm"))
    ex = sequence_memory(cells=("gru",), gate_biases=(None,), seq_lens=(30,), n=8)
    result = ex.run(ex.default_config)
    assert result.problem and "vanishing: step 1's gradient is" in result.status
    first, last = result.data["time"]["value"][[0, -1]]
    assert f"ratio {first / last:.1e}," in result.status  # the measured ratio, as measured
