"""What a watch keeps (a window), which steps diverged or a scaler skipped, and its summary."""

import math

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.core import thresholds
from gradwidgets.core.history import build_history
from gradwidgets.core.watchrecords import (
    RULES,
    Records,
    as_loss,
    classify_steps,
    layer_flags,
    summary_line,
    summary_table,
)

NAN, INF = math.nan, math.inf


def _record(step, norms, loss=NAN):
    norms = np.asarray(norms, dtype=float)
    total = math.sqrt(float(np.sum(norms**2)))
    return gw.StepRecord(step, loss, norms, total, total, np.full(norms.size, NAN))


def _history(rows, skipped=(), names=None, steps=None):
    names = names or tuple(f"l{i}" for i in range(len(rows[0])))
    steps = steps or range(len(rows))
    records = [_record(s, r) for s, r in zip(steps, rows, strict=True)]
    return build_history(names, [1.0] * len(rows), records, skipped=skipped)


def test_classify_without_and_with_a_scaler():
    records = [_record(0, [1.0]), _record(2, [INF]), _record(4, [1.0])]
    losses = [1.0, NAN, 1.0, 1.0, INF]  # steps 10.. with first=10 below
    assert classify_steps(records, [1.0, 1.0, 1.0, NAN, INF], 0, scaled=False) == ([2, 3, 4], [])
    # with a scaler: a recorded non-finite gradient, or an unrecorded non-finite loss, was skipped
    assert classify_steps(records, [1.0, 1.0, 1.0, NAN, INF], 0, scaled=True) == ([4], [2, 3])
    assert classify_steps([], losses, 10, scaled=True) == ([], [11, 14])
    assert classify_steps([], [], 0, scaled=True) == ([], [])


def test_records_keep_a_window_and_count_what_leaves_it():
    kept = Records(window=2, scaled=True)
    for step in range(6):
        kept.add(_record(step, [INF] if step in (0, 1) else [1.0], loss=float(step)))
        kept.losses.append(NAN if step == 1 else float(step))
        assert len(kept.records) <= 2 and len(kept.losses) <= 3
    assert [r.step for r in kept.records] == [4, 5] and kept.loss_start == 4
    assert list(kept.losses) == [4.0, 5.0] and kept.loss_of(5) == 5.0 and math.isnan(kept.loss_of(3))
    assert kept.gone_skipped == 2
    hist = kept.history(("a",))
    assert hist.steps.tolist() == [4, 5] and hist.loss_start == 4 and hist.skipped == ()
    assert hist.diverged_at is None
    unscaled = Records(window=1, scaled=False)
    for step in range(4):
        unscaled.add(_record(step, [INF] if step == 1 else [1.0]))
        unscaled.losses.append(1.0)
    assert unscaled.history(("a",)).diverged_at == 1  # gone from the window, still the first
    everything = Records(window=None, scaled=False)
    for step in range(300):
        everything.add(_record(step, [1.0]))
    assert len(everything.records) == 300


def test_as_loss_takes_numbers_tensors_and_outputs():
    assert as_loss(2, "value") == 2.0 and as_loss(torch.tensor([0.5]), "value") == 0.5
    assert as_loss({"loss": torch.tensor(0.25)}, "value") == 0.25
    for bad in (True, "1", torch.ones(2), None):
        with pytest.raises(ValueError, match=r"^value: a loss must be a number"):
            as_loss(bad, "value")


def test_flags_by_the_thresholds_on_medians():
    vr, va = thresholds.VANISHING_RELATIVE, thresholds.VANISHING_ABSOLUTE
    er = thresholds.EXPLODING_RELATIVE
    assert layer_flags(_history([[1.0, 1.0, 1.0]] * 3)) == ((), (), ())
    # vanishing: the run of small layers from the input side, by the median over the steps
    rows = [[vr * 0.1, vr * 0.5, 1.0], [1.0, vr * 0.5, 1.0], [vr * 0.1, vr * 0.5, 1.0]]
    assert layer_flags(_history(rows)) == (("vanishing",), ("vanishing",), ())
    assert layer_flags(_history([[1.0, vr * 0.1, 1.0]])) == ((), (), ())  # not from the input side
    assert layer_flags(_history([[va * 0.5, va * 0.5]])) == (("vanishing",), ("vanishing",))
    # exploding: above er x the median at or after the layer, or above the absolute bound
    assert layer_flags(_history([[er * 10, 1.0, 1.0]])) == (("exploding",), (), ())
    assert layer_flags(_history([[2e3, 2e3]])) == (("exploding",), ("exploding",))
    # non-finite at any counted step; a frozen layer (NaN by design) is never flagged
    assert layer_flags(_history([[1.0, 1.0], [NAN, 1.0], [1.0, 1.0]])) == (("non-finite",), ())
    assert layer_flags(_history([[NAN, 1.0]] * 2), frozen=(True, False)) == ((), ())
    # a step the scaler skipped does not count
    assert layer_flags(_history([[INF, INF], [1.0, 1.0]], skipped=(0,))) == ((), ())


def test_summary_table_and_line():
    rows = [[INF, INF, NAN], [1e-9, 0.5, NAN], [2e-9, 1.0, NAN], [3e-9, INF, NAN]]
    hist = _history(rows, skipped=(0,), names=("first", "second", "frozen"))
    text = summary_table(hist, (False, False, True), "Run", earlier_skipped=2)
    lines = text.splitlines()
    assert lines[0] == (
        "Run: 4 recorded (steps 0-3); 3 skipped by the scaler, 2 of them before the window; "
        "flags: vanishing (1), non-finite (1)"
    )
    cells = [line.split(None, 4) for line in lines[1:5]]
    assert cells[1] == ["first", "2.00e-09", "3.00e-09", "2.67e-09", "vanishing"]
    assert cells[2] == ["second", "0.75", "inf", "1", "non-finite (1)"]
    assert cells[3] == ["frozen", "nan", "nan", "nan", "- (frozen)"]
    assert [line.split()[0] for line in lines[-3:]] == [name for name, _ in RULES]
    assert summary_line(hist, (False, False, True), recorded=False).startswith("1 skipped by the scaler;")
    empty = build_history(("a",), [], [])
    assert summary_line(empty) == "0 recorded; no flags"
    assert summary_table(empty).splitlines()[2].split() == ["a", "nan", "-", "nan", "-"]
