"""gradwidgets.lessons.normalization: what a normalization layer divides by, and injected shift."""

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.lessons.normalization import (
    InputScales,
    ShiftedNorm,
    activation_drift,
    inject_shift,
    input_scales,
)


def _by_hooks(model, X):
    """The same statistics from forward hooks on each block's Linear: an independent route."""
    seen = []
    handles = [
        block.linear.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
        for block in model.blocks
    ]
    with torch.no_grad():
        model(X)
    for h in handles:
        h.remove()
    rms = np.array([float(torch.sqrt(torch.mean(x**2))) for x, _ in seen])
    batch = np.array([float(torch.std(z, dim=0, correction=0).mean()) for _, z in seen])
    feature = np.array([float(torch.std(z, dim=1, correction=0).mean()) for _, z in seen])
    return rms, batch, feature


@pytest.mark.parametrize("norm", [None, "batch", "layer"])
@pytest.mark.parametrize("residual", [False, True])
def test_input_scales_match_forward_hooks(spirals, norm, residual):
    model = gw.build_mlp(6, activation="tanh", norm=norm, residual=residual)
    scales = input_scales(model, spirals.X)
    rms, batch, feature = _by_hooks(model, spirals.X)
    np.testing.assert_allclose(scales.input_rms, rms, rtol=1e-6)
    np.testing.assert_allclose(scales.batch_std, batch, rtol=1e-6)
    np.testing.assert_allclose(scales.feature_std, feature, rtol=1e-6)
    assert len(scales) == 6 and "std of z over the batch" in repr(scales)


def test_input_scales_leave_batch_norm_statistics_untouched(spirals):
    model = gw.build_mlp(4, norm="batch")
    before = [b.clone() for b in model.buffers()]
    input_scales(model, spirals.X)
    for a, b in zip(before, model.buffers(), strict=True):
        assert torch.equal(a, b)


def test_input_scales_rejects_what_it_cannot_measure(spirals):
    with pytest.raises(ValueError, match="build_mlp"):
        input_scales(torch.nn.Linear(2, 2), spirals.X)
    with pytest.raises(ValueError, match="n >= 2"):
        input_scales(gw.build_mlp(2), spirals.X[:1])


def test_batch_norm_output_has_the_spread_input_scales_reports(spirals):
    """Batch norm divides z by exactly the per-unit spread that batch_std averages."""
    model = gw.build_mlp(3, norm="batch")
    block = model.blocks[1]
    with torch.no_grad():
        z = block.linear(model.blocks[0](spirals.X))
        expected = (z - z.mean(0)) / torch.sqrt(z.var(0, correction=0) + block.norm.eps)
        torch.testing.assert_close(block.norm(z), expected, rtol=1e-4, atol=1e-5)
    assert isinstance(input_scales(model, spirals.X), InputScales)


def test_shifted_norm_draws_new_noise_each_call_in_training_only():
    gen = torch.Generator().manual_seed(0)
    layer = ShiftedNorm(torch.nn.Identity(), 0.5, gen)
    z = torch.randn(8, 4)
    a, b = layer(z), layer(z)
    assert not torch.allclose(a, b)
    # per unit, an affine map of the input: gain exp(0.5 a) > 0 and a shift
    gain = (a[1] - a[0]) / (z[1] - z[0])
    torch.testing.assert_close(a - gain * z, (a - gain * z)[:1].expand_as(a))
    assert torch.all(gain > 0)
    layer.eval()
    assert torch.equal(layer(z), z)
    assert torch.equal(ShiftedNorm(torch.nn.Identity(), 0.0, gen)(z), z)


def test_inject_shift_wraps_every_norm_and_is_seeded(spirals):
    outs = []
    for _ in range(2):
        model = inject_shift(gw.build_mlp(4, norm="batch"), 0.1, seed=3)
        assert all(isinstance(b.norm, ShiftedNorm) for b in model.blocks)
        assert all(isinstance(b.norm.norm, torch.nn.BatchNorm1d) for b in model.blocks)
        outs.append(model(spirals.X))
    torch.testing.assert_close(outs[0], outs[1])
    with pytest.raises(ValueError, match="already"):
        inject_shift(model, 0.1)
    with pytest.raises(ValueError, match="scale"):
        inject_shift(gw.build_mlp(2), -1.0)


def test_shifted_model_still_trains_and_profiles(spirals):
    model = inject_shift(gw.build_mlp(3, activation="relu", norm="batch", out_features=2), 0.1)
    history = gw.train(model, spirals.X, spirals.y, 5, 0.1, loss="cross_entropy")
    assert history.diverged_at is None and len(history.layer_names) == 3


def test_activation_drift_is_the_injected_noise_when_the_network_barely_moves(spirals):
    """With a learning rate of 1e-6 a batch-norm network's own drift is nil, and the injected shift's is
    the median of |0.1 (b' - b)| and |0.1 (a' - a)| for standard normal a, b: 0.1 * sqrt(2) * 0.674."""
    still = activation_drift(
        gw.build_mlp(4, width=32, norm="batch", out_features=2),
        spirals.X,
        spirals.y,
        20,
        1e-6,
        loss="cross_entropy",
    )
    assert still.mean_shift.shape == (19, 4)
    assert max(still.typical) < 1e-4
    shaken = activation_drift(
        inject_shift(gw.build_mlp(4, width=32, norm="batch", out_features=2), 0.1),
        spirals.X,
        spirals.y,
        20,
        1e-6,
        loss="cross_entropy",
    )
    expected = 0.1 * 2**0.5 * 0.6745
    mean, scale = shaken.typical
    assert mean == pytest.approx(expected, rel=0.25) and scale == pytest.approx(expected, rel=0.25)
    assert "Drift(20 steps, 4 layers" in repr(shaken)


def test_activation_drift_matches_a_hand_written_loop(spirals):
    """The drift measured through hooks equals the one from statistics taken by hand between SGD steps."""
    model = gw.build_mlp(3, width=16, activation="tanh")
    twin = gw.build_mlp(3, width=16, activation="tanh")
    drift = activation_drift(model, spirals.X, spirals.y.float(), 4, 0.5)
    opt = torch.optim.SGD(twin.parameters(), lr=0.5)
    stats = []
    for _ in range(4):
        zs = twin.preactivations(spirals.X)
        stats.append([(z.double().mean(0), z.double().std(0, correction=0)) for z in zs])
        opt.zero_grad()
        torch.nn.functional.mse_loss(twin(spirals.X).squeeze(1), spirals.y.float()).backward()
        opt.step()
    for t in range(3):
        for layer in range(3):
            (m0, s0), (m1, _) = stats[t][layer], stats[t + 1][layer]
            assert drift.mean_shift[t, layer] == pytest.approx(
                float(((m1 - m0).abs() / s0).median()), rel=1e-6
            )
