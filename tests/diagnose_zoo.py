"""A labelled set of models for measuring ``gw.diagnose``'s accuracy (issue 13, item 6).

Each :class:`Case` builds a small, seeded model with a batch and says which model-level flags a
correct diagnosis must raise (``labels``; empty = healthy). Every label is checked by an
independent measurement (``verify``), written here with ``torch.autograd.grad``, a
``TorchFunctionMode`` that sees every ReLU, sigmoid and tanh (module or functional) and
recurrent layers re-run step by step; nothing here calls gradwidgets. Each sick case has a twin
that differs in one knob. The bounds below leave a wide gap around any sensible threshold (and
around gradwidgets/core/thresholds.py's): ratios an order of magnitude or more on either side,
fractions above 90% or below 10-20% of units, so no label depends on the exact threshold; a
case whose measurement falls in the gap for a flag fails its test (or declares that flag
``unscored``, with the reason).

Used by ``tests/test_diagnose_zoo.py`` and ``benchmarks/bench_diagnose.py``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torch.overrides import TorchFunctionMode

FLAGS = ("vanishing", "exploding", "saturated", "dead", "non-finite")
FAMILIES = ("mlp", "cnn", "resnet", "rnn", "transformer", "hf", "torchvision", "timm")

# The independent measurement's bounds: sick beyond the first, healthy within the second,
# anything in between is "unclear" and no case may sit there.
VANISHING_SICK, VANISHING_HEALTHY = 1e-5, 1e-2
"""||dL/dW|| of the first trainable layer over the largest of the later ones (the gradient that
reaches the start of the network), and ||dL/dh_t|| at the first step over the last step for
recurrent layers. Weights are the parameters named ``*weight*`` (Linear, Conv, embedding,
attention, recurrent), in the order their layers ran."""
EXPLODING_SICK, EXPLODING_HEALTHY = 1e4, 1e2
"""The largest of: max_l ||dL/dW_l|| / ||dL/dW_out|| (the output layer: the last one to run, also
when it shares its weight with the embedding), max_l ||dL/dW_l|| / ||W_l|| (one SGD step
at lr 1e-2 would move the layer by 100x its own norm) and ||dL/dh_t|| growth back through time."""
SATURATED_SICK, SATURATED_HEALTHY = 0.9, 0.1
"""Largest fraction, over sigmoid/tanh calls, of entries with f'(z) < 5% of max f'."""
DEAD_SICK, DEAD_HEALTHY = 0.9, 0.2
"""Largest fraction, over ReLU calls, of units (features; channels for images) that are 0 on
every example (and position) of the batch."""
COLLAPSE_RMS, COLLAPSE_GRAD = 1e-3, 1e-3
"""Forward collapse: activation RMS at the last hidden layer over the first below COLLAPSE_RMS
and every weight gradient below COLLAPSE_GRAD x the healthy twin's largest."""
SLOPE_FLOOR = 0.05

Batch = tuple[nn.Module, torch.Tensor, torch.Tensor, Callable | None]


@dataclass(frozen=True)
class Measurement:
    """Numbers measured on one case and, per flag, True (sick), False (healthy) or None (unclear)."""

    values: dict[str, float]
    verdicts: dict[str, bool | None]

    def disagreements(self, labels: frozenset[str], unscored: frozenset[str] = frozenset()) -> list[str]:
        """The flags whose verdict is not ``flag in labels`` (an unclear verdict always disagrees)."""
        return [f for f in FLAGS if f not in unscored and self.verdicts[f] is not (f in labels)]

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v:.3g}" for k, v in self.values.items())
        return f"verdicts {self.verdicts}; {shown}"


@dataclass(frozen=True)
class Case:
    """One labelled model. ``build()`` returns (model, X, y, loss or None: diagnose's default)."""

    name: str
    family: str
    build: Callable[[], Batch] = field(repr=False)
    labels: frozenset[str]
    twin: str
    knob: str
    verify: Callable[[], Measurement] = field(repr=False, default=None)  # type: ignore[assignment]
    unscored: frozenset[str] = frozenset()
    """Flags this case does not decide (its measurement sits between the bounds, for the reason
    given in ``knob``): neither raising nor not raising them counts, and verify is not asked."""

    def __post_init__(self):
        if self.verify is None:
            object.__setattr__(self, "verify", partial(_measure_built, self.build))


# ---------------------------------------------------------------- the independent measurement

_SATURATING = {"sigmoid", "sigmoid_", "tanh", "tanh_"}
_RELU = {"relu", "relu_", "relu6"}
_CLIPPED = {"hardtanh", "hardtanh_"}


class _ActivationProbe(TorchFunctionMode):
    """Records the output of every ReLU (and ReLU6), sigmoid and tanh call: nn modules, F.*,
    torch.* and Tensor methods alike (``F.relu`` in a custom forward, the ReLU inside
    TransformerEncoderLayer, MobileNet's ReLU6)."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, torch.Tensor]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name in _CLIPPED and kwargs.get("min_val", args[1] if len(args) > 1 else -1.0) == 0:
            name = "relu"  # ReLU6 (nn.ReLU6 is hardtanh(0, 6)): 0 with zero slope below 0
        if (
            (name in _SATURATING or name in _RELU)
            and isinstance(out, torch.Tensor)
            and out.is_floating_point()
        ):
            self.calls.append((name.rstrip("_"), out.detach().clone()))
        return out


def _unit_fraction_dead(h: torch.Tensor) -> float:
    """Fraction of units that are 0 on every example: channels for images, else the last axis."""
    if h.dim() < 2:
        return float("nan")
    unit = 1 if h.dim() >= 4 else h.dim() - 1
    alive = (h != 0).transpose(0, unit).reshape(h.shape[unit], -1).any(dim=1)
    return float(1 - alive.float().mean())


def _saturated_fraction(kind: str, h: torch.Tensor) -> float:
    """Fraction of entries whose slope is below SLOPE_FLOOR of the activation's largest slope."""
    slope = h * (1 - h) / 0.25 if kind == "sigmoid" else 1 - h * h
    return float((slope < SLOPE_FLOOR).float().mean())


def _step(kind: str, nonlinearity: str, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w: list):
    """One step of a recurrent cell, written out: (h, c) after input x."""
    w_ih, w_hh, b_ih, b_hh = w
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if kind == "LSTM":
        i, f, g, o = (gi + gh).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    if kind == "GRU":
        (ir, iz, in_), (hr, hz, hn) = gi.chunk(3, dim=1), gh.chunk(3, dim=1)
        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
        return (1 - z) * torch.tanh(in_ + r * hn) + z * h, c
    return (torch.tanh(gi + gh) if nonlinearity == "tanh" else torch.relu(gi + gh)), c


def _unrolled(rnn: nn.RNNBase, hs: list[torch.Tensor]):
    """A forward for ``rnn`` that runs it step by step with its own weights (written out here,
    not torch's kernels), appending each step's hidden state of its first layer's forward
    direction to ``hs`` (stacked and bidirectional layers are run in full)."""
    kind = type(rnn).__name__
    if not rnn.bias or getattr(rnn, "proj_size", 0):
        raise ValueError(f"the step-by-step probe handles {kind}s with biases and no projection")
    directions = 2 if rnn.bidirectional else 1

    def forward(input, hx=None):
        if hx is not None:
            raise ValueError("the step-by-step probe starts from a zero state")
        x = input if rnn.batch_first else input.transpose(0, 1)
        steps = x.shape[1]
        last_h, last_c = [], []
        for layer in range(rnn.num_layers):
            runs = []
            for d in range(directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w = [getattr(rnn, f"{k}{sfx}") for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                h = x.new_zeros(x.shape[0], rnn.hidden_size)
                c = torch.zeros_like(h)
                out: list[torch.Tensor] = [h] * steps
                for t in range(steps) if d == 0 else reversed(range(steps)):
                    h, c = _step(kind, rnn.nonlinearity if kind == "RNN" else "", x[:, t], h, c, w)
                    out[t] = h
                    if layer == 0 and d == 0:
                        hs.append(h)
                runs.append(torch.stack(out, dim=1))
                last_h.append(h)
                last_c.append(c)
            x = torch.cat(runs, dim=2)
        out = x if rnn.batch_first else x.transpose(0, 1)
        with torch.no_grad():  # the same function as torch's own kernel?
            ref = type(rnn).forward(rnn, input)[0]
            same = torch.isfinite(out) == torch.isfinite(ref)  # NaN weights: NaN in the same places
            ok = torch.isfinite(ref)
            err = float((out[ok] - ref[ok]).norm() / ref[ok].norm().clamp_min(1e-30)) if same.all() else 1.0
        if not err < 1e-4:
            raise AssertionError(f"the step-by-step {kind} differs from torch's by {err:.2g}")
        h_n = torch.stack(last_h)
        return (out, (h_n, torch.stack(last_c))) if kind == "LSTM" else (out, h_n)

    return forward


def _output_tensor(output: object) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        return output[0]
    if isinstance(output, Mapping) or hasattr(output, "logits"):
        return output["logits"]
    raise TypeError(f"cannot read a {type(output).__name__} output")


def takes_labels(model: nn.Module) -> bool:
    """True when the model's forward takes ``labels`` (Hugging Face): it computes its own loss."""
    try:
        return "labels" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def default_loss(output: object, y: torch.Tensor) -> torch.Tensor:
    """The loss diagnose uses when none is given (its docstring): the model's own ``loss`` entry
    (a model that takes ``labels`` is given y), else cross-entropy when y holds integer labels
    with one axis less than the output, else mean squared error."""
    own = output.get("loss") if isinstance(output, Mapping) else getattr(output, "loss", None)
    if isinstance(own, torch.Tensor):
        return own
    out = _output_tensor(output)
    if not y.is_floating_point() and out.dim() == y.dim() + 1 and out.dim() >= 2:
        logits = out if out.shape[:-1] == y.shape else out.movedim(1, -1)
        if logits.shape[-1] > 1:
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1).long())
    return F.mse_loss(out, y.reshape(out.shape).to(out.dtype))


def _run(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: Callable | None) -> torch.Tensor:
    """The loss of one forward pass, as diagnose computes it (a model taking labels is given y)."""
    if loss is None and takes_labels(model):
        return default_loss(model(X, labels=y), y)
    return (loss or default_loss)(model(X), y)


def _finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all()) if t.is_floating_point() else True


def measure(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: Callable | None = None) -> Measurement:
    """One forward/backward pass measured independently of gradwidgets: see the module's bounds."""
    order: list[torch.Tensor] = []  # trainable weight matrices, in the order their layers finished
    seen: set[int] = set()
    last: list[torch.Tensor] = []  # the weight of the last layer to finish: the output layer

    def weighty(name: str, p: torch.Tensor) -> bool:
        return "weight" in name.rsplit(".", 1)[-1] and p.requires_grad and p.dim() >= 2

    def collect(module, args, output):  # children finish before their parents: call order
        for name, p in module.named_parameters():
            if weighty(name, p) and id(p) not in seen:
                seen.add(id(p))
                order.append(p)
        own = [p for name, p in module.named_parameters(recurse=False) if weighty(name, p)]
        last[:] = own[-1:] or last  # a tied head (an LM head sharing the embedding) is the output layer

    handles = [m.register_forward_hook(collect) for m in model.modules()]
    states: list[list[torch.Tensor]] = []
    for m in model.modules():
        if isinstance(m, nn.RNNBase):
            states.append([])
            m.forward = _unrolled(m, states[-1])
    probe = _ActivationProbe()
    try:
        with torch.random.fork_rng(devices=[]), probe:
            torch.manual_seed(0)
            value = _run(model, X, y, loss)
    finally:
        for h in handles:
            h.remove()
        for m in model.modules():
            if isinstance(m, nn.RNNBase):
                del m.forward
    hs = [h for s in states for h in s]
    grads = torch.autograd.grad(value, order + hs, allow_unused=True)
    wgrads = [(w, g) for w, g in zip(order, grads[: len(order)], strict=True) if g is not None]
    tgrads = grads[len(order) :]

    finite = (
        _finite(X)
        and _finite(value)
        and all(_finite(p) for p in model.parameters())
        and all(g is None or _finite(g) for g in grads)
    )
    v: dict[str, float] = {"loss": float(value.detach())}
    verdicts: dict[str, bool | None] = {"non-finite": not finite}

    # vanishing and exploding: only meaningful when every gradient is finite
    g = [float(gr.double().norm()) for _, gr in wgrads]
    w = [float(p.detach().double().norm()) for p, _ in wgrads]
    later = max(g[1:], default=g[0] if g else 0.0)
    v["grad_first_over_later"] = g[0] / later if later > 0 else 0.0
    v["grad_max"] = max(g) if g else float("nan")
    at_out = [gi for (p, _), gi in zip(wgrads, g, strict=True) if last and p is last[0]]
    out = at_out[0] if at_out else g[-1] if g else 0.0
    v["grad_over_out"] = max(g) / out if g and out > 0 else float("nan")
    v["grad_over_weight"] = max((gi / wi for gi, wi in zip(g, w, strict=True) if wi > 0), default=0.0)
    through_time = []
    start = 0
    for s in states:
        n = [float(t.double().norm()) for t in tgrads[start : start + len(s)]]
        start += len(s)
        through_time.append(n[0] / n[-1] if n[-1] > 0 else float("nan"))
    if through_time:
        v["time_first_over_last_min"] = min(through_time)
        v["time_first_over_last_max"] = max(through_time)
    if not finite:
        verdicts["vanishing"] = verdicts["exploding"] = False  # "non-finite" says it all
    else:
        van = [v["grad_first_over_later"], *through_time]
        verdicts["vanishing"] = _verdict(min(van) < VANISHING_SICK, min(van) > VANISHING_HEALTHY)
        exp = [x for x in (v["grad_over_out"], v["grad_over_weight"], *through_time) if not math.isnan(x)]
        verdicts["exploding"] = _verdict(max(exp) > EXPLODING_SICK, max(exp) < EXPLODING_HEALTHY)

    sat = [_saturated_fraction(k, h) for k, h in probe.calls if k != "relu"]
    dead = [_unit_fraction_dead(h) for k, h in probe.calls if k == "relu"]
    v["saturated_max"] = max(sat, default=0.0)
    v["dead_max"] = max(dead, default=0.0)
    verdicts["saturated"] = _verdict(
        v["saturated_max"] > SATURATED_SICK, v["saturated_max"] < SATURATED_HEALTHY
    )
    verdicts["dead"] = _verdict(v["dead_max"] > DEAD_SICK, v["dead_max"] < DEAD_HEALTHY)
    if probe.calls:
        v["rms_first"] = float(probe.calls[0][1].double().pow(2).mean().sqrt())
        v["rms_last"] = float(probe.calls[-1][1].double().pow(2).mean().sqrt())
    return Measurement(v, {f: verdicts[f] for f in FLAGS})


def _verdict(sick: bool, healthy: bool) -> bool | None:
    return True if sick else False if healthy else None


def _measure_built(build: Callable[[], Batch]) -> Measurement:
    return measure(*build())


def _forward_collapse(build: Callable[[], Batch], twin: Callable[[], Batch]) -> Measurement:
    """The generic measurement, plus forward collapse: the last hidden activation's RMS is below
    COLLAPSE_RMS of the first's and every weight gradient below COLLAPSE_GRAD of the healthy twin's
    largest (the ratios between layers stay near 1, every step is equally useless)."""
    m, ref = measure(*build()), measure(*twin())
    v = dict(m.values, twin_grad_max=ref.values["grad_max"])
    rms = v["rms_last"] / v["rms_first"]
    grad = v["grad_max"] / v["twin_grad_max"]
    v["collapse_rms"], v["collapse_grad"] = rms, grad
    verdicts = dict(m.verdicts)
    if rms < COLLAPSE_RMS and grad < COLLAPSE_GRAD:
        verdicts["vanishing"] = True
    elif verdicts["vanishing"] is False and not (rms > 100 * COLLAPSE_RMS or grad > 100 * COLLAPSE_GRAD):
        verdicts["vanishing"] = None
    return Measurement(v, verdicts)


def _zero_gated(
    build: Callable[[], Batch],
    gates: Callable[[nn.Module], list[torch.Tensor]],
    opener: Callable[[nn.Module], None],
) -> Measurement:
    """For a model with parameters at (or near) 0 by design (a zero-initialised head, batch norm
    scales at 0 closing each residual branch, ConvNeXt's layer scale at 1e-6): the layers behind
    these gates get (almost) no gradient, for the first steps only. Measured: every gate gets a
    nonzero gradient (the first step opens it), and vanishing/exploding are taken from the same
    model with the gates at their usual init (``opener``); saturated, dead and non-finite from
    the model as it is."""
    model, X, y, loss = build()
    m = measure(model, X, y, loss)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        value = _run(model, X, y, loss)
    gate_grad = min(float(gr.norm()) for gr in torch.autograd.grad(value, gates(model)))
    opened, X2, y2, loss2 = build()
    with torch.no_grad():
        opener(opened)
    m2 = measure(opened, X2, y2, loss2)
    v = dict(m.values, gate_grad_min=gate_grad, **{f"opened_{k}": x for k, x in m2.values.items()})
    verdicts = dict(m.verdicts)
    for f in ("vanishing", "exploding"):
        verdicts[f] = m2.verdicts[f] if gate_grad > 0 else (f == "vanishing")
    return Measurement(v, verdicts)


# ---------------------------------------------------------------- data

_ACT = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _tabular(n: int = 64, d: int = 16, scale: float = 1.0, seed: int = 0):
    g = _gen(seed)
    return scale * torch.randn(n, d, generator=g), torch.randn(n, 1, generator=g)


def _images(n: int = 16, c: int = 3, size: int = 16, classes: int = 10, seed: int = 0, raw: bool = False):
    g = _gen(seed)
    X = torch.rand(n, c, size, size, generator=g) * 255 if raw else torch.randn(n, c, size, size, generator=g)
    return X, torch.randint(0, classes, (n,), generator=g)


def _sequences(n: int = 16, steps: int = 30, d: int = 8, seed: int = 0):
    g = _gen(seed)
    return torch.randn(n, steps, d, generator=g), torch.randn(n, 1, generator=g)


def _tokens(n: int = 16, steps: int = 12, vocab: int = 50, classes: int = 4, seed: int = 0):
    g = _gen(seed)
    return torch.randint(0, vocab, (n, steps), generator=g), torch.randint(0, classes, (n,), generator=g)


def _init_linear(m: nn.Module, init: str, std: float | None = None) -> None:
    """'default' (PyTorch's), 'he', 'xavier' or 'normal' (std); the bias is zeroed unless 'default'."""
    if init == "default":
        return
    if init == "he":
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    elif init == "xavier":
        nn.init.xavier_normal_(m.weight)
    elif init == "normal":
        nn.init.normal_(m.weight, std=std)
    else:
        raise ValueError(init)
    nn.init.zeros_(m.bias)


# ---------------------------------------------------------------- MLPs


def mlp(
    depth: int,
    act: str = "relu",
    init: str = "default",
    std: float | None = None,
    width: int = 32,
    d_in: int = 16,
    d_out: int = 1,
) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = d_in
    for _ in range(depth):
        lin = nn.Linear(d, width)
        _init_linear(lin, init, std)
        layers += [lin, _ACT[act]()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, d_out))


def _mlp_case(
    depth: int,
    act: str = "relu",
    init: str = "default",
    std: float | None = None,
    width: int = 32,
    seed: int = 0,
) -> Batch:
    torch.manual_seed(seed)
    return (mlp(depth, act, init, std, width), *_tabular(seed=seed), None)


def _mlp_bias(bias: float, alive: int, seed: int = 0) -> Batch:
    """A 3-hidden-layer He ReLU MLP whose second layer has bias ``bias`` on all but ``alive`` units."""
    torch.manual_seed(seed)
    model = mlp(3, "relu", "he", width=64)
    with torch.no_grad():
        model[2].bias[alive:] = bias
    return (model, *_tabular(seed=seed), None)


class FunctionalReLUNet(nn.Module):
    """ReLU applied with F.relu in the forward: no activation module to hook."""

    def __init__(self, depth: int = 3, width: int = 64, d_in: int = 16, d_out: int = 1):
        super().__init__()
        self.hidden = nn.ModuleList(nn.Linear(d_in if i == 0 else width, width) for i in range(depth))
        self.out = nn.Linear(width, d_out)
        for lin in self.hidden:
            _init_linear(lin, "he")

    def forward(self, x):
        for lin in self.hidden:
            x = F.relu(lin(x))
        return self.out(x)


def _functional_relu(bias: float, alive: int = 0, seed: int = 0) -> Batch:
    torch.manual_seed(seed)
    model = FunctionalReLUNet()
    with torch.no_grad():
        model.hidden[1].bias[alive:] = bias
    return (model, *_tabular(seed=seed), None)


def _mlp_nan_param(seed: int = 0) -> Batch:
    model, X, y, loss = _mlp_case(6, "relu", "he", width=64, seed=seed)
    with torch.no_grad():
        model[2].weight[3, 5] = float("nan")
    return model, X, y, loss


def _mlp_inf_input(seed: int = 0) -> Batch:
    model, X, y, loss = _mlp_case(6, "relu", "he", width=64, seed=seed)
    X[7, 3] = float("inf")
    return model, X, y, loss


class NaiveSoftplusNet(nn.Module):
    """Softplus written as log(1 + exp(z)): exp overflows float32 beyond z = 88."""

    def __init__(self, d_in: int = 16, width: int = 32):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(d_in, width), nn.Linear(width, width), nn.Linear(width, 1)

    def forward(self, x):
        x = torch.log1p(torch.exp(self.fc1(x)))
        x = torch.log1p(torch.exp(self.fc2(x)))
        return self.out(x)


def _naive_softplus(scale: float, seed: int = 0) -> Batch:
    torch.manual_seed(seed)
    return (NaiveSoftplusNet(), *_tabular(scale=scale, seed=seed), None)


def _raw_inputs(act: str, depth: int, raw: bool, seed: int = 0) -> Batch:
    """An MLP on pixel-like features, raw (0..255) or standardised (zero mean, unit variance)."""
    torch.manual_seed(seed)
    model = mlp(depth, act, "default", width=64)
    X = torch.rand(64, 16, generator=_gen(seed)) * 255
    X = X if raw else (X - 127.5) / 73.6
    return model, X, torch.randn(64, 1, generator=_gen(seed + 1)), None


class BatchNormMLP(nn.Module):
    """Linear-BatchNorm-activation blocks at PyTorch's default init, no residual connections."""

    def __init__(self, depth: int, act: str = "relu", width: int = 64, d_in: int = 16):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(d_in if i == 0 else width, width), nn.BatchNorm1d(width), _ACT[act]()]
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, 1)

    def forward(self, x):
        return self.out(self.body(x))


def _bn_mlp(depth: int, gamma: float | None = None, act: str = "relu", seed: int = 0) -> Batch:
    """``gamma``: every batch norm's scale set to this (0: each block outputs act(0) = 0)."""
    torch.manual_seed(seed)
    model = BatchNormMLP(depth, act)
    if gamma is not None:
        with torch.no_grad():
            for g in _bn_scales(model):
                g.fill_(gamma)
    return (model, *_tabular(seed=seed), None)


def _bn_scales(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def _open_bn_scales(model: nn.Module) -> None:
    for g in _bn_scales(model):
        g.fill_(1.0)


class FunctionalGELUNet(nn.Module):
    """Linear layers at PyTorch's default init with F.gelu in the forward: no activation module."""

    def __init__(self, depth: int, width: int = 64, d_in: int = 16):
        super().__init__()
        self.hidden = nn.ModuleList(nn.Linear(d_in if i == 0 else width, width) for i in range(depth))
        self.out = nn.Linear(width, 1)

    def forward(self, x):
        for lin in self.hidden:
            x = F.gelu(lin(x))
        return self.out(x)


def _functional_gelu(depth: int, seed: int = 0) -> Batch:
    torch.manual_seed(seed)
    return (FunctionalGELUNet(depth), *_tabular(seed=seed), None)


class MatmulLinear(nn.Module):
    """A linear layer of one's own: bare parameters used as ``x @ weight + b`` (the bias named b)."""

    def __init__(self, d_in: int, d_out: int, std: float):
        super().__init__()
        self.weight = nn.Parameter(std * torch.randn(d_in, d_out))
        self.b = nn.Parameter(torch.zeros(d_out))

    def forward(self, x):
        return x @ self.weight + self.b


def _matmul_mlp(depth: int, act: str = "relu", scale: float = 1.0, width: int = 64, seed: int = 0) -> Batch:
    """MatmulLinear layers at He's std (LeCun's for the output) times ``scale``, each hidden one
    followed by an activation module."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    d = 16
    for _ in range(depth):
        layers += [MatmulLinear(d, width, scale * math.sqrt(2 / d)), _ACT[act]()]
        d = width
    model = nn.Sequential(*layers, MatmulLinear(d, 1, scale * d**-0.5))
    return (model, *_tabular(seed=seed), None)


# ---------------------------------------------------------------- CNNs


class ConvNet(nn.Module):
    """Conv stack on 16x16 images, global average pooling, a linear classifier."""

    def __init__(
        self, depth: int, act: str = "relu", init: str = "default", width: int = 16, bn: bool = False
    ):
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for _ in range(depth):
            conv = nn.Conv2d(c, width, 3, padding=1)
            _init_linear(conv, init)
            layers += [conv, nn.BatchNorm2d(width), _ACT[act]()] if bn else [conv, _ACT[act]()]
            c = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


class FunctionalConvNet(nn.Module):
    """Convolutions with F.relu and F.max_pool2d in the forward."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1)
        self.conv3 = nn.Conv2d(width, width, 3, padding=1)
        self.head = nn.Linear(width, 10)
        for conv in (self.conv1, self.conv2, self.conv3):
            _init_linear(conv, "he")

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        return self.head(x.mean(dim=(2, 3)))


def _cnn_case(depth: int, act: str = "relu", init: str = "default", bn: bool = False, seed: int = 0) -> Batch:
    torch.manual_seed(seed)
    return (ConvNet(depth, act, init, bn=bn), *_images(seed=seed), None)


def _cnn_bias(bias: float, alive: int, seed: int = 0) -> Batch:
    """A 4-conv He ReLU net whose second conv has bias ``bias`` on all but ``alive`` channels."""
    model, X, y, loss = _cnn_case(4, "relu", "he", seed=seed)
    with torch.no_grad():
        model.features[2].bias[alive:] = bias
    return model, X, y, loss


def _cnn_functional(bias: float, alive: int = 0, seed: int = 0) -> Batch:
    torch.manual_seed(seed)
    model = FunctionalConvNet()
    with torch.no_grad():
        model.conv2.bias[alive:] = bias
    return (model, *_images(seed=seed), None)


def _cnn_pixels(act: str, raw: bool, seed: int = 0) -> Batch:
    """A 2-conv net on images with pixel values 0..255 (raw) or standardised."""
    torch.manual_seed(seed)
    model = ConvNet(2, act)
    X, y = _images(seed=seed, raw=True)
    return model, X if raw else (X - 127.5) / 73.6, y, None


def _cnn_nan_input(seed: int = 0) -> Batch:
    model, X, y, loss = _cnn_case(4, "relu", "he", bn=True, seed=seed)
    X[3, 1, 5, 7] = float("nan")
    return model, X, y, loss


def _cnn_large_init(scale: float, seed: int = 0) -> Batch:
    """An 8-conv He ReLU net whose convs after the first have ``scale`` times He's init."""
    torch.manual_seed(seed)
    model = ConvNet(8, "relu", "he")
    with torch.no_grad():
        for m in list(model.features)[2:]:
            if isinstance(m, nn.Conv2d):
                m.weight.mul_(scale)
    return (model, *_images(seed=seed), None)


class GroupNormNet(nn.Module):
    """Conv-GroupNorm-activation layers at PyTorch's default init, global average pooling, a classifier."""

    def __init__(self, depth: int, act: str = "relu", width: int = 16, groups: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            conv = nn.Conv2d(3 if i == 0 else width, width, 3, padding=1)
            layers += [conv, nn.GroupNorm(groups, width), _ACT[act]()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def _groupnorm(depth: int, act: str = "relu", seed: int = 0) -> Batch:
    torch.manual_seed(seed)
    return (GroupNormNet(depth, act), *_images(seed=seed), None)


def _cnn_zero_gamma(seed: int = 0) -> Batch:
    """6 conv-BN-ReLU layers (no skip connections) with the third batch norm's scale at 0."""
    model, X, y, loss = _cnn_case(6, "relu", "default", True, seed=seed)
    with torch.no_grad():
        model.features[7].weight.zero_()
    return model, X, y, loss


def _third_bn(model: nn.Module) -> list[torch.Tensor]:
    return [model.features[7].weight]


def _open_third_bn(model: nn.Module) -> None:
    model.features[7].weight.fill_(1.0)


class UNet(nn.Module):
    """A two-level U-Net: conv-BN-ReLU pairs, max pooling down, ConvTranspose2d up, skip concatenations,
    a 1x1 conv to one logit per pixel."""

    def __init__(self, c: int = 8):
        super().__init__()

        def pair(i: int, o: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(),
                nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(),
            )  # fmt: skip

        self.down1, self.down2, self.mid = pair(3, c), pair(c, 2 * c), pair(2 * c, 4 * c)
        self.up2, self.dec2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2), pair(4 * c, 2 * c)
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2), pair(2 * c, c)
        self.out = nn.Conv2d(c, 1, 1)

    def forward(self, x):
        a = self.down1(x)
        b = self.down2(F.max_pool2d(a, 2))
        m = self.mid(F.max_pool2d(b, 2))
        u = self.dec2(torch.cat([self.up2(m), b], dim=1))
        return self.out(self.dec1(torch.cat([self.up1(u), a], dim=1)))


def _unet(bn_bias: float | None = None, seed: int = 0) -> Batch:
    """Segmentation of 4 images 3x16x16 into binary masks (MSE on the logits); ``bn_bias``: every
    batch norm's shift set to this."""
    torch.manual_seed(seed)
    model = UNet()
    if bn_bias is not None:
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.bias.fill_(bn_bias)
    g = _gen(seed)
    X = torch.randn(4, 3, 16, 16, generator=g)
    return model, X, (torch.rand(4, 1, 16, 16, generator=g) > 0.5).float(), None


# ---------------------------------------------------------------- ResNets


class Block(nn.Module):
    """A basic residual block: conv-(BN)-ReLU-conv-(BN), added to the input, then ReLU."""

    def __init__(self, c: int, bn: bool = True):
        super().__init__()
        self.conv1, self.conv2 = (
            nn.Conv2d(c, c, 3, padding=1, bias=not bn),
            nn.Conv2d(c, c, 3, padding=1, bias=not bn),
        )
        self.bn1 = nn.BatchNorm2d(c) if bn else nn.Identity()
        self.bn2 = nn.BatchNorm2d(c) if bn else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class ResNet(nn.Module):
    """A CIFAR-style residual net at one width: stem, ``blocks`` basic blocks, pooling, a classifier."""

    def __init__(self, blocks: int, width: int = 16, bn: bool = True):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1, bias=not bn)
        nn.init.kaiming_normal_(self.stem.weight, nonlinearity="relu")
        self.stem_bn = nn.BatchNorm2d(width) if bn else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.blocks = nn.Sequential(*(Block(width, bn) for _ in range(blocks)))
        self.fc = nn.Linear(width, 10)

    def forward(self, x):
        x = self.blocks(self.relu(self.stem_bn(self.stem(x))))
        return self.fc(x.mean(dim=(2, 3)))


def _resnet(blocks: int, bn: bool = True, branch_scale: float = 1.0, seed: int = 0) -> Batch:
    """``branch_scale`` multiplies the init of each block's second conv (no-norm nets only matter)."""
    torch.manual_seed(seed)
    model = ResNet(blocks, bn=bn)
    with torch.no_grad():
        for b in model.blocks:
            b.conv2.weight.mul_(branch_scale)
    return (model, *_images(size=8, seed=seed), None)


def _resnet_frozen_backbone(seed: int = 0) -> Batch:
    model, X, y, loss = _resnet(4, seed=seed)
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("fc."))
    return model, X, y, loss


def _resnet_zero_head(seed: int = 0) -> Batch:
    model, X, y, loss = _resnet(4, seed=seed)
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.zero_()
    return model, X, y, loss


def _resnet_zero_gamma(seed: int = 0) -> Batch:
    model, X, y, loss = _resnet(4, seed=seed)
    with torch.no_grad():
        for b in model.blocks:
            b.bn2.weight.zero_()
    return model, X, y, loss


def _resnet_zero_head_dying(seed: int = 0) -> Batch:
    """The zero-initialised head, and 15 of the 16 channels of the second block's first batch norm
    shifted to -10: their ReLU passes nothing."""
    model, X, y, loss = _resnet_zero_head(seed=seed)
    with torch.no_grad():
        model.blocks[1].bn1.bias[:15] = -10.0
    return model, X, y, loss


def _fc(model: nn.Module) -> list[torch.Tensor]:
    return [model.fc.weight]


def _open_fc(model: nn.Module) -> None:
    model.fc.reset_parameters()


def _branch_gammas(model: nn.Module) -> list[torch.Tensor]:
    return [b.bn2.weight for b in model.blocks]


def _open_branch_gammas(model: nn.Module) -> None:
    for b in model.blocks:
        b.bn2.weight.fill_(1.0)


# ---------------------------------------------------------------- recurrent nets


class SeqRegressor(nn.Module):
    """A one-layer recurrent net read out at the last step: (n, steps, features) -> (n, 1)."""

    def __init__(self, rnn: nn.RNNBase):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _orthogonal(n: int, gain: float) -> torch.Tensor:
    w = torch.empty(n, n)
    nn.init.orthogonal_(w, gain=gain)
    return w


def _rnn(
    kind: str = "RNN",
    steps: int = 30,
    recurrent: str = "orthogonal",
    gain: float = 1.0,
    input_std: float | None = None,
    nonlinearity: str = "tanh",
    gate_bias: float | None = None,
    hidden: int = 32,
    x_scale: float = 1.0,
    zero_bias: bool = False,
    seed: int = 0,
) -> Batch:
    """A SeqRegressor around a one-layer ``kind``, on inputs of std ``x_scale``.

    recurrent: 'orthogonal' (times ``gain``), 'identity' (times ``gain``) or 'default' (PyTorch's).
    input_std: std of the input weights (default: PyTorch's init). gate_bias: for an LSTM the
    forget gate's total bias, for a GRU the update gate's (default: PyTorch's init).
    """
    torch.manual_seed(seed)
    if kind == "RNN":
        rnn = nn.RNN(8, hidden, batch_first=True, nonlinearity=nonlinearity)
    else:
        rnn = getattr(nn, kind)(8, hidden, batch_first=True)
    h = hidden
    with torch.no_grad():
        if recurrent == "orthogonal":
            rnn.weight_hh_l0.copy_(_orthogonal(h, gain).repeat(rnn.weight_hh_l0.shape[0] // h, 1))
        elif recurrent == "identity":
            rnn.weight_hh_l0.copy_(gain * torch.eye(h))
        if zero_bias or recurrent == "identity":
            rnn.bias_ih_l0.zero_()
            rnn.bias_hh_l0.zero_()
        if input_std is not None:
            rnn.weight_ih_l0.normal_(0.0, input_std)
        if gate_bias is not None:
            gate = slice(h, 2 * h)  # LSTM gates i, f, g, o; GRU gates r, z, n: the second one
            rnn.bias_ih_l0[gate] = gate_bias
            rnn.bias_hh_l0[gate] = 0.0
    X, y = _sequences(steps=steps, seed=seed)
    return SeqRegressor(rnn), x_scale * X, y, None


class StackedRegressor(nn.Module):
    """A stacked (optionally bidirectional) recurrent layer at PyTorch's default init, read out at
    the last step."""

    def __init__(self, kind: str, layers: int = 2, bidirectional: bool = False, hidden: int = 32):
        super().__init__()
        self.rnn = getattr(nn, kind)(8, hidden, layers, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _stacked(
    kind: str,
    steps: int,
    bidirectional: bool = False,
    gate_bias: float | None = None,
    nan: str | None = None,
    seed: int = 0,
) -> Batch:
    """``gate_bias``: the forget (LSTM) or update (GRU) gate's total bias in every layer and
    direction; ``nan``: the name of a weight that gets one NaN entry."""
    torch.manual_seed(seed)
    model = StackedRegressor(kind, bidirectional=bidirectional)
    rnn, h = model.rnn, model.rnn.hidden_size
    with torch.no_grad():
        if gate_bias is not None:
            for name, b in rnn.named_parameters():
                if name.startswith("bias_"):
                    b[h : 2 * h] = gate_bias if name.startswith("bias_ih") else 0.0
        if nan is not None:
            getattr(rnn, nan)[3, 5] = float("nan")
    return (model, *_sequences(steps=steps, seed=seed), None)


# ---------------------------------------------------------------- transformers


class TokenClassifier(nn.Module):
    """Token and position embeddings, a TransformerEncoder, mean pooling, a linear classifier."""

    def __init__(
        self,
        layers: int,
        norm_first: bool,
        activation: str = "gelu",
        d: int = 32,
        vocab: int = 50,
        steps: int = 12,
        classes: int = 4,
    ):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(0.02 * torch.randn(steps, d))
        layer = nn.TransformerEncoderLayer(
            d, 4, 2 * d, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
        )
        self.encoder = nn.TransformerEncoder(
            layer, layers, norm=nn.LayerNorm(d) if norm_first else None, enable_nested_tensor=False
        )
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.encoder(self.emb(x) + self.pos).mean(dim=1))


def _transformer(
    layers: int, norm_first: bool, activation: str = "gelu", ffn_bias: float | None = None, seed: int = 0
) -> Batch:
    """``ffn_bias``: every encoder layer's linear1 bias set to this (all ReLU units off)."""
    torch.manual_seed(seed)
    model = TokenClassifier(layers, norm_first, activation)
    if ffn_bias is not None:
        with torch.no_grad():
            for layer in model.encoder.layers:
                layer.linear1.bias.fill_(ffn_bias)
    return (model, *_tokens(seed=seed), None)


# ---------------------------------------------------------------- third-party models (tests/_realmodels.py)


def _real(builder: str, tweak: Callable[[nn.Module], None] | None = None) -> Batch:
    """A model of tests/_realmodels.py (torchvision and timm are imported only through it)."""
    import _realmodels

    model, X, y = getattr(_realmodels, builder)()
    if tweak is not None:
        with torch.no_grad():
            tweak(model)
    return model, X, y, None


def _gpt2_nan(model: nn.Module) -> None:
    model.transformer.h[0].mlp.c_fc.weight[3, 5] = float("nan")


def _vit_zero_head(model: nn.Module) -> None:
    """torchvision's VisionTransformer as it comes: its head zero-initialised (weight and bias)."""
    model.heads.head.weight.zero_()
    model.heads.head.bias.zero_()


def _vit_head(model: nn.Module) -> list[torch.Tensor]:
    return [model.heads.head.weight]


def _open_vit_head(model: nn.Module) -> None:
    nn.init.normal_(model.heads.head.weight, std=0.2)


def _resnet18_dead_stem(model: nn.Module) -> None:
    """The stem's batch norm shifted to -10: its ReLU passes nothing (the first 'dying ReLU')."""
    model.bn1.bias.fill_(-10.0)


def _layer_scales(model: nn.Module) -> list[torch.Tensor]:
    """ConvNeXt's layer scale: each block's output is multiplied by ``gamma``, initialised to 1e-6."""
    return [p for n, p in model.named_parameters() if n.endswith(".gamma")]


def _open_layer_scales(model: nn.Module) -> None:
    for p in _layer_scales(model):
        p.fill_(1.0)


def _library(name: str):
    """torchvision, timm or transformers, imported after tests/_realmodels.py (which defines the
    torchvision operators its import needs)."""
    import importlib

    import _realmodels  # noqa: F401

    return importlib.import_module(name)


def _nan_entry(model: nn.Module, name: str) -> None:
    model.get_parameter(name).view(-1)[5] = float("nan")


def _tv_convnext(seed: int = 0) -> Batch:
    """torchvision's ConvNeXt at a small config (two stages, widths 16 and 32): its layer scale,
    1e-6, is a (C, 1, 1) parameter, not a vector; 4 images 32x32."""
    convnext = _library("torchvision.models.convnext")
    torch.manual_seed(seed)
    stages = [convnext.CNBlockConfig(16, 32, 2), convnext.CNBlockConfig(32, None, 2)]
    model = convnext.ConvNeXt(stages, stochastic_depth_prob=0.0, layer_scale=1e-6, num_classes=10)
    return (model, *_images(n=4, size=32, seed=seed), None)


def _tv_convnext_zero_head(seed: int = 0) -> Batch:
    """The small torchvision ConvNeXt with its classifier zero-initialised: the head gates the
    layer scales (1e-6), which gate the blocks."""
    model, X, y, loss = _tv_convnext(seed=seed)
    with torch.no_grad():
        model.classifier[2].weight.zero_()
        model.classifier[2].bias.zero_()
    return model, X, y, loss


def _tv_convnext_head(model: nn.Module) -> list[torch.Tensor]:
    return [model.classifier[2].weight]


def _open_tv_convnext_head(model: nn.Module) -> None:
    nn.init.trunc_normal_(model.classifier[2].weight, std=0.02)


def _tv_mobilenet_v2(bn_bias: float | None = None, seed: int = 0) -> Batch:
    """torchvision's MobileNetV2 (ReLU6, inverted residuals) on 4 images 64x64; ``bn_bias``:
    every batch norm's shift set to this."""
    models = _library("torchvision.models")
    torch.manual_seed(seed)
    model = models.mobilenet_v2(weights=None, num_classes=10, dropout=0.0)
    if bn_bias is not None:
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.bias.fill_(bn_bias)
    return (model, *_images(n=4, size=64, seed=seed), None)


def _tv_resnet18_zero_residual(seed: int = 0) -> Batch:
    """torchvision's ResNet-18 with ``zero_init_residual=True``: each block's last batch norm at 0."""
    models = _library("torchvision.models")
    torch.manual_seed(seed)
    model = models.resnet18(weights=None, num_classes=10, zero_init_residual=True)
    return (model, *_images(n=2, size=64, seed=seed), None)


def _block_bn2(model: nn.Module) -> list[torch.Tensor]:
    return [m.bn2.weight for m in model.modules() if hasattr(m, "bn2")]


def _open_block_bn2(model: nn.Module) -> None:
    for g in _block_bn2(model):
        g.fill_(1.0)


def _timm_resnet18(stem_bias: float | None = None, seed: int = 0) -> Batch:
    """timm's ResNet-18 on 2 images 64x64; its default ``zero_init_last`` puts each block's last
    batch norm at 0. ``stem_bias``: the stem batch norm's shift."""
    timm = _library("timm")
    torch.manual_seed(seed)
    model = timm.create_model("resnet18", pretrained=False, num_classes=10)
    if stem_bias is not None:
        with torch.no_grad():
            model.bn1.bias.fill_(stem_bias)
    return (model, *_images(n=2, size=64, seed=seed), None)


def _timm_cait(seed: int = 0) -> Batch:
    """timm's CaiT (talking-heads attention, class-attention blocks, layer scale 1e-5), 4 blocks
    on 4 images 32x32 in 8x8 patches."""
    timm = _library("timm")
    torch.manual_seed(seed)
    model = timm.create_model(
        "cait_xxs24_224", pretrained=False, num_classes=10, img_size=32, patch_size=8, depth=4
    )
    return (model, *_images(n=4, size=32, seed=seed), None)


def _timm_resmlp(seed: int = 0) -> Batch:
    """timm's ResMLP-12 as it comes: its head zero-initialised and every block's two layer scales
    at 1e-4 (Affine norms, no attention); 2 images 64x64 in 16x16 patches."""
    timm = _library("timm")
    torch.manual_seed(seed)
    model = timm.create_model("resmlp_12_224", pretrained=False, num_classes=10, img_size=64)
    return (model, *_images(n=2, size=64, seed=seed), None)


def _timm_head(model: nn.Module) -> list[torch.Tensor]:
    return [model.head.weight]


def _open_timm_head(model: nn.Module) -> None:
    nn.init.trunc_normal_(model.head.weight, std=0.02)


def _timm_poolformer(seed: int = 0) -> Batch:
    """timm's PoolFormer-S12 (pooling as token mixer, layer scale 1e-5) on 4 images 32x32: its last
    stage is 1x1, where pool(x) - x is exactly 0, so that stage's first layer scales get no gradient."""
    timm = _library("timm")
    torch.manual_seed(seed)
    model = timm.create_model("poolformer_s12", pretrained=False, num_classes=10)
    return (model, *_images(n=4, size=32, seed=seed), None)


def _cait_scales(model: nn.Module) -> list[torch.Tensor]:
    return [p for n, p in model.named_parameters() if n.rsplit(".", 1)[-1] in ("gamma_1", "gamma_2")]


def _open_cait_scales(model: nn.Module) -> None:
    for p in _cait_scales(model):
        p.fill_(1.0)


_VOCAB = 100


def _hf(model_class: str, config_class: str, **config) -> nn.Module:
    """A transformers model from a small config, seeded: ``model_class(config_class(**config))``."""
    transformers = _library("transformers")
    torch.manual_seed(0)
    return getattr(transformers, model_class)(getattr(transformers, config_class)(**config))


def _hf_tokens(per_token: bool = True, classes: int = 3, n: int = 2, steps: int = 16, seed: int = 1):
    """Token ids (n, steps) and targets: per token (language models) or one class per sequence."""
    g = _gen(seed)
    X = torch.randint(0, _VOCAB, (n, steps), generator=g)
    shape = (n, steps) if per_token else (n,)
    return X, torch.randint(0, _VOCAB if per_token else classes, shape, generator=g)


def _hf_bart() -> Batch:
    """BART for generation, 2 encoder and 2 decoder layers; its LM head, the decoder's and the
    encoder's token embeddings are one tied matrix. Its own loss on labels=y."""
    model = _hf(
        "BartForConditionalGeneration", "BartConfig", vocab_size=_VOCAB, d_model=32, encoder_layers=2,
        decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
        decoder_ffn_dim=64, max_position_embeddings=32, dropout=0.0, attention_dropout=0.0,
        activation_dropout=0.0, pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
    )  # fmt: skip
    return (model, *_hf_tokens(), None)


def _hf_t5(nan: str | None = None) -> Batch:
    """T5 for generation, 2+2 layers (relative position buckets, ReLU feed-forward); labels=y."""
    model = _hf(
        "T5ForConditionalGeneration", "T5Config", vocab_size=_VOCAB, d_model=32, d_kv=8, d_ff=64,
        num_layers=2, num_heads=4, dropout_rate=0.0, decoder_start_token_id=0, pad_token_id=0,
    )  # fmt: skip
    if nan is not None:
        with torch.no_grad():
            _nan_entry(model, nan)
    return (model, *_hf_tokens(), None)


def _hf_opt(ffn_bias: float | None = None) -> Batch:
    """OPT causal LM, 2 layers (ReLU feed-forward); ``ffn_bias``: every fc1 bias set to this."""
    model = _hf(
        "OPTForCausalLM", "OPTConfig", vocab_size=_VOCAB, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=4, ffn_dim=64, max_position_embeddings=32, dropout=0.0, attention_dropout=0.0,
        word_embed_proj_dim=32, pad_token_id=1, bos_token_id=2, eos_token_id=2,
    )  # fmt: skip
    if ffn_bias is not None:
        with torch.no_grad():
            for layer in model.model.decoder.layers:
                layer.fc1.bias.fill_(ffn_bias)
    return (model, *_hf_tokens(), None)


def _hf_llama(initializer_range: float = 0.02) -> Batch:
    """Llama causal LM, 4 layers (RMSNorm, gated MLP), every weight drawn with std ``initializer_range``."""
    model = _hf(
        "LlamaForCausalLM", "LlamaConfig", vocab_size=_VOCAB, hidden_size=32, intermediate_size=64,
        num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
        initializer_range=initializer_range,
    )  # fmt: skip
    return (model, *_hf_tokens(), None)


# ---------------------------------------------------------------- the zoo

P = partial
V, E, S, D, N = "vanishing", "exploding", "saturated", "dead", "non-finite"


def _case(
    name: str,
    family: str,
    build: Callable[[], Batch],
    labels: tuple[str, ...],
    twin: str,
    knob: str,
    verify: Callable[[], Measurement] | None = None,
    unscored: tuple[str, ...] = (),
) -> Case:
    return Case(name, family, build, frozenset(labels), twin, knob, verify, frozenset(unscored))


_mlp_he = P(_mlp_case, 6, "relu", "he", width=64)
_mlp_small = P(_mlp_case, 6, "relu", "normal", 0.01, width=64)
_mlp_tanh_xavier = P(_mlp_case, 30, "tanh", "xavier")
_mlp_relu_xavier = P(_mlp_case, 30, "relu", "xavier")
_rnn_growing = P(_rnn, "RNN", 30, "orthogonal", 1.5, x_scale=1e-5, zero_bias=True)
_rnn_linear = P(_rnn, "RNN", 30, "orthogonal", 1.0, x_scale=1e-5, zero_bias=True)
_vit_zero_head_case = P(_real, "torchvision_vit", _vit_zero_head)
_convnext = P(_real, "timm_convnext_atto")
_bn_mlp_zero_gamma = P(_bn_mlp, 20, 0.0)
_bn_mlp_gelu_zero_gamma = P(_bn_mlp, 10, 0.0, "gelu")

# One case per entry: _case(name, family, build, labels, twin, knob[, verify=, unscored=]).
# fmt: off
CASES: list[Case] = [
    # MLPs: 64 examples of 16 features, width 32 or 64
    _case("mlp_sigmoid_deep", "mlp", P(_mlp_case, 20, "sigmoid"), (V,),
          "mlp_sigmoid_shallow", "depth 20 -> 1"),
    _case("mlp_sigmoid_shallow", "mlp", P(_mlp_case, 1, "sigmoid"), (),
          "mlp_sigmoid_deep", "depth 1 -> 20"),
    _case("mlp_tanh_deep", "mlp", P(_mlp_case, 30, "tanh"), (V,),
          "mlp_tanh_xavier_deep", "init: PyTorch's default (gain ~0.58 a layer) -> Xavier"),
    _case("mlp_tanh_xavier_deep", "mlp", _mlp_tanh_xavier, (),
          "mlp_tanh_deep", "init: Xavier -> PyTorch's default"),
    _case("mlp_relu_xavier_deep", "mlp", _mlp_relu_xavier, (V,),
          "mlp_tanh_xavier_deep",
          "activation tanh -> ReLU under Xavier init: the signal halves in power at each of 30 "
          "layers (forward collapse). 'dead' unscored: any 30-layer ReLU stack, He's too, has "
          "35-45% of its last layers' units silent on the whole batch (the inputs' "
          "representations become parallel)",
          verify=P(_forward_collapse, _mlp_relu_xavier, _mlp_tanh_xavier), unscored=(D,)),
    _case("mlp_relu_small_init", "mlp", _mlp_small, (V,),
          "mlp_relu_he", "init N(0, 0.01) -> He: the activations shrink 17x a layer (forward collapse)",
          verify=P(_forward_collapse, _mlp_small, _mlp_he)),
    _case("mlp_relu_he", "mlp", _mlp_he, (),
          "mlp_relu_small_init", "init He -> N(0, 0.01)"),
    _case("mlp_relu_large_init", "mlp", P(_mlp_case, 6, "relu", "normal", 1.0, width=64), (E,),
          "mlp_relu_he", "init N(0, 1) -> He (std 0.18)"),
    _case("mlp_dying_relu", "mlp", P(_mlp_bias, -10.0, 2), (D,),
          "mlp_relu_zero_bias", "62 of the second layer's 64 biases -10 -> 0 (2 live units pass gradient)"),
    _case("mlp_dead_layer", "mlp", P(_mlp_bias, -10.0, 0), (D, V),
          "mlp_relu_zero_bias", "all 64 of the second layer's biases -10 -> 0: the first layer gets 0"),
    _case("mlp_relu_zero_bias", "mlp", P(_mlp_bias, 0.0, 0), (),
          "mlp_dying_relu", "biases 0 -> -10"),
    _case("mlp_functional_dying_relu", "mlp", P(_functional_relu, -10.0, 2), (D,),
          "mlp_functional_relu", "F.relu in the forward; 62 of 64 biases -10 -> 0"),
    _case("mlp_functional_relu", "mlp", P(_functional_relu, 0.0), (),
          "mlp_functional_dying_relu", "F.relu in the forward; biases 0 -> -10"),
    _case("mlp_nan_weight", "mlp", _mlp_nan_param, (N,),
          "mlp_relu_he", "one weight NaN -> finite"),
    _case("mlp_inf_input", "mlp", _mlp_inf_input, (N,),
          "mlp_relu_he", "one input entry inf -> finite"),
    _case("mlp_softplus_overflow", "mlp", P(_naive_softplus, 100.0), (N,),
          "mlp_softplus", "log(1 + exp(z)) on inputs of std 100 -> 1: exp overflows float32"),
    _case("mlp_softplus", "mlp", P(_naive_softplus, 1.0), (),
          "mlp_softplus_overflow", "inputs of std 1 -> 100"),
    _case("mlp_tanh_raw_inputs", "mlp", P(_raw_inputs, "tanh", 2, True), (S,),
          "mlp_tanh_standardised", "features 0..255 -> standardised"),
    _case("mlp_tanh_standardised", "mlp", P(_raw_inputs, "tanh", 2, False), (),
          "mlp_tanh_raw_inputs", "standardised -> raw 0..255 features"),
    _case("mlp_sigmoid_raw_inputs", "mlp", P(_raw_inputs, "sigmoid", 1, True), (S,),
          "mlp_sigmoid_standardised", "features 0..255 -> standardised"),
    _case("mlp_sigmoid_standardised", "mlp", P(_raw_inputs, "sigmoid", 1, False), (),
          "mlp_sigmoid_raw_inputs", "standardised -> raw 0..255 features"),
    _case("mlp_batchnorm_deep", "mlp", P(_bn_mlp, 20), (),
          "mlp_batchnorm_very_deep", "20 Linear-BN-ReLU blocks -> 50"),
    _case("mlp_batchnorm_very_deep", "mlp", P(_bn_mlp, 50), (E,),
          "mlp_batchnorm_deep",
          "50 Linear-BN-ReLU blocks -> 20: batch norm in a plain chain makes the gradient grow about "
          "1.2x a layer toward the input (Yang et al. 2019), 3e4x over 50"),
    _case("mlp_batchnorm_zero_gamma", "mlp", _bn_mlp_zero_gamma, (D, V),
          "mlp_batchnorm_deep",
          "every batch norm's scale 1 -> 0 in a plain chain: each block outputs ReLU(0) = 0, and no "
          "scale gets a gradient (ReLU's slope at 0 is 0): not a gate that opens",
          verify=P(_zero_gated, _bn_mlp_zero_gamma, _bn_scales, _open_bn_scales)),
    _case("mlp_batchnorm_gelu", "mlp", P(_bn_mlp, 10, None, "gelu"), (),
          "mlp_batchnorm_gelu_zero_gamma", "10 Linear-BN-GELU blocks; batch norm scales 1 -> 0"),
    _case("mlp_batchnorm_gelu_zero_gamma", "mlp", _bn_mlp_gelu_zero_gamma, (V,),
          "mlp_batchnorm_gelu",
          "10 Linear-BN-GELU blocks, every batch norm's scale 1 -> 0: each block outputs GELU(0) = 0 "
          "and only the last scale gets a gradient (~1e-6, rounding noise): nothing opens. Not "
          "'dead': GELU's slope at 0 is 1/2, its units are silent, not dead",
          verify=P(_zero_gated, _bn_mlp_gelu_zero_gamma, _bn_scales, _open_bn_scales)),
    _case("mlp_functional_gelu", "mlp", P(_functional_gelu, 4), (),
          "mlp_functional_gelu_deep", "F.gelu, PyTorch's default init; depth 4 -> 14"),
    _case("mlp_functional_gelu_deep", "mlp", P(_functional_gelu, 14), (V,),
          "mlp_functional_gelu",
          "F.gelu, PyTorch's default init (gain ~0.58 a layer); depth 14 -> 4: the gradient halves "
          "at each layer"),
    _case("mlp_matmul", "mlp", P(_matmul_mlp, 4), (),
          "mlp_matmul_large_init", "layers of bare parameters (x @ weight + b); their std 1x -> 10x"),
    _case("mlp_matmul_large_init", "mlp", P(_matmul_mlp, 4, "relu", 10.0), (E,),
          "mlp_matmul", "layers of bare parameters (x @ weight + b) at 10x their std -> 1x"),
    _case("mlp_matmul_sigmoid_deep", "mlp", P(_matmul_mlp, 12, "sigmoid"), (V,),
          "mlp_matmul",
          "layers of bare parameters (x @ weight + b, the zero bias named b); ReLU -> sigmoid and "
          "depth 4 -> 12"),

    # CNNs: 16 images 3x16x16, 10 classes
    _case("cnn_sigmoid_deep", "cnn", P(_cnn_case, 12, "sigmoid"), (V,),
          "cnn_sigmoid_shallow", "depth 12 -> 1"),
    _case("cnn_sigmoid_shallow", "cnn", P(_cnn_case, 1, "sigmoid"), (),
          "cnn_sigmoid_deep", "depth 1 -> 12"),
    _case("cnn_relu_he", "cnn", P(_cnn_large_init, 1.0), (),
          "cnn_large_init", "8 convs at He's init -> convs 2-8 at 6x"),
    _case("cnn_large_init", "cnn", P(_cnn_large_init, 6.0), (E,),
          "cnn_relu_he", "convs 2-8 at 6x He's init -> He"),
    _case("cnn_dying_relu", "cnn", P(_cnn_bias, -10.0, 1), (D,),
          "cnn_relu_zero_bias", "15 of the second conv's 16 biases -10 -> 0"),
    _case("cnn_relu_zero_bias", "cnn", P(_cnn_bias, 0.0, 0), (),
          "cnn_dying_relu", "biases 0 -> -10"),
    _case("cnn_functional_dying_relu", "cnn", P(_cnn_functional, -10.0, 1), (D,),
          "cnn_functional", "F.relu and F.max_pool2d in the forward; 15 of 16 biases -10 -> 0"),
    _case("cnn_functional", "cnn", P(_cnn_functional, 0.0), (),
          "cnn_functional_dying_relu", "F.relu and F.max_pool2d in the forward; biases 0 -> -10"),
    _case("cnn_batchnorm", "cnn", P(_cnn_case, 6, "relu", "default", True), (),
          "cnn_nan_pixel", "6 conv-BN-ReLU layers; a finite batch -> one NaN pixel"),
    _case("cnn_nan_pixel", "cnn", _cnn_nan_input, (N,),
          "cnn_batchnorm", "one pixel NaN -> finite"),
    _case("cnn_tanh_raw_pixels", "cnn", P(_cnn_pixels, "tanh", True), (S,),
          "cnn_tanh_standardised", "pixels 0..255 -> standardised"),
    _case("cnn_tanh_standardised", "cnn", P(_cnn_pixels, "tanh", False), (),
          "cnn_tanh_raw_pixels", "standardised -> raw 0..255 pixels"),
    _case("cnn_batchnorm_zero_gamma", "cnn", _cnn_zero_gamma, (D, V),
          "cnn_batchnorm",
          "the third of 6 batch norms (no skip connections) has scale 0: its ReLU outputs 0, and "
          "the scale gets no gradient (ReLU's slope at 0 is 0), so nothing before it ever learns",
          verify=P(_zero_gated, _cnn_zero_gamma, _third_bn, _open_third_bn)),
    _case("cnn_groupnorm", "cnn", P(_groupnorm, 16), (),
          "cnn_groupnorm_sigmoid", "16 conv-GroupNorm-ReLU layers at PyTorch's init; ReLU -> sigmoid"),
    _case("cnn_groupnorm_sigmoid", "cnn", P(_groupnorm, 16, "sigmoid"), (V,),
          "cnn_groupnorm",
          "16 conv-GroupNorm layers; ReLU -> sigmoid: normalized inputs keep sigmoid off its flat "
          "ends (not saturated), yet its slope of at most 1/4 shrinks the gradient at every layer"),
    _case("cnn_unet", "cnn", _unet, (),
          "cnn_unet_dead", "U-Net: BN, max pooling, ConvTranspose2d, skip concatenations"),
    _case("cnn_unet_dead", "cnn", P(_unet, -10.0), (D, V),
          "cnn_unet", "U-Net, every batch norm's shift 0 -> -10: every ReLU outputs 0"),

    # ResNets: 16 images 3x8x8, width 16
    _case("resnet_batchnorm", "resnet", P(_resnet, 4), (),
          "resnet_batchnorm_deep", "4 blocks -> 16"),
    _case("resnet_batchnorm_deep", "resnet", P(_resnet, 16), (),
          "resnet_batchnorm", "16 blocks (33 convs) -> 4"),
    _case("resnet_no_norm_large_init", "resnet", P(_resnet, 10, False, 5.0), (E,),
          "resnet_no_norm_small_init", "no batch norm; each branch's second conv at 5x He -> 0.1x"),
    _case("resnet_no_norm_small_init", "resnet", P(_resnet, 10, False, 0.1), (),
          "resnet_no_norm_large_init", "no batch norm; each branch's second conv at 0.1x He -> 5x"),
    _case("resnet_frozen_backbone", "resnet", _resnet_frozen_backbone, (),
          "resnet_batchnorm", "requires_grad False on everything but fc"),
    _case("resnet_zero_head", "resnet", _resnet_zero_head, (),
          "resnet_batchnorm", "fc zero-initialised: the rest gets exactly 0 until the first step",
          verify=P(_zero_gated, _resnet_zero_head, _fc, _open_fc)),
    _case("resnet_zero_head_dying_relu", "resnet", _resnet_zero_head_dying, (D,),
          "resnet_zero_head",
          "zero-initialised head; 15 of 16 channels of the second block's first batch norm shifted "
          "0 -> -10 (their ReLU is dead); the head opens at the first step, the skip path goes "
          "around the dead units: not vanishing",
          verify=P(_zero_gated, _resnet_zero_head_dying, _fc, _open_fc)),
    _case("resnet_zero_gamma", "resnet", _resnet_zero_gamma, (),
          "resnet_batchnorm", "the batch norm closing each residual branch has scale 0 (Goyal et al.)",
          verify=P(_zero_gated, _resnet_zero_gamma, _branch_gammas, _open_branch_gammas)),

    # recurrent nets: 16 sequences of 8 features, hidden size 32, read out at the last step
    _case("rnn_tanh_contracting", "rnn", P(_rnn, "RNN", 20, "orthogonal", 0.3, 0.05), (V,),
          "rnn_tanh_orthogonal", "recurrent weights orthogonal x0.3 -> x1: dL/dh_t shrinks 0.3x a step"),
    _case("rnn_tanh_orthogonal", "rnn", P(_rnn, "RNN", 20, "orthogonal", 1.0, 0.05), (),
          "rnn_tanh_contracting", "recurrent weights orthogonal x1 -> x0.3"),
    _case("rnn_tanh_saturated", "rnn", P(_rnn, "RNN", 20, "orthogonal", 1.0, 10.0), (S, V),
          "rnn_tanh_orthogonal", "input weights std 10 -> 0.05: tanh saturates, dL/dh_t dies in time"),
    _case("rnn_tanh_growing", "rnn", _rnn_growing, (E,),
          "rnn_tanh_linear",
          "recurrent weights orthogonal x1.5 -> x1 (inputs 1e-5, no bias: tanh stays linear): "
          "dL/dh_t grows 1e5x back through time while every weight's gradient looks normal"),
    _case("rnn_tanh_linear", "rnn", _rnn_linear, (),
          "rnn_tanh_growing", "recurrent weights orthogonal x1 -> x1.5"),
    _case("rnn_relu_exploding", "rnn", P(_rnn, "RNN", 30, "identity", 1.5, None, "relu"), (E,),
          "rnn_relu_identity", "ReLU RNN, recurrent weights 1.5 I -> I"),
    _case("rnn_relu_identity", "rnn", P(_rnn, "RNN", 30, "identity", 1.0, None, "relu"), (),
          "rnn_relu_exploding", "ReLU RNN, recurrent weights I (IRNN) -> 1.5 I"),
    _case("lstm_forget_open", "rnn", P(_rnn, "LSTM", 20, "default", gate_bias=2.5), (),
          "lstm_forget_closed", "forget-gate bias 2.5 -> -3"),
    _case("lstm_forget_closed", "rnn", P(_rnn, "LSTM", 20, "default", gate_bias=-3.0), (V,),
          "lstm_forget_open", "forget-gate bias -3 -> 2.5: the cell keeps 5% a step"),
    _case("gru_update_open", "rnn", P(_rnn, "GRU", 30, "default", gate_bias=3.0), (),
          "gru_update_closed", "update-gate bias 3 -> -3"),
    _case("gru_update_closed", "rnn", P(_rnn, "GRU", 30, "default", gate_bias=-3.0), (V,),
          "gru_update_open", "update-gate bias -3 -> 3: the state is overwritten at every step"),
    _case("lstm_stacked_bidirectional", "rnn", P(_stacked, "LSTM", 8, True), (),
          "lstm_stacked_forget_closed", "2-layer bidirectional LSTM, PyTorch's init, 8 steps"),
    _case("lstm_stacked_forget_closed", "rnn", P(_stacked, "LSTM", 8, True, -3.5), (V,),
          "lstm_stacked_bidirectional",
          "2-layer bidirectional LSTM, 8 steps; every forget-gate bias -3.5 -> PyTorch's (~0)"),
    _case("gru_stacked", "rnn", P(_stacked, "GRU", 10), (),
          "gru_stacked_nan_weight", "2-layer GRU, PyTorch's init, 10 steps"),
    _case("gru_stacked_nan_weight", "rnn", P(_stacked, "GRU", 10, nan="weight_hh_l1"), (N,),
          "gru_stacked", "2-layer GRU; one entry of the second layer's recurrent weights NaN"),

    # transformers: 16 sequences of 12 tokens, d 32, 4 heads, mean-pooled, 4 classes
    _case("transformer_pre_ln", "transformer", P(_transformer, 4, True), (),
          "transformer_post_ln", "4 pre-LN layers -> 2 post-LN"),
    _case("transformer_post_ln", "transformer", P(_transformer, 2, False), (),
          "transformer_pre_ln", "2 post-LN layers -> 4 pre-LN"),
    _case("transformer_relu", "transformer", P(_transformer, 2, False, "relu"), (),
          "transformer_dead_ffn", "activation='relu'; linear1 biases PyTorch's -> -10"),
    _case("transformer_dead_ffn", "transformer", P(_transformer, 2, False, "relu", -10.0), (D,),
          "transformer_relu",
          "activation='relu'; linear1 biases -10 -> PyTorch's: every FFN unit off (the residual "
          "path still carries the gradient to the embeddings: not vanishing)"),
    _case("transformer_post_ln_deep", "transformer", P(_transformer, 12, False), (),
          "transformer_post_ln_deep_dead_ffn", "12 post-LN layers (GELU)"),
    _case("transformer_post_ln_deep_dead_ffn", "transformer", P(_transformer, 12, False, "relu", -10.0), (D,),
          "transformer_post_ln_deep", "12 post-LN layers; activation GELU -> ReLU with linear1 biases -10"),

    # third-party models from small configs, random weights, batches of 2 (tests/_realmodels.py)
    _case("hf_gpt2", "hf", P(_real, "gpt2_lm_head"), (),
          "hf_gpt2_nan_weight", "GPT-2 LM, its own loss (labels=y)"),
    _case("hf_gpt2_nan_weight", "hf", P(_real, "gpt2_lm_head", _gpt2_nan), (N,),
          "hf_gpt2", "one entry of a Conv1D weight NaN -> finite"),
    _case("hf_bert", "hf", P(_real, "bert_sequence_classification"), (),
          "hf_llama",
          "BERT classifier; its query/key weights get ~2e-5 of the pooler's gradient at init "
          "(attention starts near uniform), yet the embeddings get half of it: not vanishing"),
    _case("hf_llama", "hf", P(_real, "llama_causal_lm"), (),
          "hf_bert", "Llama causal LM, its own loss (labels=y)"),
    _case("hf_llama_tiny_init", "hf", P(_hf_llama, 1e-4), (),
          "hf_llama",
          "initializer_range 0.02 -> 1e-4 (4 layers): RMSNorm restores the scale, the embeddings and "
          "head get the usual gradient, no layer's is large. 'vanishing' unscored: the first layer "
          "(the embeddings) gets all of it, but the gated MLPs get 1e-8 of the head's",
          unscored=(V,)),
    _case("hf_bart", "hf", _hf_bart, (),
          "hf_t5", "BART, 2+2 layers; its LM head shares the encoder's and decoder's token embeddings"),
    _case("hf_t5", "hf", _hf_t5, (),
          "hf_t5_nan_weight", "T5, 2+2 layers, its own loss on labels=y"),
    _case("hf_t5_nan_weight", "hf", P(_hf_t5, "encoder.block.0.layer.1.DenseReluDense.wi.weight"), (N,),
          "hf_t5", "one entry of the first feed-forward weight NaN"),
    _case("hf_opt", "hf", _hf_opt, (),
          "hf_opt_dead_ffn", "OPT causal LM, 2 layers, ReLU feed-forward"),
    _case("hf_opt_dead_ffn", "hf", P(_hf_opt, -10.0), (D,),
          "hf_opt", "every fc1 bias -10 -> OPT's 0: no ReLU unit passes (the residual stream still does)"),
    _case("tv_resnet18", "torchvision", P(_real, "torchvision_resnet18"), (),
          "tv_resnet18_dead_stem", "resnet18(weights=None)"),
    _case("tv_resnet18_dead_stem", "torchvision", P(_real, "torchvision_resnet18", _resnet18_dead_stem),
          (D, V), "tv_resnet18", "stem batch norm bias 0 -> -10: its ReLU passes nothing"),
    _case("tv_vit", "torchvision", P(_real, "torchvision_vit"), (),
          "tv_vit_zero_head", "VisionTransformer, head drawn at random"),
    _case("tv_vit_zero_head", "torchvision", _vit_zero_head_case, (),
          "tv_vit", "VisionTransformer with its own zero-initialised head",
          verify=P(_zero_gated, _vit_zero_head_case, _vit_head, _open_vit_head)),
    _case("tv_convnext", "torchvision", _tv_convnext, (),
          "timm_convnext_atto",
          "torchvision's ConvNeXt, small config: layer scale 1e-6 held in (C, 1, 1) parameters"),
    _case("tv_convnext_zero_head", "torchvision", _tv_convnext_zero_head, (),
          "tv_convnext",
          "classifier drawn at random -> zero-initialised: the head opens at the first step, the "
          "layer scales behind it at the next (gates in sequence, not stuck)",
          verify=P(_zero_gated, _tv_convnext_zero_head, _tv_convnext_head, _open_tv_convnext_head)),
    _case("tv_mobilenet_v2", "torchvision", _tv_mobilenet_v2, (),
          "tv_mobilenet_v2_dead", "mobilenet_v2(weights=None) on 4 images 64x64"),
    _case("tv_mobilenet_v2_dead", "torchvision", P(_tv_mobilenet_v2, -10.0), (D, V),
          "tv_mobilenet_v2", "every batch norm's shift 0 -> -10: every ReLU6 outputs 0"),
    _case("tv_resnet18_zero_init_residual", "torchvision", _tv_resnet18_zero_residual, (),
          "tv_resnet18", "zero_init_residual=True: each block's last batch norm scale at 0 (by design)",
          verify=P(_zero_gated, _tv_resnet18_zero_residual, _block_bn2, _open_block_bn2)),
    _case("timm_vit_tiny", "timm", P(_real, "timm_vit_tiny"), (),
          "timm_convnext_atto", "ViT; its cls token is drawn with std 1e-6"),
    _case("timm_convnext_atto", "timm", _convnext, (),
          "timm_vit_tiny", "ConvNeXt; layer scale 1e-6 gives each block's weights ~1e-8 of the stem's grad",
          verify=P(_zero_gated, _convnext, _layer_scales, _open_layer_scales)),
    _case("timm_cait", "timm", _timm_cait, (),
          "timm_vit_tiny",
          "CaiT: layer scale 1e-5 on every block; the patches reach the head only through the "
          "class-attention blocks, so the patch embedding gets ~1e-5 of the head's gradient by design",
          verify=P(_zero_gated, _timm_cait, _cait_scales, _open_cait_scales)),
    _case("timm_resmlp", "timm", _timm_resmlp, (),
          "timm_vit_tiny",
          "ResMLP-12 as timm makes it: zero head, layer scales 1e-4 behind it (only the head gets "
          "a gradient at the first step; the scales get theirs once it has moved)",
          verify=P(_zero_gated, _timm_resmlp, _timm_head, _open_timm_head)),
    _case("timm_poolformer", "timm", _timm_poolformer, (),
          "timm_convnext_atto",
          "PoolFormer-S12 on 32x32 images: two of its 24 layer scales get exactly no gradient (their "
          "branch, pool(x) - x on a 1x1 map, is 0 by itself), the other 22 do"),
    _case("timm_resnet18", "timm", _timm_resnet18, (),
          "timm_resnet18_dead_stem", "timm's resnet18: each block's last batch norm at 0 (zero_init_last)"),
    _case("timm_resnet18_dead_stem", "timm", P(_timm_resnet18, -10.0), (D, V),
          "timm_resnet18",
          "stem batch norm shift 0 -> -10: its ReLU passes nothing, and the zero-initialised batch "
          "norms get no gradient either (their inputs are constant): not gates that open"),
]
# fmt: on

BY_NAME = {c.name: c for c in CASES}


# ---------------------------------------------------------------- scoring diagnose against the labels


def diagnose_flags(case: Case) -> frozenset[str]:
    """The model-level flags ``gw.diagnose`` raises on a case: every flag of any layer.

    The only place the zoo calls gradwidgets (the labels' measurements never do). ``loss=`` is
    passed only for a case whose loss is not diagnose's default.
    """
    import gradwidgets as gw

    model, X, y, loss = case.build()
    report = gw.diagnose(model, X, y) if loss is None else gw.diagnose(model, X, y, loss=loss)
    return frozenset(f for layer in report.flags for f in layer)


@dataclass(frozen=True)
class Tally:
    """Counts over (model, flag) pairs: hits, false alarms, misses."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was raised (no false alarm)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was labelled."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def misses(case: Case, raised: frozenset[str]) -> frozenset[str]:
    return case.labels - raised - case.unscored


def false_alarms(case: Case, raised: frozenset[str]) -> frozenset[str]:
    return raised - case.labels - case.unscored


def score(raised: Mapping[str, frozenset[str]]) -> dict[str, Tally]:
    """Per flag and ``"overall"`` (micro-averaged over (model, flag) pairs), for the cases named
    in ``raised`` (case name -> the flags diagnose raised). Unscored flags do not count."""
    counts = {f: [0, 0, 0] for f in FLAGS}
    for name, flags in raised.items():
        case = BY_NAME[name]
        for f in FLAGS:
            if f in case.unscored:
                continue
            labelled, got = f in case.labels, f in flags
            counts[f][0] += labelled and got
            counts[f][1] += got and not labelled
            counts[f][2] += labelled and not got
    tallies = {f: Tally(*c) for f, c in counts.items()}
    tallies["overall"] = Tally(*(sum(c[i] for c in counts.values()) for i in range(3)))
    return tallies
