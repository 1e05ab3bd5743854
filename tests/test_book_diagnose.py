"""The claims of book/diagnose.md, checked on the chapter's own code.

The ``chapter`` fixture runs every code cell of the chapter once (as the book build does, but
with one thread) and keeps the namespace; the values the chapter glues into its prose are
collected in ``chapter["glued"]``. Each test quotes the sentence it checks.
"""

import re
from pathlib import Path

import jupytext
import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

import gradwidgets as gw
from gradwidgets.core import thresholds as th
from gradwidgets.explorers.casestudies import cnn_flow, sequence_memory
from gradwidgets.lessons.casestudies import build_cnn, build_sequence_model, input_grad_norms
from gradwidgets.lessons.encoder import build_encoder, init_matrices
from gradwidgets.lessons.rounding import unmoved_above

CHAPTER = Path(__file__).resolve().parents[1] / "book" / "diagnose.md"


@pytest.fixture(scope="module")
def chapter():
    """The namespace after running the chapter's code cells; glued values in ``["glued"]``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    glued = {}

    def glue(name, value, display=True):
        glued[name] = value

    ns = {"__name__": "diagnose_chapter"}
    try:
        for cell in jupytext.read(CHAPTER).cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, str(CHAPTER), "exec"), ns)
                ns["glue"] = glue  # replaces myst_nb.glue, imported by the first cell
    finally:
        torch.set_num_threads(threads)
    ns["glued"] = glued
    return ns


def _first_last(values):
    return values[0] / values[-1]


# ---- why per-layer gradient norms


def test_backward_recursion_and_outer_product():
    """'delta_l = diag(f'(z_l)) W_{l+1}^T delta_{l+1}' and 'For one example,
    ||dL/dW_l|| = ||delta_l|| ||h_{l-1}||.'"""
    torch.manual_seed(0)
    net = gw.build_mlp(3, activation="tanh").double()
    x, target = torch.randn(1, 2, dtype=torch.float64), torch.randn(1, 1, dtype=torch.float64)
    lin = net.hidden_linears
    z1 = lin[0](x)
    h1 = torch.tanh(z1)
    z2 = lin[1](h1)
    h2 = torch.tanh(z2)
    loss = F.mse_loss(net.head(torch.tanh(lin[2](h2))), target)
    d1, d2, g2 = torch.autograd.grad(loss, [z1, z2, lin[1].weight])
    assert torch.allclose(d1, (1 - h1**2) * (d2 @ lin[1].weight))
    assert float(g2.norm()) == pytest.approx(float((d2.norm() * h1.norm()).detach()), rel=1e-12)


def test_wandb_watch_logs_one_histogram_per_tensor_every_1000_batches():
    """'wandb.watch(model) logs, by default every 1000 batches, one histogram of gradient values per
    parameter tensor, under keys like gradients/<layer>.weight' (docs.wandb.ai: Run.watch() defaults
    to log="gradients", log_freq=1000). Checked on the installed wandb when there is one."""
    import inspect

    wandb = pytest.importorskip("wandb", reason="wandb is not installed; the defaults quoted are its docs'")
    params = inspect.signature(wandb.watch).parameters
    assert params["log"].default == "gradients" and params["log_freq"].default == 1000


# ---- reading a report


def test_sigmoid_report_flags_the_first_layers(chapter):
    """'Here {mlp_vanishing} of the 20 layers are flagged vanishing: the first layer's gradient is
    {mlp_first}, a fraction {mlp_ratio} of the last layer's.'"""
    r = chapter["report"]
    flagged = r.flagged("vanishing")
    assert len(flagged) == chapter["glued"]["mlp_vanishing"] >= 10
    assert flagged == r.layer_names[: len(flagged)]  # the layers nearest the input
    assert r.profile.weight_grad_norm[0] < 1e-12
    assert r.profile.first_last_ratio < 1e-10
    assert not r.healthy


def test_healthy_relu_report(chapter):
    """'No flag. The first layer gets {healthy_ratio} of the last layer's gradient.' and
    'report.healthy is True only without any flag'."""
    h = chapter["healthy"]
    assert h.healthy and not any(h.flags)
    assert 0.01 < h.profile.first_last_ratio < 10


def test_relu_saturated_column_and_dead_units(chapter):
    """'Its saturated column reads at least {healthy_sat} in every layer ... and up to {healthy_dead}
    of a layer's units are silent on this batch: that is why the dead threshold sits at one half.'"""
    p = chapter["healthy"].profile
    assert p.saturation.min() >= 0.3
    assert 0.25 < p.dead_fraction.max() < gw.core.thresholds.DEAD_FRACTION


def test_wide_tanh_raises_two_flags_both_about_init(chapter):
    """'The first layer's gradient is {wide_first}: {wide_exploding} layers are flagged exploding and
    {wide_saturated} saturated. Each flag comes with its own remedy, and both point at the same
    suspect, the initialization.' ('a variance of 1 where 64 inputs call for about 1/64')"""
    w = chapter["wide"]
    assert len(w.flagged("exploding")) >= 10 and len(w.flagged("saturated")) >= 10
    assert w.profile.weight_grad_norm[0] > 1e5
    assert {r.flag for r in w.remedies} == {"exploding", "saturated"}
    assert all("init" in r.advice for r in w.remedies)


def test_nan_remedy_says_where_it_came_from(chapter):
    """'The remedy says where the NaN came from, found by gw.find_nonfinite, which diagnose runs
    whenever the loss or a gradient is not finite: here the parameter that already holds it,
    before any pass.'"""
    advice = chapter["broken"].remedies[0].advice
    assert chapter["broken"].remedies[0].flag == "non-finite"
    assert advice.startswith("'blocks.5.linear.weight' of 'blocks.5.linear' (Linear) holds NaN values before")
    found = gw.find_nonfinite(chapter["relu_mlp"], chapter["X"], chapter["y"])
    assert (found.phase, found.module, found.parameter) == (
        "parameters",
        "blocks.5.linear",
        "blocks.5.linear.weight",
    )


def test_thresholds_quoted_in_the_chapter():
    """'below 10^-4 times the largest one at layer l or nearer the output, or below 10^-6';
    'above 10^3 times the median ... or above 10^3'; 'more than half'; 'below 5%'."""
    assert (th.VANISHING_RELATIVE, th.VANISHING_ABSOLUTE) == (1e-4, 1e-6)
    assert (th.EXPLODING_RELATIVE, th.EXPLODING_ABSOLUTE) == (1e3, 1e3)
    assert th.SATURATED_FRACTION == th.DEAD_FRACTION == 0.5
    assert gw.SATURATION_THRESHOLD == 0.05
    assert set(th.SATURATING_ACTIVATIONS) == {"sigmoid", "tanh", "elu", "selu"}


def test_float32_rounds_away_an_update_below_the_vanishing_bound(chapter):
    """'float32, whose neighbouring numbers near a weight w are about |w| 2^-23 apart: an update
    smaller than half that gap is rounded away ... Spread evenly over a 64 x 64 layer, a gradient of
    norm 10^-6 has entries of 1.6 x 10^-8; at a learning rate of 0.1 the update, {f32_update}, is
    rounded away for every weight larger than {f32_edge} in size, which is {f32_share} of a
    Xavier-initialised layer's weights. The smaller weights still move (the closer to 0, the more
    float32 steps the update spans)'. (torch's own float32 arithmetic, weight by weight)"""
    update = 0.1 * 1e-6 / 64
    assert 1e-6 / 64 == pytest.approx(1.6e-8, rel=0.03)
    w = gw.build_mlp(3, init="xavier_normal").hidden_linears[1].weight.detach()
    stepped = w - update
    edge = unmoved_above(update)
    assert f"{edge:.2f}" == chapter["glued"]["f32_edge"] == "0.03"
    assert torch.equal(stepped[w.abs() > edge], w[w.abs() > edge])
    small = w.abs() < edge / 2
    assert small.sum() > 100 and not torch.any(stepped[small] == w[small])
    moved = (stepped != w).float()
    assert 1 - float(moved.mean()) == pytest.approx(float((w.abs() > edge).float().mean()), abs=0.02)
    assert 0.7 < 1 - float(moved.mean()) < 0.9
    gap = (w[small] - torch.nextafter(w[small], torch.full_like(w[small], -1.0))).abs()  # one step
    steps = ((stepped[small] - w[small]).abs() / gap).numpy()
    order = np.argsort(w[small].abs().numpy())
    assert steps[order[0]] > steps[order[-1]] >= 1  # more steps for the smallest weights


def test_exploding_absolute_bound_beats_a_whole_layer():
    """'at lr = 0.01, one step would move the layer by more than 10, more than the norm of a whole
    initialised 64 x 64 layer.'"""
    layer = gw.build_mlp(2, width=64, init="xavier_normal").hidden_linears[1]
    assert 0.01 * gw.core.thresholds.EXPLODING_ABSOLUTE >= 10 > float(layer.weight.detach().norm())


# ---- a deep CNN


def test_cnn_report_uses_cross_entropy_and_module_names(chapter):
    """'diagnose chose cross-entropy' and 'the convolutions are 0, 2, ..., 30 and the linear layer 34'."""
    r = chapter["cnn_report"]
    assert r.loss_name == "cross_entropy"
    assert r.layer_names == (*(str(i) for i in range(0, 32, 2)), "34")


def test_cnn_vanishing_without_saturation(chapter):
    """'{cnn_vanishing} of the 16 convolutions are flagged vanishing, and the first gets a gradient of
    {cnn_first}, {cnn_ratio} times the linear layer's. No layer is saturated.' ('Sixteen factors of
    that size make the 10^-16.')"""
    r = chapter["cnn_report"]
    assert len(r.flagged("vanishing")) >= 10
    assert r.profile.weight_grad_norm[0] < 1e-15
    assert 1e-17 < r.profile.first_last_ratio < 1e-15  # 'Sixteen factors of that size make the 10^-16'
    assert not r.flagged("saturated")
    assert np.nanmax(r.profile.saturation) < 0.05


def test_cnn_per_layer_factor_matches_the_estimate(chapter):
    """'Together at most about 0.14 per layer' and 'The measured factor, {cnn_per_layer} per
    convolution, is of the size of this rough estimate ({cnn_predicted}; ...)' ('n_in = 8 * 9 = 72',
    'a batch of 64 images of 1 x 16 x 16 standard-normal pixels')"""
    assert chapter["images"].shape == (64, 1, 16, 16)
    assert chapter["predicted"] == pytest.approx(0.144, abs=0.001)
    assert 0.05 < chapter["per_layer"] < chapter["predicted"]


def test_pytorch_default_conv_init_variance():
    """'PyTorch's default initialization draws each weight uniformly from +-1/sqrt(n_in), a variance
    of 1/(3 n_in), where n_in = 8 * 9 = 72'."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(8, 8, 3)
    bound = 1 / 72**0.5
    assert float(conv.weight.detach().abs().max()) <= bound
    assert float(conv.weight.detach().var()) == pytest.approx(1 / (3 * 72), rel=0.15)


def test_cnn_remedies(chapter):
    """'ReLU with PyTorch's default initialization still vanishes (a first/last ratio of
    {relu_default_ratio}) and {relu_default_dead} layers are now flagged dead ... With He's
    initialization the first layer gets {relu_he_ratio} ... Batch norm rescues even the sigmoid
    network: its first/last ratio of {sigmoid_bn_ratio} is small, but no layer is below 10^-4 of
    the largest gradient after it, so no layer is flagged.'"""
    v = chapter["variants"]
    half = v["ReLU, default init"]
    assert half.flagged("vanishing") and len(half.flagged("dead")) >= 3
    assert half.profile.first_last_ratio < 1e-6
    for name in ("ReLU, He init", "sigmoid + batch norm", "ReLU + batch norm"):
        assert v[name].healthy, name
    assert v["ReLU, He init"].profile.first_last_ratio > 1e-2
    assert v["sigmoid + batch norm"].profile.first_last_ratio < 1e-2  # 'small', yet not flagged


def test_dead_channels_have_negative_biases(chapter):
    """'a channel with a negative bias then outputs 0 everywhere (every dead channel here has one).'"""
    net = build_cnn(activation="relu")
    h, dead_count = chapter["images"], 0
    with torch.no_grad():
        for i, module in enumerate(net):
            h = module(h)
            if isinstance(module, torch.nn.ReLU):
                dead = h.amax(dim=(0, 2, 3)) == 0
                assert (net[i - 1].bias[dead] < 0).all()
                dead_count += int(dead.sum())
    assert dead_count > 20


def test_same_weights_different_activation(chapter):
    """'The first two networks above have exactly the same weights ... only the activation differs,
    and the first layer's share of the gradient differs by orders of magnitude.'"""
    a, b = build_cnn(), build_cnn(activation="relu")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    v = chapter["variants"]
    ratio = (
        v["ReLU, default init"].profile.first_last_ratio / v["sigmoid, default init"].profile.first_last_ratio
    )
    assert ratio > 1e4


# ---- an LSTM


def test_lstm_weight_gradient_comes_from_the_last_steps(chapter):
    """'the LSTM's |dL/dW| adds up the contributions of every step, the last few steps dominate it'
    (the gradient with back-propagation cut after the last 10 steps is nearly the whole of it)."""
    net, seq = chapter["lstm_net"], chapter["seq"]
    weights = [net.rnn.weight_ih_l0, net.rnn.weight_hh_l0]
    full = torch.autograd.grad(F.mse_loss(net(seq.X), seq.y), weights)
    with torch.no_grad():
        _, state = net.rnn(seq.X[:, :90])
    out, _ = net.rnn(seq.X[:, 90:], state)
    last = torch.autograd.grad(F.mse_loss(net.head(out[:, -1]), seq.y), weights)
    for a, b in zip(full, last, strict=True):
        assert float((a - b).norm() / a.norm()) < 0.05


def test_lstm_report_flags_the_lstm_through_time(chapter):
    """'Only two rows ... next to the read-out's [its |dL/dW|] looks normal ... the note under the
    table gives ||dL/dh_1|| as a share of the largest step's, and below 10^-4 the layer is flagged
    vanishing'; 'The first step's hidden state receives {lstm_h_first}'; with forget bias 3 'the
    report agrees'."""
    r = chapter["lstm_report"]
    assert r.layer_types == ("LSTM", "Linear") and r.flagged("vanishing") == ("rnn",)
    g = r.profile.weight_grad_norm
    assert g[0] > 1e-2 * g[1]  # the weight gradients alone raise nothing
    h = r.profile.time_grad_norm
    assert len(h) == 100 and h[0] / h.max() < 1e-4
    assert chapter["glued"]["lstm_h_first"] == f"{h[0] / h.max():.0e}"
    assert "Through time in rnn: |dL/dh_t| at the first of 100 steps" in " ".join(r.notes)
    assert chapter["open_gate"].healthy


def test_lstm_gradient_vanishes_through_time(chapter):
    """'Step 1 receives {lstm_first} of the last step's gradient, step 50 {lstm_mid}: a factor of about
    {lstm_step} per step ... PyTorch initializes every weight and bias of the LSTM uniformly in
    +-1/sqrt(32), so the gate's input is small and f_t ~ sigma(0) = 1/2 ... The measured {lstm_step}
    per step is of that size.' ('each sequence has 100 steps of two features')"""
    net, seq = chapter["lstm_net"], chapter["seq"]
    assert seq.X.shape[1:] == (100, 2)
    bound = 1 / 32**0.5
    assert all(float(p.detach().abs().max()) <= bound for p in net.rnn.parameters())
    gates = []  # the forget gate at every step, from the LSTM's own equations
    H, h, c = 32, torch.zeros(64, 32), torch.zeros(64, 32)
    w_ih, w_hh = net.rnn.weight_ih_l0.detach(), net.rnn.weight_hh_l0.detach()
    b = (net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0).detach()
    for t in range(100):
        i, f, g_, o = (seq.X[:, t] @ w_ih.T + h @ w_hh.T + b).split(H, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g_)
        h = torch.sigmoid(o) * torch.tanh(c)
        gates.append(torch.sigmoid(f))
    assert float(torch.stack(gates).mean()) == pytest.approx(0.5, abs=0.05)
    with torch.no_grad():
        out, _ = net.rnn(seq.X)
    torch.testing.assert_close(out[:, -1], h, rtol=1e-4, atol=1e-5)  # the equations are PyTorch's
    g = chapter["default_lstm"]
    assert len(g) == 100
    assert g[0] / g[-1] < 1e-15 and g[49] / g[-1] < 1e-8
    assert 0.45 < (g[0] / g[-1]) ** (1 / 99) < 0.75


def test_input_grad_norms_is_one_autograd_call(chapter):
    """'input_grad_norms(model, X, y) computes ||dL/dx_t|| for every time step t, with one
    torch.autograd.grad(loss, X)'."""
    net, seq = chapter["lstm_net"], chapter["seq"]
    X = seq.X.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.mse_loss(net(X), seq.y), X)
    expected = grad.double().norm(dim=(0, 2)).numpy()
    np.testing.assert_allclose(chapter["default_lstm"], expected, rtol=1e-5)


def test_forget_gate_is_the_second_quarter_of_the_bias():
    """'PyTorch stores the four gates' biases in one vector, in the order input, forget, cell, output,
    so the forget gate is its second quarter'."""
    lstm = torch.nn.LSTM(1, 1, batch_first=True)
    with torch.no_grad():
        for p in lstm.parameters():
            p.zero_()
        lstm.bias_ih_l0[1] = 50.0  # forget gate fully open, every other gate at sigmoid(0) = 1/2
        lstm.weight_ih_l0[2] = 1.0  # cell input g = tanh(x)
    x = torch.tensor([[[10.0], [0.0]]])  # write at step 1, nothing at step 2
    with torch.no_grad():
        _, (_, c) = lstm(x)
    assert float(c) == pytest.approx(0.5 * np.tanh(10.0), rel=1e-4)  # kept: f = 1


def test_forget_bias_opens_the_memory(chapter):
    """'With a bias of 1 (f_t ~ sigma(1) ~ 0.73) the first step receives {fb1_first} of the last step's
    gradient, better by many orders of magnitude but still tiny over 100 steps; with 3
    (sigma(3) ~ 0.95) the ratio is {fb3_first}: every step of the sequence is heard.'"""
    r = chapter["ratios"]
    assert (
        f"{torch.sigmoid(torch.tensor(1.0)):.2f}" == "0.73"
        and f"{torch.sigmoid(torch.tensor(3.0)):.2f}" == "0.95"
    )
    assert r["forget bias 1"] > 1e6 * r["PyTorch default"]
    assert r["forget bias 1"] < 1e-4
    assert r["forget bias 3"] > 0.1
    assert chapter["through_time"]["forget bias 3"].min() > 0.1 * chapter["through_time"]["forget bias 3"][-1]


# ---- a Transformer encoder


def test_transformer_report_is_flat(chapter):
    """'The report has {tf_rows} rows ... No flag: over 19 layers the largest and smallest gradient
    norms differ by a factor of only {tf_spread}.' ('Six pre-norm encoder blocks from torch.nn
    (width 32, four heads, feed-forward width 64, no dropout), averaged over the 16 positions');
    'the branches, each after a layer norm, add terms that keep the profile within a factor of
    {tf_spread}'."""
    r = chapter["transformer_report"]
    assert len(r) == 19 and r.healthy
    assert r.layer_types[:3] == ("MultiheadAttention", "Linear", "Linear")
    g = r.profile.weight_grad_norm
    assert g.max() / g.min() < 50


def test_normal_init_explodes_and_xavier_fixes_it(chapter):
    """'With N(0, 1) weights the loss is in the thousands and {tf_exploding} layers are flagged
    exploding ... xavier_uniform_ has no flag.' and the remedy's first advice is a smaller init."""
    bad, good = chapter["normal_report"], chapter["xavier_report"]
    assert bad.profile.loss > 1000 and len(bad.flagged("exploding")) >= 5
    assert good.healthy
    advice = bad.remedies[0].advice
    assert advice.startswith("the weights are too large:") and "lower the init scale" in advice
    exploding = set(bad.flagged("exploding"))  # the advice names the largest among these
    gains = [
        float(lr.weights[0].detach().double().std()) * lr.weights[0].shape[1] ** 0.5
        for name, lr in zip(bad.profile.layer_names, bad.profile.layers, strict=True)
        if name in exploding
    ]
    assert f"std(W) x sqrt(fan_in) = {max(gains):.3g}" in advice  # N(0, 1): sqrt(fan_in) itself


def test_attention_outputs_grow_by_n(chapter):
    """'the attention outputs have a standard deviation of {tf_attn_std} ... sqrt(32) * sqrt(32) = 32.'"""
    r = chapter["normal_report"]
    attn = [i for i, t in enumerate(r.layer_types) if t == "MultiheadAttention"]
    assert len(attn) == 6
    std = r.profile.act_std[attn]
    np.testing.assert_array_equal(std, chapter["attn_std"])
    assert ((std > 20) & (std < 45)).all()


def test_attention_becomes_one_hot(chapter):
    """'Queries and keys grow the same way, so the attention weights become nearly one-hot'."""
    model = init_matrices(build_encoder(), torch.nn.init.normal_)
    block, tokens = model.encoder.layers[0], chapter["tokens"]
    x = block.norm1(tokens)
    with torch.no_grad():
        _, weights = block.self_attn(x, x, x, need_weights=True, average_attn_weights=False)
        _, default = build_encoder().encoder.layers[0].self_attn(x, x, x, need_weights=True)
    assert float(weights.max(-1).values.mean()) > 0.9
    assert float(default.max(-1).values.mean()) < 0.5


# ---- watch


def test_watched_loss_falls_while_the_first_layer_gets_nothing(chapter):
    """'The loss fell from {watch_loss0} to {watch_loss1} ... The first layers sit in the darkest color
    at every step; the largest gradient the first layer ever got was {watch_first_max}.'"""
    h = chapter["history"]
    assert h.final_loss < 0.8 * h.loss[0]
    assert len(h.loss) == 100 and h.layer_grad_norm.shape == (100, 16)
    darkest = 10**gw.plots.HEATMAP_LOW
    assert h.layer_grad_norm[:, 0].max() < darkest
    assert (h.layer_grad_norm[:, :3] < darkest).all()


def test_watch_records_every_kth_step_before_clipping():
    """'at the end of each loss.backward(), before any clipping or optimizer step, it takes the norm
    of every layer's weight gradient (every=10 records only every tenth step)'."""
    net = gw.build_mlp(3, activation="tanh")
    data = gw.make_dataset("spirals", 64)
    with gw.watch(net, every=10) as w:
        for _ in range(20):
            net.zero_grad()
            F.mse_loss(net(data.X), data.y.float()[:, None]).backward()
            before = float(net.hidden_linears[0].weight.grad.norm())
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1e-6)
            w.log_loss(0.0)
    h = w.history()
    assert list(h.steps) == [0, 10]
    assert h.layer_grad_norm[-1, 0] == pytest.approx(before, rel=1e-6)
    assert w.closed


# ---- the command line


def test_cli_prints_the_cnn_report_number_for_number(chapter):
    """'It is the report of the CNN section, number for number: the command's batch is drawn exactly
    as the chapter drew images and labels.'"""
    out = chapter["done"].stdout
    rows = [line.split() for line in out.splitlines() if re.match(r"^\s+\d+\s+(Conv2d|Linear)\s", line)]
    printed = np.array([float(r[3]) for r in rows])
    np.testing.assert_allclose(printed, chapter["cnn_report"].profile.weight_grad_norm, rtol=6e-3)
    assert f"vanishing ({len(chapter['cnn_report'].flagged('vanishing'))})" in out


def test_cli_html_page_is_standalone(chapter):
    """'--html also writes a standalone page with the table and the plot, which opens offline.'"""
    page = (chapter["workdir"] / "cnn_report.html").read_text()
    assert "gw-report" in page and "Bokeh" in page
    assert not re.search(r"<script[^>]+src=\"https?:", page)


# ---- explorers


def test_cnn_explorer_starts_at_the_chapter_network(chapter):
    """'The first explorer builds the plain CNN of this chapter (it starts at the same network, with
    the same seed) for three depths, three activations, three initializations and with or without
    batch norm'."""
    ex = cnn_flow()
    assert ex.grid_size == 54
    assert ex.default_config == {
        "depth": 16,
        "activation": "sigmoid",
        "init": "pytorch_default",
        "norm": None,
    }
    a, b = build_cnn(), chapter["sigmoid_cnn"]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    got = ex.run(ex.default_config).data["grads"]["value"]
    np.testing.assert_allclose(got, chapter["cnn_report"].profile.weight_grad_norm, rtol=1e-4)


def test_cnn_explorer_one_decade_per_convolution():
    """'sigmoid with PyTorch's default init at 4, 10 and 16 convolutions: each extra convolution takes
    about one more decade off the first layer's gradient'."""
    ex = cnn_flow()
    r = {d: _first_last(ex.run(ex.config(depth=d)).data["grads"]["value"]) for d in (4, 10, 16)}
    assert 0.6 < np.log10(r[4] / r[16]) / 12 < 1.4
    assert 0.6 < np.log10(r[10] / r[16]) / 6 < 1.4


def test_cnn_explorer_batch_norm_with_every_activation():
    """'batch norm with each activation: every layer's gradient comes within about three decades of
    the largest, even with the sigmoid.'"""
    ex = cnn_flow()
    for act in ("sigmoid", "tanh", "relu"):
        g = ex.run(ex.config(activation=act, norm="batch")).data["grads"]["value"]
        assert g.min() / g.max() > 3e-4, act


def test_sequence_explorer_line_is_straight():
    """'the LSTM with PyTorch's default init at 25, 50, 100 and 200 steps: the line is straight on the
    log scale, so the loss of memory is exponential in the distance'."""
    ex = sequence_memory()
    for length in (25, 50, 100, 200):
        v = ex.run(ex.config(seq_len=length)).data["time"]["value"]
        t, lv = np.arange(1, length + 1), np.log10(v)
        fit = np.polyval(np.polyfit(t, lv, 1), t)
        assert 1 - ((lv - fit) ** 2).sum() / ((lv - lv.mean()) ** 2).sum() > 0.98, length


def test_sequence_explorer_default_is_the_chapter_lstm(chapter):
    """The explorer's default (LSTM, PyTorch default, 100 steps) is the chapter's lstm_net on ``seq``."""
    ex = sequence_memory()
    got = ex.run(ex.default_config).data["time"]["value"]
    np.testing.assert_allclose(got, chapter["default_lstm"], rtol=1e-5)


# ---- myths


def test_loss_fell_to_the_best_constant_and_the_first_layer_did_not_move(chapter):
    """'The sigmoid network's loss fell to {myth_final}, the loss of predicting the mean ({myth_var})
    ... The first layer's weights did not change by a single bit ... The same loop with tanh reaches
    {myth_tanh}.'"""
    var = chapter["constant_loss"]
    assert abs(chapter["history"].final_loss - var) < 0.01 * var
    assert torch.equal(chapter["first_before"], chapter["first_after"])
    assert chapter["tanh_history"].final_loss < 0.5 * var


def test_histograms_look_alike_but_differ_in_scale(chapter):
    """'Three spreads of values around zero ... a standard deviation of {hist_first} for the first
    convolution, {hist_last} for the last.'"""
    grads, scales = chapter["grads"], chapter["scales"]
    assert scales[0] / scales[-1] < 1e-12
    for g in grads:
        assert abs(float(g.mean())) < float(g.std())


def test_gates_do_not_help_at_initialization(chapter):
    """'At initialization the LSTM passes back no more of the gradient over 50 steps ({myth_lstm}) than
    the vanilla RNN ({myth_rnn}), and neither does the GRU ({myth_gru}).'"""
    r = chapter["ratios_by_cell"]
    assert r["lstm"] <= r["rnn"] and r["gru"] <= r["rnn"]
    assert max(r.values()) < 1e-6


def test_build_sequence_model_lstm_is_lstm_net(chapter):
    """'build_sequence_model(cell) builds the read-out network of that section ... (so its LSTM is
    lstm_net, weight for weight)'."""
    a, b = build_sequence_model("lstm"), chapter["lstm_net"]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


# ---- exercises


def test_exercise_cnn_explorer_half_remedy():
    """Solution: 'With PyTorch's default initialization the status line reports a first/last ratio
    around {ex_cnn_default} and layers below 10^-6 (vanishing), and the dead bars are high in most
    layers. With He's initialization the ratio is {ex_cnn_he}, the status line says the gradients
    reach every layer at a similar scale, and the dead bars all but disappear (at most one channel of
    eight in a layer).'"""
    ex = cnn_flow()
    half = ex.run(ex.config(activation="relu"))
    he = ex.run(ex.config(activation="relu", init="kaiming_normal"))
    assert "vanishing" in half.status and half.problem
    dead = half.data["acts"]["dead"][:-1]
    assert (dead >= 0.375).sum() >= len(dead) // 2
    assert "similar scale" in he.status and not he.problem
    assert he.data["acts"]["dead"].max() <= 0.125


def test_exercise_sequence_explorer_biases(chapter):
    """Solution: 'For the LSTM, a bias of {ex_mem_lstm} (step 1 then receives {ex_mem_lstm_ratio} of
    the last step's gradient); for the GRU, a bias of {ex_mem_gru} ({ex_mem_gru_ratio}). At
    PyTorch's default, step 1 of the LSTM receives {ex_mem_default} of the last step's gradient:
    below the smallest normal float32 number, 1.2 x 10^-38, in the range where float32 keeps ever
    fewer digits before it reaches 0.' and '0.9^199 ~ 10^-9' (length 200; 'at least 10^-4')."""
    glued = chapter["glued"]
    assert (glued["ex_mem_lstm"], glued["ex_mem_gru"]) == ("2", "3")
    assert float(glued["ex_mem_lstm_ratio"]) >= 1e-4 and float(glued["ex_mem_gru_ratio"]) >= 1e-4
    tiny = torch.finfo(torch.float32)
    assert f"{tiny.tiny:.1e}" == "1.2e-38"
    assert tiny.smallest_normal > float(glued["ex_mem_default"]) > 2.0**-149
    assert 0.5e-9 < 0.9**199 < 2e-9


def test_exercise_adam_moves_the_first_layer(chapter):
    """'what does that do to a gradient of 10^-11?' ... 'the first layer moved by {ex_adam_change} of
    its size, although its gradient never exceeded {ex_adam_grad}. For an entry g far below epsilon,
    Adam's step is about lr g / epsilon = 10^5 g here ... after 100 steps the loss is still that of
    the best constant.'"""
    assert chapter["change"] > 1e-5
    adam = chapter["adam_history"]
    assert adam.layer_grad_norm[:, 0].max() < 1e-9
    assert abs(adam.final_loss - chapter["constant_loss"]) < 0.01 * chapter["constant_loss"]
    assert 1e-3 / 1e-8 == pytest.approx(1e5)  # 'a gradient multiplied by 10^5 here'


def test_exercise_xavier_removes_both_flags(chapter):
    """'init="xavier_normal" ... removes both ... each layer multiplies the gradient by about 1
    (first/last {ex_wide_ratio}) instead of about {wide_factor}'."""
    assert chapter["fixed"].healthy
    assert 0.1 < chapter["fixed"].profile.first_last_ratio < 10
    assert float(chapter["glued"]["wide_factor"]) > 1.5
    assert 1 / 64 == pytest.approx(2 / (64 + 64))


def test_exercise_relu_default_variance_is_six_times_too_small():
    """'PyTorch's default variance, 1/(3 n_in), is six times smaller than the 2/n_in that ReLU needs
    ... about sqrt(6) ~ 2.4'."""
    n = 72
    assert (2 / n) / (1 / (3 * n)) == pytest.approx(6)
    assert 6**0.5 == pytest.approx(2.45, abs=0.01)


def test_every_glued_value_is_used_and_defined(chapter):
    """Every {glue:text} role of the chapter names a value the code glues."""
    text = CHAPTER.read_text()
    used = set(re.findall(r"\{glue:text\}`([a-z0-9_]+)", text))
    assert used and used <= set(chapter["glued"])
    assert set(chapter["glued"]) <= used


def test_input_grad_norms_leaves_the_model_alone():
    """input_grad_norms takes no step and leaves .grad untouched (the chapter calls it on live models)."""
    net = build_sequence_model("gru")
    seq = gw.make_dataset("adding", 8, seq_len=5)
    before = [p.detach().clone() for p in net.parameters()]
    input_grad_norms(net, seq.X, seq.y)
    assert all(p.grad is None for p in net.parameters())
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters(), strict=True))
