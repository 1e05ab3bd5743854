"""gradwidgets.lessons.selfcheck: the questions are well formed, their HTML is offline, and what
each question states is checked here by computation or by experiment."""

import itertools
import json
import math
import re

import numpy as np
import pytest
import torch

import gradwidgets as gw
from gradwidgets.lessons import layer_jacobians, self_check, selfcheck

COURSE = [
    "backprop",
    "vanishing-exploding",
    "activations",
    "initialization",
    "normalization-skips",
    "clipping-regularization",
    "transformers",
    "mixed-precision",
    "diagnose",
]


# ---- form


def test_every_chapter_has_at_least_three_questions_with_explanations():
    assert selfcheck.chapters() == COURSE
    for chapter in COURSE:
        questions = selfcheck.questions(chapter)
        assert len(questions) >= 3, chapter
        for q in questions:
            # no TeX anywhere: jupyterquiz runs without MathJax (see selfcheck's docstring)
            assert q["question"] and "$" not in json.dumps(q)
            if q["type"] == "multiple_choice":
                assert sum(a["correct"] for a in q["answers"]) == 1, q["question"]
                assert len(q["answers"]) >= 3
                assert all(
                    a["feedback"].startswith("Right." if a["correct"] else "Not quite") for a in q["answers"]
                )
            else:
                assert q["type"] == "numeric"
                right, default = q["answers"]
                assert (
                    right["correct"]
                    and right["range"][0] < right["range"][1]
                    and default["type"] == "default"
                )


def test_unknown_chapter_is_refused():
    with pytest.raises(ValueError, match="chapter must be one of"):
        self_check("intro")


def test_html_has_one_container_per_question_and_nothing_from_another_site():
    check = self_check("backprop")
    page = check._repr_html_()
    assert repr(check) == "SelfCheck('backprop', 3 questions)"
    assert page.count('class="gw-quiz"') == 3
    assert "://" not in page and "cdn" not in page.lower()
    assert "var MathJax;" in page  # jupyterquiz never sees JupyterLab's MathJax (the book has none)
    assert page.count("<script>") == 1 and "</script>" not in page[: page.index("<script>")]
    assert re.search(r"var QUESTIONS = \{.*\};", page)


def test_the_cdn_fallback_is_removed_and_a_changed_jupyterquiz_is_noticed(tmp_path):
    script = selfcheck.quiz_script()
    assert selfcheck.CDN_LINE not in script and "show_questions" in script
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("function show_questions() {}")
    with pytest.raises(RuntimeError, match="loads MathJax differently"):
        selfcheck.quiz_script(tmp_path)


# ---- what the questions state


def _parabola_converges(lr, c=20.0, steps=3000):
    w = 1.0
    for _ in range(steps):
        w -= lr * c * w
    return abs(w) < 1.0


def test_backprop_largest_rate_for_curvature_20():
    """'...parabola of curvature c = 20 ... largest learning rate for which it still converges?' 0.1;
    'lr·c = 1.5 ... oscillates around the minimum but converges'."""
    assert _parabola_converges(0.0999) and not _parabola_converges(0.1001)
    w, signs = 1.0, []
    for _ in range(20):
        w -= 1.5 * w
        signs.append(np.sign(w))
    assert abs(w) < 1e-5 and all(a != b for a, b in itertools.pairwise(signs))


def test_backward_pass_does_two_products_per_layer():
    """'About twice as much: it computes the gradients of the inputs and of the weights'."""
    x, w = torch.randn(8, 5, requires_grad=True), torch.randn(5, 3, requires_grad=True)
    grad_out = torch.randn(8, 3)
    gx, gw_ = torch.autograd.grad(x @ w, (x, w), grad_out)
    torch.testing.assert_close(gx, grad_out @ w.T)
    torch.testing.assert_close(gw_, x.T @ grad_out)


def test_sigmoid_slope_and_the_power_of_depth():
    """'1/4, at z = 0'; '0.9 to the power 50 is about 0.0052 ... 1.1 to the 50 is about 117'."""
    assert gw.ACTIVATIONS["sigmoid"].max_derivative == pytest.approx(0.25)
    z = torch.linspace(-6, 6, 1201)
    slope = torch.sigmoid(z) * (1 - torch.sigmoid(z))
    assert float(z[slope.argmax()]) == pytest.approx(0.0, abs=0.01)
    assert 0.00505 < 0.9**50 < 0.00525 and round(1.1**50) == 117


def _product_singular_values(model, x):
    """Singular values of J_D ... J_2, the hidden layers' Jacobians multiplied."""
    jacobians = layer_jacobians(model, x)
    product = jacobians[-1]
    for j in reversed(jacobians[1:-1]):
        product = product @ j
    return torch.linalg.svdvals(product.double()).numpy()


def test_relu_with_orthogonal_weights_crushes_some_directions(spirals):
    """'A deep ReLU network has orthogonal weights ... smallest singular value ... 0, whatever the
    weights'."""
    sv = _product_singular_values(gw.build_mlp(10, activation="relu", init="orthogonal"), spirals.X[:1])
    assert sv.min() < 1e-6 * sv.max()


def test_relu_half_off_only_with_zero_bias():
    """'With zero biases (and weights symmetric around 0); a bias shifts the share'."""
    torch.manual_seed(0)
    h, w = torch.randn(4096, 64), torch.randn(64, 64) / 8
    z = h @ w
    assert 0.45 < float((z < 0).float().mean()) < 0.55
    assert float((z - 0.5 < 0).float().mean()) > 0.65


def test_largest_slopes():
    """'SELU's largest slope is about 1.76: λα ... (λ ≈ 1.05, α ≈ 1.67). GELU's is about 1.13'; sigmoid 1/4,
    tanh 1, ReLU 0 or 1; Leaky ReLU 'slope 0.01 below 0'."""
    slopes = {name: gw.ACTIVATIONS[name].max_derivative for name in ("selu", "gelu", "tanh", "relu")}
    assert slopes["selu"] == pytest.approx(1.0507 * 1.6733, rel=1e-3) == pytest.approx(1.76, abs=0.005)
    assert slopes["gelu"] == pytest.approx(1.13, abs=0.005)
    assert slopes["tanh"] == pytest.approx(1.0) and slopes["relu"] == pytest.approx(1.0)
    z = torch.tensor([-2.0], requires_grad=True)
    (g,) = torch.autograd.grad(gw.ACTIVATIONS["leaky_relu"].make()(z).sum(), z)
    assert float(g) == pytest.approx(0.01)


def test_dead_unit_gets_zero_gradient(spirals):
    """'A unit that is off for every example, so its incoming weights get a gradient of exactly 0'."""
    model = gw.build_mlp(3, activation="relu", init="kaiming_normal")
    with torch.no_grad():
        model.hidden_linears[1].bias[0] = -1e3
    loss = torch.nn.functional.mse_loss(model(spirals.X).squeeze(-1), spirals.y.float())
    (grad,) = torch.autograd.grad(loss, model.hidden_linears[1].weight)
    assert torch.all(grad[0] == 0) and grad[1:].abs().sum() > 0


def test_init_variances():
    """'2 / n_in (He)'; 'U(−1/√n, 1/√n) ... variance for n = 64 ... 1/(3n) = 1/192 ≈ 0.0052'; 'Xavier
    ... in a square layer ... equals LeCun's 1/n_in'."""
    assert gw.INITS["kaiming_normal"].variance(64, 64, gain=math.sqrt(2)) == pytest.approx(2 / 64)
    assert gw.INITS["xavier_normal"].variance(64, 64, gain=1.0) == pytest.approx(1 / 64)
    torch.manual_seed(0)
    weight = torch.nn.Linear(64, 20000).weight
    assert float(weight.detach().var()) == pytest.approx(1 / 192, rel=0.02) and 0.0051 < 1 / 192 < 0.0053


def test_orthogonal_keeps_every_direction_without_activation_and_nearly_with_tanh(spirals):
    """'Exactly without activation, nearly with tanh at gain 1, not with ReLU'."""
    sv = {}
    for act in ("linear", "tanh", "relu"):
        model = gw.build_mlp(10, activation=act, init="orthogonal", init_gain=1.0)
        sv[act] = _product_singular_values(model, spirals.X[:1] * 0.1)
    assert np.allclose(sv["linear"], 1, atol=1e-4)
    assert sv["tanh"].min() > 0.1 and sv["relu"].min() < 1e-6


def test_value_clipping_norm_bound():
    """'For n = 100 entries, the clipped gradient's norm can be up to ... 10c'; clipping by norm keeps
    the direction."""
    p = torch.zeros(100, requires_grad=True)
    p.grad = torch.randn(100) * 50
    torch.nn.utils.clip_grad_value_([p], 0.3)
    assert float(p.grad.norm()) <= 0.3 * 10 + 1e-6
    p.grad = torch.full((100,), 5.0)
    torch.nn.utils.clip_grad_value_([p], 0.3)
    assert float(p.grad.norm()) == pytest.approx(3.0)


def test_residual_growth_of_twelve_unscaled_blocks():
    """'N = 12 unscaled blocks (s = 1) ... (1 + 1)^(12/2) = 2⁶ = 64'; 'scaled by 1/√N it stays below √e'."""
    assert (1 + 1) ** (12 / 2) == 64 and (1 + 1 / 12) ** 6 < math.sqrt(math.e)
    torch.manual_seed(0)
    n, h = 1024, torch.randn(64, 1024)
    start = h.norm()
    for _ in range(12):  # random linear branches of scale s = 1: h + W h, Var(W) = 1/n
        h = h + h @ (torch.randn(n, n) / math.sqrt(n))
    assert float(h.norm() / start) == pytest.approx(64, rel=0.2)


def test_unscaled_attention_logits_have_variance_dk():
    """'Unscaled, the logits have variance d_k'."""
    torch.manual_seed(0)
    q, k = torch.randn(20000, 64), torch.randn(20000, 64)
    logits = (q * k).sum(-1)
    assert float(logits.var()) == pytest.approx(64, rel=0.05)
    assert float((logits / 8).var()) == pytest.approx(1, rel=0.05)


def test_float16_range():
    """'65504 = (2 − 2⁻¹⁰) · 2¹⁵'; '2⁻²⁴, about 6 × 10⁻⁸'; 'About 6.1 × 10⁻⁵ ... 2⁻¹⁴, the smallest normal';
    'About 1.2 × 10⁻³⁸ ... float32's (and bfloat16's) smallest normal'; '2⁻⁷ ... bfloat16's ε';
    'below about 2⁻²⁵ flush to 0'."""
    f16, bf16, f32 = torch.finfo(torch.float16), torch.finfo(torch.bfloat16), torch.finfo(torch.float32)
    assert f16.max == 65504 == (2 - 2**-10) * 2**15
    assert f16.smallest_normal == 2**-14 == pytest.approx(6.1e-5, rel=0.01)
    assert float(torch.tensor(2**-24, dtype=torch.float16)) == 2**-24 == pytest.approx(6e-8, rel=0.01)
    assert float(torch.tensor(0.99 * 2**-25, dtype=torch.float16)) == 0
    assert bf16.smallest_normal == f32.smallest_normal == pytest.approx(1.2e-38, rel=0.03)
    assert bf16.eps == 2**-7


def test_grad_scaler_skips_halves_and_grows():
    """'Skips the step, halves the scale, and grows it again after a run of good steps'; 'by default ...
    0.5 after an overflow and by 2 after 2000 steps without one'."""
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    assert scaler.get_backoff_factor() == 0.5 and scaler.get_growth_factor() == 2.0
    assert scaler.get_growth_interval() == 2000
    w = torch.nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([w], lr=0.1)
    scaler.scale((w * float("inf")).sum()).backward()
    scaler.step(opt)
    scaler.update()
    assert float(w.detach()) == 1.0 and scaler.get_scale() == 512.0


def test_lstm_forget_gate_starts_near_one_half():
    """'Near 1/2: the memory, and its gradient, halve at every step' (PyTorch's default init)."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(2, 32, batch_first=True)
    H = 32
    x = torch.randn(64, 2)
    pre = x @ lstm.weight_ih_l0[H : 2 * H].T + lstm.bias_ih_l0[H : 2 * H] + lstm.bias_hh_l0[H : 2 * H]
    assert float(torch.sigmoid(pre).mean().detach()) == pytest.approx(0.5, abs=0.05)


def test_learning_rate_does_not_change_the_ratio_between_layers(spirals):
    """'the same learning rate multiplies every layer's gradient: it cannot change their ratio' (one SGD
    step's update ratio between the first and the last layer equals their gradients' ratio)."""
    ratios = []
    for lr in (0.01, 1.0):
        model = gw.build_mlp(6, activation="sigmoid").double()
        before = [lin.weight.detach().clone() for lin in model.hidden_linears]
        loss = torch.nn.functional.mse_loss(model(spirals.X.double()).squeeze(-1), spirals.y.double())
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        moves = [
            float((lin.weight - b).norm().detach())
            for lin, b in zip(model.hidden_linears, before, strict=True)
        ]
        ratios.append(moves[0] / moves[-1])
    assert ratios[0] == pytest.approx(ratios[1], rel=1e-3)
