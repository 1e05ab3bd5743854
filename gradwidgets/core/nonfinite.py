"""Where a NaN or inf first appeared in one forward/backward pass, and why: unlike ``detect_anomaly``
(backward only, slow, blames the first backward function returning NaN, often far from the cause) and
``DebugUnderflowOverflow`` (forward only), this checks X, the parameters, then every module both ways."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import torch
from torch import nn

from ._util import sentence
from .checks import check_model, check_trainable
from .layers import module_names
from .limits import check_pass, param_bytes
from .losses import Loss, LossSpec, check_loss, prepare_batch
from .outputs import floating_tensors
from .state import kept

__all__ = ["NonFinite", "find_nonfinite"]

_LOW = (torch.float16, torch.bfloat16)
_HINTS = {  # by phase, by phase-cause, or by what the values say
    "input": "clean the data (drop or fill those entries); check its normalisation (a division by a 0 std)",
    "parameters": "an earlier step or the checkpoint broke it: reload a checkpoint, lower the lr, clip grads",
    "half": "float16 overflowed (it ends at 65504): use float32, or autocast to bfloat16 and a GradScaler",
    "loss-input": "clean the targets",
    "forward-input": "check the tensors the model uses besides its parameters and buffers",
    "backward": "a derivative is infinite where the value is not (sqrt, pow, log at 0): add an eps or clamp",
    "invalid": "0/0, inf - inf, 0 * inf, sqrt or log of a negative number: clamp the argument, add an eps",
    "overflow": "an overflow (exp, x/0, log 0): use logsumexp/softplus/an eps; lower the lr or init; clip",
}
_SAYS = {  # by phase/cause
    "None/None": "X, the parameters, the output, the loss and every gradient are finite",
    "input/input": "X holds {k} values before the model even runs",
    "parameters/parameters": "{p!r} of {w} holds {k} values before any pass",
    "forward/operation": "{k} values first appeared in the output of {w}, from finite inputs and weights",
    "forward/input": "{k} values first appeared in the output of {w}, given them by no module",
    "loss/input": "the model's output is finite but the loss is not: y holds {k} values",
    "loss/operation": "the model's output is finite but the loss is {k}",
    "backward/None": "the forward pass and the loss are finite, but the loss's gradient is {k}",
    "backward/operation": "in the backward pass, {w} turned a finite gradient into {k} values for {what}",
}


@dataclass(frozen=True, repr=False)
class NonFinite:
    """Where a NaN or inf first appeared in one forward/backward pass (:func:`find_nonfinite`).

    ``phase``: "input" (X), "parameters" (before any pass), "forward" (a module's output), "loss",
    "backward" (a gradient), or None when all was finite (``found`` is False). ``module``,
    ``module_type``: its name in ``named_modules`` ("" for the model) and class; None for X,
    the loss and the loss's gradient. ``cause``: "input" (it received them: X; y for the loss; from no
    module), "parameters" (its ``parameter`` or buffer holds them) or "operation" (its own, on finite
    inputs and parameters; backward: its derivative, from a finite gradient, for its input or for
    ``parameter``). ``kind``: "NaN", "inf", "-inf" or several ("NaN/inf"). ``hint``: what to do."""

    phase: str | None = None
    module: str | None = None
    module_type: str | None = None
    cause: str | None = None
    parameter: str | None = None
    kind: str | None = None
    hint: str = field(default="", compare=False)

    @property
    def found(self) -> bool:
        """True when something non-finite was found."""
        return self.phase is not None

    @property
    def message(self) -> str:
        """What was found, and the hint, as sentences (what ``diagnose`` prints in its notes)."""
        says = _SAYS.get(f"{self.phase}/{self.module}") or _SAYS[f"{self.phase}/{self.cause}"]
        what = f"its parameter {self.parameter!r}" if self.parameter else "its input"
        w = f"{self.module!r} ({self.module_type})"
        text = says.format(k=self.kind, p=self.parameter, w=w, what=what)
        return sentence(text) + (f" Hint: {self.hint}." if self.hint else "")

    def __repr__(self) -> str:
        shown = f"phase={self.phase!r}, module={self.module!r}, cause={self.cause!r}"
        return f"NonFinite({shown if self.found else 'found=False'}): {self.message}"


def _kind(obj: object, masks_ok: bool = False) -> str | None:
    """None if all tensors in ``obj`` are finite, else their values ("NaN/inf"); masks_ok: -inf alone is."""
    seen: set[str] = set()
    for t in floating_tensors(obj):
        if t.numel() and not all(abs(v.item()) < torch.inf for v in torch.aminmax(t)):  # NaN propagates
            hits = {n for n, f in (("NaN", t.isnan), ("inf", t.isposinf), ("-inf", t.isneginf)) if f().any()}
            seen |= set() if masks_ok and hits == {"-inf"} else hits
    return "/".join(n for n in ("NaN", "inf", "-inf") if n in seen) or None


def _make(phase: str, module: nn.Module | None, names: dict, cause: str, kind: str, **kw) -> NonFinite:
    key = "half" if kw.get("low") and "inf" in kind else phase if phase in _HINTS else f"{phase}-{cause}"
    key = key if key in _HINTS else "overflow" if "inf" in kind else "invalid"
    name, mtype = (None, None) if module is None else (names.get(id(module)), type(module).__name__)
    return NonFinite(phase, name, mtype, cause, kw.get("parameter"), kind, _HINTS[key])  # type: ignore[arg-type]


class _Trace:
    """What hooks on all modules saw in one pass; a call: [module, inputs non-finite, caller, input views]."""

    def __init__(self, model: nn.Module, low: bool):
        self.model, self.low, self.names = model, low, {id(m): n for m, n in module_names(model).items()}
        self.calls, self.stack, self.handles, self.last, self.marks = [], [], [], {}, {}  # see _watch, pre
        self.forward = self.backward = None  # what was first seen in the forward pass, in the backward

    def pre(self, module: nn.Module, args: tuple, kwargs: dict) -> tuple | None:
        bad = _kind(args[:1]) is not None or _kind((args[1:], kwargs), masks_ok=True) is not None
        self.calls.append([module, bad, self.stack[-1] if self.stack else None, []])
        self.stack.append(len(self.calls) - 1)
        self.last[id(module)], memo = len(self.calls) - 1, {}
        return (self._alias(args, memo), self._alias(kwargs, memo)) if torch.is_grad_enabled() else None

    def _alias(self, obj: object, memo: dict) -> object:
        k = self.stack[-1]
        if isinstance(obj, torch.Tensor) and obj.requires_grad and obj.is_floating_point():
            if id(obj) not in memo:
                memo[id(obj)] = alias = obj.view_as(obj)
                self._watch(alias, ("input", k))  # obj's too, now: a view changed in place loses it
                self.calls[k][3].append((self._watch(obj, ("feeds", k)), alias, alias._version))
            return memo[id(obj)]
        if type(obj) in (tuple, list):
            return type(obj)(self._alias(x, memo) for x in obj)
        return {key: self._alias(v, memo) for key, v in obj.items()} if type(obj) is dict else obj

    def post(self, module: nn.Module, args: tuple, kwargs: dict, output: object) -> None:
        k = self.stack.pop()  # our pre hook ran first
        [roles.append(("input", k)) for roles, view, v in self.calls[k][3] if view._version != v]
        self.calls[k][3] = []
        kind, root = _kind(output), module is self.model and self.calls[k][2] is None
        j = k  # the culprit: the innermost call (k or one it ran in) with finite inputs: its own code
        while kind and self.forward is None and j is not None and self.calls[j][1]:
            j = self.calls[j][2]
        if kind and self.forward is None:
            cause, culprit = ("operation", self.calls[j][0]) if j is not None else ("input", module)
            self.forward = _make("forward", culprit, self.names, cause, kind, low=self.low)
        for t in floating_tensors(output):
            self._watch(t, ("root" if root else "output", k))

    def _watch(self, t: torch.Tensor, role: tuple[str, int]) -> list:
        """Add ``role`` to the roles of ``t`` as it is now (hooked once); never hook a leaf (the user's)."""
        if t.grad_fn is None:
            return []
        ref, version, roles = self.marks.get(id(t), (None, None, []))
        if ref is None or ref() is not t or version != t._version:
            self.marks[id(t)] = (weakref.ref(t), t._version, roles := [])
            self.handles.append(t.register_hook(lambda g, r=roles: self._grad(g, r)))
        roles.append(role)
        return roles

    def _grad(self, g: torch.Tensor, roles: list) -> None:
        self.backward = self.backward or ((kind := _kind(g)) and (kind, roles)) or None

    def blame_backward(self, named: list[tuple[str, nn.Parameter]], grads: tuple) -> NonFinite:
        """The first non-finite gradient a hook saw (on a call's "input": its derivative made it; on the
        "root" output: the loss's; else its caller's code), or a later module's parameter gradient."""
        found = []  # (forward order, module or None for the loss, kind, parameter)
        if self.backward is not None:
            kind, roles = self.backward
            ins = [k for r, k in roles if r == "input" and ("output", k) not in roles]  # not passed through
            k = max(ins or [k for _, k in roles])
            caller = k if ins or self.calls[k][2] is None else self.calls[k][2]
            module = None if any(r == "root" for r, _ in roles) else self.calls[caller][0]
            found.append((float("inf") if module is None else k, module, kind, None))
        for (n, _), g in zip(named, grads, strict=True):
            if g is not None and (kind := _kind(g)):
                owner = self.model.get_submodule(n.rpartition(".")[0])
                found.append((self.last.get(id(owner), -1), owner, kind, n))
        if not found:
            return NonFinite()
        _, module, kind, param = max(found, key=lambda f: f[0])
        return _make("backward", module, self.names, "operation", kind, low=self.low, parameter=param)


def locate_nonfinite(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: Loss) -> NonFinite:
    """:func:`find_nonfinite` on checked arguments (X as :func:`.losses.prepare_batch` returns it)."""
    if kind := _kind(X):
        return _make("input", None, {}, "input", kind)
    trace, named = _Trace(model, next(model.parameters()).dtype in _LOW), list(model.named_parameters())
    for name, t in named + list(model.named_buffers()):
        if (kind := _kind(t)) and (isinstance(t, nn.Parameter) or "NaN" in kind):  # -inf buffers: masks
            owner = model.get_submodule(name.rpartition(".")[0])
            return _make("parameters", owner, trace.names, "parameters", kind, parameter=name)
    with torch.enable_grad(), kept(model):
        try:
            for m in model.modules():
                trace.handles.append(m.register_forward_pre_hook(trace.pre, with_kwargs=True))
                trace.handles.append(m.register_forward_hook(trace.post, with_kwargs=True))
            value = loss(output := loss.forward(model, X, y), y)
            value_kind = _kind(value.detach())
            if trace.forward is not None and (value_kind or _kind(output)):
                return trace.forward
            if value_kind:  # from finite outputs: y, or the loss's own computation
                return _make("loss", None, {}, "input" if _kind(y) else "operation", _kind(y) or value_kind)
            named = [(n, p) for n, p in named if p.requires_grad]
            grads = torch.autograd.grad(value, [p for _, p in named], allow_unused=True)
        finally:
            [h.remove() for h in trace.handles]
    return trace.blame_backward(named, grads)


def find_nonfinite(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: LossSpec | None = None
) -> NonFinite:
    """Find where a NaN or inf first appeared in one forward/backward pass of ``model`` on a batch.

    X and the parameters are checked first, then one pass checks each module's inputs, outputs and
    gradients: the answer is the first module that made non-finite values from finite ones. Values that
    reach neither the output, the loss nor a gradient (a -inf mask) are not reported. The parameters, their
    ``.grad``, buffers, modes and the random state are kept, also when the pass fails; no hook remains.

    Parameters
    ----------
    model : nn.Module
        Any model; it may return a tensor, a tuple, a dict or a dataclass (``ModelOutput``).
    X, y : torch.Tensor
        A batch of inputs and targets (same first dimension).
    loss : {"mse", "cross_entropy"}, callable or None
        A callable receives ``(output, y)`` and returns a scalar tensor. Default (None): the model's
        own loss, else cross-entropy for integer labels, else MSE (:class:`.losses.Loss`).

    Returns
    -------
    NonFinite
        ``phase``, ``module``, ``cause``, ``hint``; ``found`` is False when everything is finite.

    Raises
    ------
    ValueError
        On bad arguments, a model with no trainable parameter, a loss not depending on the parameters,
        or a pass too large for :func:`.checks.max_bytes`.
    """
    check_model("model", model)
    check_trainable("model", model)
    check_loss("loss", loss)
    X, y = prepare_batch(model, X, y)
    check_pass("find_nonfinite", model, X, copies=4, extra=param_bytes(model))
    return locate_nonfinite(model, X, y, Loss(loss, "loss"))
