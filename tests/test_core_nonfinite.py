"""gradwidgets.core.nonfinite: where a NaN or inf first appeared, each case built so the answer is known."""

import dataclasses
import warnings

import pytest
import torch
from torch import nn

from gradwidgets.core.losses import Loss
from gradwidgets.core.nonfinite import NonFinite, find_nonfinite, locate_nonfinite


class Exp(nn.Module):
    """Overflows in its own forward: exp(1000 x) is inf for x > 0.09."""

    def forward(self, x):
        return torch.exp(1000 * x)


class SqrtZero(nn.Module):
    """Finite forward (sqrt(0) = 0), infinite derivative: d sqrt(u)/du at 0, times (1 - 1), is NaN."""

    def forward(self, x):
        return torch.sqrt(x - x) + x


class WhereSqrt(nn.Module):
    """sqrt of negative numbers, masked out by torch.where: a finite forward, a NaN backward (0 * NaN)."""

    def forward(self, x):
        return torch.where(x > 0, torch.sqrt(x), x)


class NaNBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * float("nan")


class Custom(nn.Module):
    def forward(self, x):
        return NaNBackward.apply(x)


class ZeroSqrtInPlace(nn.Module):
    """Changes its input in place (as ``nn.ReLU(inplace=True)`` does): zero, then sqrt: a NaN derivative."""

    def forward(self, x):
        return x.mul_(0).sqrt_()


class Scale(nn.Module):
    """sqrt of its own parameter, 0: a finite output and input gradient, an infinite parameter gradient."""

    def __init__(self):
        super().__init__()
        self.s = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x * torch.sqrt(self.s) + x


class LogBlock(nn.Module):
    """log(0) in its own functional code, between two of its layers: fc2 turns -inf into NaN."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 4), nn.Linear(4, 1)

    def forward(self, x):
        return self.fc2(torch.log(torch.relu(self.fc1(x)) * 0))


def mlp(*middle):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), *middle, nn.Linear(4, 1))


def batch(n=8):
    torch.manual_seed(1)
    return torch.randn(n, 3), torch.randn(n, 1)


def state(model):
    """Everything of the user's a call could change: values, .grad, modes, hooks, the random state."""
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    hooks += ("_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs", "_forward_hooks_always_called")
    return (
        [
            (n, p.detach().clone(), id(p.grad), p.grad is None or p.grad.clone())
            for n, p in model.named_parameters()
        ],
        [(n, b.clone()) for n, b in model.named_buffers()],
        [(m.training, *(len(getattr(m, h)) for h in hooks)) for m in model.modules()],
        [(p._backward_hooks, p.requires_grad) for p in model.parameters()],
        torch.get_rng_state(),
    )


def same(a, b):
    """Equal, NaN included, and the same .grad objects."""
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, torch.Tensor):
        return a.shape == b.shape and bool(((a == b) | (a.isnan() & b.isnan())).all())
    return a is b or a == b


def said(r):
    return r.phase, r.module, r.module_type, r.cause


def find(model, X, y, loss=None):
    """find_nonfinite, checking that the model and torch's state are as they were."""
    before = state(model)
    result = find_nonfinite(model, X, y, loss)
    assert same(before, state(model))
    assert isinstance(result, NonFinite) and result.found == (result.phase is not None)
    return result


def test_nan_in_x_is_the_input():
    X, y = batch()
    X[3, 1] = float("nan")
    r = find(mlp(nn.ReLU()), X, y)
    assert (r.phase, r.module, r.cause, r.kind) == ("input", None, "input", "NaN")
    assert "X holds NaN" in repr(r) and "clean the data" in r.hint


def test_a_nan_weight_in_the_third_of_five_linears_is_named_before_any_pass():
    torch.manual_seed(0)
    layers = [nn.Linear(3 if i == 0 else 4, 4 if i < 4 else 1) for i in range(5)]
    model = nn.Sequential(*[m for lin in layers for m in (lin, nn.ReLU())][:-1])
    with torch.no_grad():
        layers[2].weight[1, 2] = float("nan")
    r = find(model, *batch())
    assert said(r) == ("parameters", "4", "Linear", "parameters") and r.parameter == "4.weight"
    assert "checkpoint" in r.hint and "'4.weight'" in repr(r)


def test_a_nan_buffer_is_named_but_an_inf_buffer_may_be_a_mask():
    model = mlp(nn.BatchNorm1d(4))
    model[1].running_var[0] = float("nan")
    r = find(model, *batch())
    assert (r.phase, r.module, r.parameter) == ("parameters", "1", "1.running_var")
    model = mlp()
    model.register_buffer("mask", torch.tensor([0.0, float("-inf")]))
    assert not find(model, *batch()).found


def test_an_overflow_in_a_module_is_blamed_on_it_where_detect_anomaly_blames_a_later_layer():
    model = mlp(Exp(), nn.Linear(4, 4))  # the inf of Exp becomes NaN in the next Linear
    X, y = batch()
    r = find(model, X, y)
    assert (r.phase, r.module, r.module_type, r.cause) == ("forward", "1", "Exp", "operation")
    assert "inf" in r.kind and "overflow" in r.hint and "'1' (Exp)" in repr(r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Anomaly Detection has been enabled", and its traceback
        with torch.autograd.detect_anomaly(), pytest.raises(RuntimeError) as err:
            nn.functional.mse_loss(model(X), y).backward()
    assert "returned nan" in str(err.value) and "Exp" not in str(err.value)  # a backward after Exp's
    model.zero_grad(set_to_none=True)


def test_log_of_zero_in_a_parents_functional_code_is_blamed_on_the_parent():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), LogBlock())
    r = find(model, *batch())  # fc2 is the first to return a non-finite value, but from -inf inputs
    assert (r.phase, r.module, r.module_type, r.cause) == ("forward", "1", "LogBlock", "operation")
    root = LogBlock()
    assert find(root, torch.randn(8, 4), torch.randn(8, 1)).module == ""  # the model itself


class MaskedAttention(nn.Module):
    """Softmax over a row every key of which is masked: NaN, from finite inputs and a -inf mask."""

    def forward(self, h, mask):
        return torch.softmax(h @ h.transpose(-1, -2) + mask, -1) @ h


class Masking(nn.Module):
    def __init__(self, full):
        super().__init__()
        self.proj, self.att, self.head, self.full = nn.Linear(3, 4), MaskedAttention(), nn.Linear(4, 1), full

    def forward(self, x):
        h = self.proj(x).reshape(-1, 2, 4)
        mask = torch.triu(torch.full((2, 2), float("-inf")), 1)
        mask[0] = float("-inf") if self.full else mask[0]
        return self.head(self.att(h, mask=mask)).reshape(-1, 1)


def test_a_minus_inf_mask_is_no_culprit_but_a_fully_masked_row_is_the_attentions_own_operation():
    X, y = batch()
    assert not find(Masking(full=False), X, y).found
    r = find(Masking(full=True), X, y)
    assert said(r) == ("forward", "att", "MaskedAttention", "operation") and r.kind == "NaN"


@pytest.mark.parametrize(
    ("middle", "name", "param"),
    [
        ((SqrtZero(),), "SqrtZero", None),
        ((WhereSqrt(),), "WhereSqrt", None),
        ((nn.ReLU(), Custom()), "Custom", None),
        ((ZeroSqrtInPlace(),), "ZeroSqrtInPlace", None),
        ((nn.ReLU(), Scale()), "Scale", "2.s"),
        ((nn.ReLU(inplace=True), SqrtZero(), nn.ReLU(inplace=True)), "SqrtZero", None),
    ],
    ids=[
        "sqrt-of-zero",
        "where-sqrt",
        "custom-function",
        "in-place",
        "own-parameter",
        "between-inplace-relus",
    ],
)
def test_a_finite_forward_whose_backward_is_not_names_the_module_whose_derivative_did(middle, name, param):
    model = mlp(*middle)
    index = next(i for i, m in enumerate(model) if type(m).__name__ == name)
    r = find(model, *batch())
    assert said(r) == ("backward", str(index), name, "operation") and r.parameter == param
    assert "derivative" in r.hint and f"turned a finite gradient into {r.kind} values" in repr(r)


class SqrtAfter(nn.Module):
    """sqrt(h - h) in its own code, on the output of a module that passes its input on (or changes it in
    place): the derivative is its own, not that module's."""

    def __init__(self, middle):
        super().__init__()
        torch.manual_seed(0)
        self.fc, self.middle, self.head = nn.Linear(3, 4), middle, nn.Linear(4, 1)

    def forward(self, x):
        h = self.middle(self.fc(x))
        return self.head(torch.sqrt(h - h) + h)


@pytest.mark.parametrize("middle", [nn.Identity(), nn.ReLU(inplace=True)], ids=["identity", "inplace-relu"])
def test_a_derivative_in_the_callers_own_code_after_a_module_that_passes_its_input_on(middle):
    r = find(SqrtAfter(middle), *batch())
    assert said(r) == ("backward", "", "SqrtAfter", "operation") and "'' (SqrtAfter)" in repr(r)


def test_the_losss_own_gradient():
    def loss(out, y):
        return torch.sqrt(((out - y) ** 2).sum() * 0)  # 0, with an infinite derivative

    r = find(mlp(nn.ReLU()), *batch(), loss)
    assert (r.phase, r.module, r.cause) == ("backward", None, "operation")
    assert "the loss's gradient is NaN" in repr(r)


def test_a_finite_model_finds_nothing_and_keeps_existing_grads():
    model = mlp(nn.ReLU(inplace=True), nn.Dropout(0.2), nn.BatchNorm1d(4))
    model(batch()[0]).sum().backward()  # .grad set: kept as it is
    r = find(model, *batch())
    assert not r.found and r == NonFinite() and "found=False" in repr(r)
    model.eval()
    assert not find(model, *batch()).found and not model.training


def test_a_loss_that_is_not_finite_on_a_finite_output():
    X, y = batch()
    r = find(mlp(nn.ReLU()), X, -y.abs() - 1, lambda out, t: torch.log(t).mean() + out.mean())
    assert (r.phase, r.module, r.cause, r.kind) == ("loss", None, "operation", "NaN")
    y[2] = float("inf")
    r = find(mlp(nn.ReLU()), X, y, "mse")
    assert (r.phase, r.cause, r.kind) == ("loss", "input", "inf") and "targets" in r.hint


class Tupled(nn.Module):
    def __init__(self, middle):
        super().__init__()
        self.body, self.middle, self.head = nn.Linear(3, 4), middle, nn.Linear(4, 2)

    def forward(self, x):
        h = self.middle(self.body(x))
        return self.head(h), h


class Dicted(Tupled):
    def forward(self, x):
        out, h = super().forward(x)
        return {"logits": out, "hidden": (h, [h * 2])}


@dataclasses.dataclass
class Output:
    logits: torch.Tensor
    hidden: torch.Tensor


class Dataclassed(Tupled):
    def forward(self, x):
        return Output(*super().forward(x))


@pytest.mark.parametrize("kind", [Tupled, Dicted, Dataclassed])
def test_tuple_dict_and_dataclass_outputs(kind):
    torch.manual_seed(0)
    X, labels = batch()[0], torch.tensor([0, 1] * 4)
    assert not find(kind(nn.ReLU()), X, labels).found  # cross-entropy on the logits
    r = find(kind(Exp()), X, labels)
    assert (r.phase, r.module, r.cause) == ("forward", "middle", "operation")
    r = find(kind(SqrtZero()), X, labels)
    assert (r.phase, r.module, r.cause) == ("backward", "middle", "operation")


class Aux(Tupled):
    def forward(self, x):
        return self.head(x[:, :1].expand(-1, 4)), self.middle(self.body(x))


def test_an_output_the_loss_ignores_still_counts_but_not_an_inner_value_nothing_uses():
    torch.manual_seed(0)
    X, labels = batch()[0], torch.tensor([0, 1] * 4)
    r = find(Aux(Exp()), X, labels)  # the loss reads the first output only: finite, and its gradient
    assert (r.phase, r.module, r.cause) == ("forward", "middle", "operation")
    inner = Aux(nn.Sequential(Exp(), nn.Sigmoid()))  # inf inside, 1 outside
    assert not find(inner, X, labels).found


class TwoUses(nn.Module):
    """One tensor fed to two modules: the first one's derivative is NaN, the second one's is finite."""

    def __init__(self):
        super().__init__()
        self.fc, self.bad, self.good, self.head = nn.Linear(3, 4), SqrtZero(), nn.Tanh(), nn.Linear(4, 1)

    def forward(self, x):
        h = self.fc(x)
        return self.head(self.bad(h) + self.good(h))


def test_each_module_sees_the_gradient_for_its_own_use_of_a_shared_input():
    r = find(TwoUses(), *batch())
    assert (r.phase, r.module) == ("backward", "bad")


def test_a_parameter_gradient_later_in_the_forward_pass_comes_first_in_the_backward():
    model = mlp(SqrtZero(), nn.Linear(4, 4), Scale())  # both make NaN; Scale's comes first backward
    r = find(model, *batch())
    assert (r.phase, r.module, r.module_type, r.parameter) == ("backward", "3", "Scale", "3.s")


class Recurrent(nn.Module):
    def __init__(self, after):
        super().__init__()
        torch.manual_seed(0)
        self.lstm, self.after, self.head = nn.LSTM(3, 5, batch_first=True), after, nn.Linear(5, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(self.after(out[:, -1]))


def test_an_lstm():
    X, y = torch.randn(4, 6, 3), torch.randn(4, 1)
    assert not find(Recurrent(nn.Identity()), X, y).found
    model = Recurrent(nn.Identity())
    with torch.no_grad():
        model.lstm.weight_hh_l0[0, 0] = float("inf")
    r = find(model, X, y)
    assert said(r) == ("parameters", "lstm", "LSTM", "parameters") and r.parameter == "lstm.weight_hh_l0"
    r = find(Recurrent(SqrtZero()), X, y)
    assert (r.phase, r.module) == ("backward", "after")


def test_a_float16_overflow():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1)).half()
    with torch.no_grad():
        model[0].weight.fill_(100.0)
    r = find(model, torch.full((3, 4), 1000.0), torch.zeros(3, 1))
    assert said(r) == ("forward", "0", "Linear", "operation") and r.kind == "inf"
    assert "float16" in r.hint


def test_a_loss_that_raises_midway_leaves_everything_as_it_was():
    model = mlp(nn.BatchNorm1d(4), nn.ReLU(inplace=True), nn.Dropout(0.5))
    X, y = batch()
    model(X).sum().backward()
    before = state(model)

    def loss(out, y):
        raise KeyError("midway")

    with pytest.raises(KeyError, match="midway"):
        find_nonfinite(model, X, y, loss)
    assert same(before, state(model))

    class Raises(nn.Module):
        def forward(self, x):
            raise RuntimeError("the user's own error")

    model.append(Raises())
    before = state(model)
    with pytest.raises(RuntimeError, match="own error"):
        find_nonfinite(model, X, y)
    assert same(before, state(model))


def test_checked_arguments_and_locate_on_checked_ones():
    model, (X, y) = mlp(Exp()), batch()
    with pytest.raises(ValueError, match="model"):
        find_nonfinite("model", X, y)
    with pytest.raises(ValueError, match="X"):
        find_nonfinite(model, X.numpy(), y)
    with pytest.raises(ValueError, match="loss"):
        find_nonfinite(model, X, y, "mae")
    with pytest.raises(ValueError, match="same number of examples"):
        find_nonfinite(model, X, y[:3])
    with pytest.raises(ValueError, match="no parameter with requires_grad=True"):
        find_nonfinite(mlp().requires_grad_(False), X, y)
    assert locate_nonfinite(model, X, y, Loss(None)).module == "1"


def test_the_answer_is_a_frozen_dataclass():
    r = find(mlp(Exp()), *batch())
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.phase = "input"
    assert dataclasses.replace(r, hint="other") == r  # the hint is not compared


class OwnLoss(Tupled):
    """As a Hugging Face model: given ``labels``, it returns its own loss with its logits."""

    def forward(self, x, labels=None):
        logits, h = super().forward(x)
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return {"loss": loss, "logits": logits, "hidden": h}


def test_a_model_with_its_own_loss():
    torch.manual_seed(0)
    X, labels = batch()[0], torch.tensor([0, 1] * 4)
    assert not find(OwnLoss(nn.ReLU()), X, labels).found
    assert said(find(OwnLoss(Exp()), X, labels)) == ("forward", "middle", "Exp", "operation")
    labels[0] = 2  # out of range for 2 classes: cross_entropy raises, as the user's own call would
    with pytest.raises((IndexError, RuntimeError)):
        find(OwnLoss(nn.ReLU()), X, labels)
