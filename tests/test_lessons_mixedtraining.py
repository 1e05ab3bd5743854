"""gradwidgets.lessons.mixedtraining: fp16 autocast training with no, static or dynamic scaling."""

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.lessons.mixedtraining import train_mixed


def _net():
    return gw.build_mlp(6, width=16, activation="sigmoid", out_features=2)


def _run(spirals, steps=15, **kw):
    return train_mixed(_net(), spirals.X, spirals.y, steps, 0.01, loss="cross_entropy", **kw)


def test_dynamic_scaling_matches_a_hand_written_gradscaler_loop(spirals):
    run = _run(spirals, precision="float16", scaling="dynamic", scale=2.0**24, growth_interval=5)
    model = _net()  # the reference: torch's own recipe, written out
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**24, growth_interval=5)
    scales, losses = [], []
    for _ in range(15):
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.float16):
            loss = torch.nn.functional.cross_entropy(model(spirals.X).float(), spirals.y)
        losses.append(loss.item())
        scales.append(scaler.get_scale())
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    np.testing.assert_array_equal(run.scale, scales)
    np.testing.assert_allclose(run.loss, losses, rtol=1e-6)
    dropped = [i for i in range(14) if scales[i + 1] < scales[i]]
    assert run.skipped == tuple(dropped) and dropped  # the watch's skipped steps: the scale halved
    assert run.diverged_at is None and "skipped" in repr(run)


def test_without_scaling_fp16_zeroes_the_first_layer(spirals):
    deep = dict(loss="cross_entropy", steps=30)
    none = train_mixed(
        gw.build_mlp(8, width=16, activation="sigmoid", out_features=2),
        spirals.X,
        spirals.y,
        lr=0.01,
        precision="float16",
        scaling="none",
        **deep,
    )
    fp32 = train_mixed(
        gw.build_mlp(8, width=16, activation="sigmoid", out_features=2),
        spirals.X,
        spirals.y,
        lr=0.01,
        precision="float32",
        scaling="none",
        **deep,
    )
    assert none.zero_share[-1, 0] > 0.5 and fp32.zero_share.max() == 0
    assert none.first_layer_change < 0.5 * fp32.first_layer_change
    assert none.skipped == () and np.all(none.scale == 1)


def test_static_overflow_diverges_and_the_watch_reads_unscaled_norms(spirals):
    bad = _run(spirals, precision="float16", scaling="static", scale=2.0**30)
    assert bad.diverged_at == 0 and bad.skipped == ()
    good = _run(spirals, steps=2, precision="float16", scaling="static", scale=2.0**16)
    fp32 = _run(spirals, steps=2, precision="float32", scaling="none")
    np.testing.assert_allclose(good.history.layer_grad_norm[0], fp32.history.layer_grad_norm[0], rtol=0.02)


def test_bf16_weights_are_cast_and_callback_stops(spirals):
    model = _net()
    seen = []
    run = train_mixed(
        model, spirals.X, spirals.y, 10, 1e-3, "bfloat16-weights", "none", loss="cross_entropy",
        callback=lambda r: seen.append(len(r.loss)) or len(r.loss) >= 4, callback_every=2,
    )  # fmt: skip
    assert next(model.parameters()).dtype == torch.bfloat16
    assert seen == [2, 4] and len(run.loss) == 4


@pytest.mark.parametrize(
    ("kw", "arg"),
    [
        ({"precision": "half"}, "precision"),
        ({"scaling": "auto"}, "scaling"),
        ({"scaling": "static", "scale": -1.0}, "scale"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"growth_interval": 0}, "growth_interval"),
    ],
)
def test_bad_arguments_name_themselves(spirals, kw, arg):
    with pytest.raises(ValueError, match=arg):
        _run(spirals, steps=1, **kw)
