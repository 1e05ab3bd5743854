"""Remedies that read the model: what it already does, what its weights measure, why a fix fits."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._util import fmt
from .flags import Findings
from .profile import GradientProfile
from .report import Remedy
from .thresholds import FLAGS

__all__ = ["ModelFacts", "read_model", "suggest"]

_RESIDUAL = re.compile(r"Res|Bottleneck|BasicBlock|Block$|EncoderLayer|DecoderLayer|Layer$")
"""Class names of blocks that add their input back (ResNet blocks, Transformer layers, timm and
Hugging Face blocks): how a model is read as having residual connections."""


@dataclass(frozen=True)
class ModelFacts:
    """What a remedy needs to know about the model it is for."""

    norms: tuple[str, ...]  # the normalization layers' types
    residual: bool  # blocks that add their input back, by their class names
    gains: tuple[float, ...]  # per reported layer: std(W) * sqrt(fan_in) of its first weight (nan)
    bias_means: tuple[float, ...]  # per reported layer: the mean of its bias (nan without one)
    input_std: float  # the std of X (nan for integers)
    zero_params: tuple[str, ...]


def read_model(
    model: nn.Module, profile: GradientProfile, X: torch.Tensor, zero: tuple[str, ...]
) -> ModelFacts:
    """The :class:`ModelFacts` of a model, measured on its modules and weights as they are."""
    norms = sorted({type(m).__name__ for m in model.modules() if "Norm" in type(m).__name__})
    residual = any(_is_residual(m) for m in model.modules())
    gains, biases = [], []
    with torch.no_grad():
        for lr in profile.layers:
            w = lr.weights[0] if lr.weights else None
            fan_in = w[0].numel() if w is not None and w.dim() >= 2 else 0
            gain = float(w.double().std() * math.sqrt(fan_in)) if fan_in and w.numel() > 1 else math.nan
            b = getattr(lr.module, "bias", None)
            gains.append(gain)
            biases.append(float(b.double().mean()) if isinstance(b, torch.Tensor) and b.numel() else math.nan)
        std = float(X.double().std()) if X.is_floating_point() and X.numel() > 1 else math.nan
    return ModelFacts(tuple(norms), residual, tuple(gains), tuple(biases), std, zero)


def _structure(facts: ModelFacts) -> str:
    """Normalization and residual connections, as far as the model lacks them."""
    if facts.norms and facts.residual:
        return ""
    if facts.norms:
        return f"; it has normalization ({', '.join(facts.norms)}) but no residual connections: add them"
    if facts.residual:
        return "; it has residual blocks but no normalization layer: add one (batch or layer norm) per block"
    return "; add normalization (batch or layer norm) or residual connections"


def _recurrent(p: GradientProfile) -> str:
    """Advice for a recurrent layer whose gradient dies through time (or across its layers)."""
    kind = type(p.layers[p.time_layer].module).__name__ if p.layers else "the recurrent layer"
    t = p.time_grad_norm
    why = ""
    if t is not None and t.max() > 0:
        ratio = fmt(t[0] / t.max())
        why = f"the gradient reaching the first of {len(t)} time steps is {ratio} of the largest; "
    if kind in ("RNN", "RNNCell"):
        fix = "use nn.LSTM or nn.GRU (gates that can keep the state), or shorter sequences (truncated BPTT)"
    elif kind in ("LSTM", "LSTMCell"):
        fix = "set the forget-gate bias to 1 or more so the cell state is kept, or use shorter sequences"
    else:
        fix = "use shorter sequences (truncated backpropagation through time) or attention over the steps"
    return f"{why}{kind}: {fix}"


def _vanishing(idx: list[int], p: GradientProfile, found: Findings, facts: ModelFacts) -> tuple[str, tuple]:
    if p.time_layer in idx and (found.through_time == "vanishing" or len(idx) == 1):
        return _recurrent(p), ("vanishing", "init")
    if set(idx) & set(found.collapsed):
        gains = [facts.gains[i] for i in idx if math.isfinite(facts.gains[i])]
        gain = f" (here std(W) x sqrt(fan_in) = {fmt(float(np.median(gains)))})" if gains else ""
        return _with(
            ("init", "vanishing", "norm"),
            "the forward signal dies with depth: the output scale falls more than 1000-fold, so every "
            f"layer's gradient is small. Match the init to the activation{gain}: Kaiming (sqrt 2) for "
            "ReLU, Xavier for tanh" + _structure(facts),
        )
    acts = {p.activations[i] for i in idx} & {"sigmoid", "tanh"}
    if acts:
        which = "/".join(sorted(acts))
        slope = "1/4" if "sigmoid" in acts else "1, and less away from 0"
        return _with(
            ("activations", "init", "norm"),
            f"{which} shrinks the gradient at every layer (its slope is at most {slope}): "
            "use ReLU or GELU with Kaiming init" + _structure(facts),
        )
    if facts.norms and facts.residual:
        return _with(
            ("vanishing", "init", "norm"),
            "the model already has normalization and residual connections; the gradient is small from "
            f"{p.layer_names[idx[-1]]} back: check that layer's init scale and any gate or scale "
            "multiplying a branch, and whether those layers need to learn at all",
        )
    text = "the early layers get a much smaller gradient than the later ones" + _structure(facts)
    return text + "; match the init to the activation (Kaiming for ReLU)", ("vanishing", "norm", "init")


def _with(chapters: tuple[str, ...], *text: str) -> tuple[str, tuple[str, ...]]:
    return "".join(text), chapters


def _exploding(idx: list[int], p: GradientProfile, found: Findings, facts: ModelFacts) -> str:
    clip = "clip the gradient by norm (torch.nn.utils.clip_grad_norm_)"
    if found.through_time == "exploding" and p.time_layer in idx:
        return (
            "the gradient grows back through the time steps: scale the recurrent weights to a "
            f"spectral radius below 1, and {clip}"
        )
    big = [(facts.gains[i], p.layer_names[i]) for i in idx if facts.gains[i] > 2]  # nan > 2 is False
    if big:
        gain, name = max(big)
        return (
            f"the weights are too large: {name} has std(W) x sqrt(fan_in) = {fmt(gain)} (Kaiming for "
            f"ReLU gives 1.41, Xavier about 1): lower the init scale, and {clip}"
        )
    return f"a few layers get most of the gradient: {clip}; lower the learning rate" + _structure(facts)


def _saturated(idx: list[int], facts: ModelFacts) -> str:
    reasons = []
    if math.isfinite(facts.input_std) and facts.input_std > 3:
        reasons.append(f"X has std {fmt(facts.input_std)}: standardize it to zero mean and unit variance")
    gains = [facts.gains[i] for i in idx if math.isfinite(facts.gains[i])]
    if gains and max(gains) > 1.5:
        reasons.append(
            f"the weights' std(W) x sqrt(fan_in) reaches {fmt(max(gains))}: use Xavier/LeCun init (about 1)"
        )
    if not facts.norms:
        reasons.append("normalize before the activation")
    return "pre-activations sit where the slope is nearly 0: " + ("; ".join(reasons) or "use ReLU or GELU")


def _dead(idx: list[int], p: GradientProfile, found: Findings, facts: ModelFacts) -> str:
    negative = [(facts.bias_means[i], p.layer_names[i]) for i in idx if facts.bias_means[i] < -0.5]
    why = ""
    if negative:
        bias, name = min(negative)
        why = f"the biases of {name} average {fmt(bias)}: start them at 0; "
    seen = " (a functional ReLU, seen as zeros in the next layer's input)" if found.functional_dead else ""
    return (
        f"{why}ReLU units{seen} that output 0 for every example get no gradient: use LeakyReLU or "
        "GELU, a lower learning rate, and Kaiming init"
    )


def _nonfinite(notes: list[str]) -> str:
    """Where the first NaN or inf appeared, with what to do about it there; else the usual checks."""
    if notes:
        return " ".join(notes)
    return (
        "Check the data for NaN (torch.isfinite(X).all()), lower the learning rate and clip the gradient "
        "by norm; NaN weights need a reload from a checkpoint"
    )


_CHAPTERS = {
    "vanishing": ("vanishing", "init", "norm"),
    "exploding": ("init", "clipping", "vanishing"),
    "saturated": ("activations", "init", "norm"),
    "dead": ("activations", "init"),
    "non-finite": ("clipping", "diagnose"),
}


def suggest(
    profile: GradientProfile, found: Findings, facts: ModelFacts, notes: list[str]
) -> tuple[Remedy, ...]:
    """One remedy per flag raised, saying why it fits this model (what was measured, what the
    model already has), tied to the book's chapters."""
    out = []
    for flag in FLAGS:
        idx = [i for i, f in enumerate(found.flags) if flag in f]
        if not idx:
            continue
        chapters = _CHAPTERS[flag]
        if flag == "vanishing":
            advice, chapters = _vanishing(idx, profile, found, facts)
        elif flag == "exploding":
            advice = _exploding(idx, profile, found, facts)
        elif flag == "saturated":
            advice = _saturated(idx, facts)
        elif flag == "dead":
            advice = _dead(idx, profile, found, facts)
        else:
            advice = _nonfinite(notes)
        out.append(Remedy(flag, tuple(profile.layer_names[i] for i in idx), advice.strip(), chapters))
    return tuple(out)


def _is_residual(m: nn.Module) -> bool:
    """A block that adds its input back: one that says so (the package's own ``Block.residual``),
    else one whose class name is a residual block's (:data:`_RESIDUAL`)."""
    said = getattr(m, "residual", None)
    if isinstance(said, bool):
        return said
    return bool(m._modules) and _RESIDUAL.search(type(m).__name__) is not None
