import numpy as np
import pytest
import torch

import gradwidgets as gw


def test_records_per_layer_norms_before_clipping(regression):
    model = gw.build_mlp(3, in_features=1)
    ref = gw.build_mlp(3, in_features=1)
    hist = gw.train(model, regression.X, regression.y, steps=5, lr=0.1)
    # replay the same steps by hand: the recorded norms are those of .grad before each step
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    for step in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(ref(regression.X), regression.y)
        loss.backward()
        expected = [float(lin.weight.grad.norm()) for lin in ref.hidden_linears]
        np.testing.assert_allclose(hist.layer_grad_norm[step], expected, rtol=1e-5)
        assert hist.loss[step] == pytest.approx(float(loss.detach()))
        opt.step()
    assert hist.layer_names == ("blocks.0.linear", "blocks.1.linear", "blocks.2.linear")


def test_update_ratio_is_lr_times_grad_over_weight_for_plain_sgd(regression):
    model = gw.build_mlp(3, in_features=1)
    w0 = [lin.weight.detach().clone() for lin in model.hidden_linears]
    hist = gw.train(model, regression.X, regression.y, steps=1, lr=0.05)
    expected = 0.05 * hist.layer_grad_norm[0] / np.array([float(w.norm()) for w in w0])
    np.testing.assert_allclose(hist.update_ratio[0], expected, rtol=1e-4)


def test_record_every_thins_the_per_layer_rows(regression):
    hist = gw.train(
        gw.build_mlp(2, in_features=1), regression.X, regression.y, steps=10, lr=0.1, record_every=4
    )
    assert hist.steps.tolist() == [0, 4, 8]
    assert hist.layer_grad_norm.shape == (3, 2) and hist.loss.shape == (10,)


def test_clip_norm_bounds_the_post_clip_norm(regression):
    model = gw.build_mlp(4, in_features=1, init="normal", init_scale=2.0)
    hist = gw.train(model, regression.X, regression.y, steps=20, lr=1e-3, clip_norm=0.5)
    assert hist.total_norm_before.max() > 0.5
    assert np.all(hist.total_norm_after <= 0.5 * (1 + 1e-5))
    unclipped = hist.total_norm_before <= 0.5
    np.testing.assert_allclose(hist.total_norm_after[unclipped], hist.total_norm_before[unclipped], rtol=1e-6)


def test_clip_value_caps_every_entry(regression):
    seen = []
    model = gw.build_mlp(3, in_features=1, init="normal", init_scale=2.0)
    orig_step = torch.optim.SGD.step

    def spy(self, closure=None):
        seen.append(max(float(p.grad.abs().max()) for g in self.param_groups for p in g["params"]))
        return orig_step(self, closure)

    torch.optim.SGD.step = spy
    try:
        gw.train(model, regression.X, regression.y, steps=3, lr=1e-3, clip_value=0.01)
    finally:
        torch.optim.SGD.step = orig_step
    assert seen and max(seen) <= 0.01


def test_divergence_is_recorded_and_training_stops(regression):
    model = gw.build_mlp(4, in_features=1, activation="relu", init="normal", init_scale=3.0)
    hist = gw.train(model, regression.X, regression.y, steps=50, lr=1.0)
    assert hist.diverged_at is not None and hist.diverged_at < 50
    assert len(hist.loss) == hist.diverged_at + 1
    assert "diverged at step" in repr(hist)


def test_callback_streams_and_can_stop(regression):
    seen = []
    hist = gw.train(
        gw.build_mlp(2, in_features=1),
        regression.X,
        regression.y,
        steps=100,
        lr=0.1,
        callback=lambda rec: seen.append(rec.step) or rec.step >= 9,
    )
    assert seen == list(range(10))
    assert hist.stopped_at == 9 and len(hist.loss) == 10


def test_adam_l2_and_adamw_decay_differ(regression):
    a = gw.build_mlp(2, in_features=1)
    b = gw.build_mlp(2, in_features=1)
    gw.train(a, regression.X, regression.y, 20, 0.01, optimizer="adam", weight_decay=0.1)
    gw.train(b, regression.X, regression.y, 20, 0.01, optimizer="adamw", weight_decay=0.1)
    assert not torch.allclose(a.hidden_linears[1].weight, b.hidden_linears[1].weight)


def test_same_seed_same_history_bit_for_bit(spirals):
    runs = [
        gw.train(
            gw.build_mlp(5, seed=1, out_features=2),
            spirals.X,
            spirals.y,
            15,
            0.3,
            loss="cross_entropy",
            optimizer="sgd",
            momentum=0.9,
        )
        for _ in range(2)
    ]
    assert np.array_equal(runs[0].loss, runs[1].loss)
    assert np.array_equal(runs[0].layer_grad_norm, runs[1].layer_grad_norm)


def test_training_lowers_the_loss(regression):
    hist = gw.train(gw.build_mlp(3, in_features=1), regression.X, regression.y, 300, 0.05, optimizer="adam")
    assert hist.final_loss < 0.3 * hist.loss[0]
