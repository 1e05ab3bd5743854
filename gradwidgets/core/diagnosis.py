"""Diagnose any nn.Module: one measured forward/backward pass, flags per layer, remedies."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .activations import ACTIVATIONS
from .checks import check_model, check_trainable, renamed
from .limits import check_pass, param_bytes
from .losses import Loss, LossSpec, check_loss, prepare_batch
from .profile import GradientProfile, measure
from .report import Remedy, Report
from .thresholds import (
    DEAD_FRACTION,
    EXPLODING_ABSOLUTE,
    EXPLODING_RELATIVE,
    FLAGS,
    SATURATED_FRACTION,
    THRESHOLDS,
    VANISHING_ABSOLUTE,
    VANISHING_RELATIVE,
)

__all__ = ["diagnose", "flag_layers", "suggest"]

_RNN_TYPES = ("RNN", "RNNCell")  # vanilla recurrences (LSTM and GRU are the remedy)


def flag_layers(profile: GradientProfile, frozen: tuple[bool, ...] = ()) -> tuple[tuple[str, ...], ...]:
    """The flags of each layer of a profile, by the thresholds of :mod:`.thresholds`.

    Layers are taken in the profile's order (call order: input to output). Frozen layers
    (no trainable weight) are neither flagged vanishing or exploding nor used as a reference.
    """
    n = len(profile)
    frozen = frozen or (False,) * n
    g = profile.weight_grad_norm
    live = np.array([not frozen[i] and np.isfinite(g[i]) for i in range(n)], dtype=bool)
    out = []
    for i in range(n):
        f = []
        after = g[i:][live[i:]]  # this layer and those nearer the output
        if live[i] and (g[i] < VANISHING_RELATIVE * after.max() or g[i] < VANISHING_ABSOLUTE):
            f.append("vanishing")
        if live[i] and (g[i] > EXPLODING_RELATIVE * np.median(after) or g[i] > EXPLODING_ABSOLUTE):
            f.append("exploding")
        act = ACTIVATIONS.get(profile.activations[i])  # "?": none identified
        if act is not None and act.saturates and profile.saturation[i] > SATURATED_FRACTION:
            f.append("saturated")
        if profile.dead_fraction[i] > DEAD_FRACTION:
            f.append("dead")
        values = (g[i], profile.act_grad_norm[i], profile.act_mean[i], profile.act_std[i])
        if not np.isfinite(values).all():
            f.append("non-finite")
        out.append(tuple(f))
    return tuple(out)


def _advice(flag: str, acts: set[str], types: set[str], notes: list[str]) -> tuple[str, tuple[str, ...]]:
    """Specific advice for one flag, given the activations and layer types it was raised on."""
    if flag == "vanishing":
        if types & set(_RNN_TYPES):
            return (
                "a vanilla RNN shrinks the gradient at every time step: use nn.LSTM (forget-gate bias "
                "near 1, so the cell state is kept at the start) or nn.GRU, an orthogonal recurrent "
                "init with spectral radius near 1, or shorter sequences",
                ("vanishing", "init"),
            )
        if acts & {"sigmoid", "tanh"}:
            which = "/".join(sorted(acts & {"sigmoid", "tanh"}))
            return (
                f"{which} layers shrink the gradient at every layer: use ReLU/GELU with Kaiming "
                "init, or add batch norm / residual connections",
                ("activations", "init", "norm"),
            )
        return (
            "add normalization (batch or layer norm) or residual connections so the early layers get "
            "a short gradient path; match the init to the activation (Kaiming for ReLU)",
            ("vanishing", "norm", "init"),
        )
    if flag == "exploding":
        return (
            "lower the init gain (Xavier/Kaiming, not a wider normal) or the learning rate, and clip "
            "the gradient by norm (torch.nn.utils.clip_grad_norm_)",
            ("init", "clipping", "vanishing"),
        )
    if flag == "saturated":
        return (
            "re-scale the inputs to zero mean and unit variance, use Xavier/LeCun init so "
            "pre-activations stay near 0, or normalize before the activation",
            ("activations", "init", "norm"),
        )
    if flag == "dead":
        return (
            "lower the learning rate, use LeakyReLU or GELU, check the bias init (no large negative "
            "biases) and use Kaiming init",
            ("activations", "init"),
        )
    return (
        " ".join(notes) + " Check the data for NaN (torch.isfinite(X).all()), lower the learning "
        "rate and clip the gradient by norm; NaN weights need a reload from a checkpoint",
        ("clipping", "diagnose"),
    )


def suggest(
    profile: GradientProfile, flags: tuple[tuple[str, ...], ...], types: tuple[str, ...], notes: list[str]
) -> tuple[Remedy, ...]:
    """One remedy per flag that was raised, tied to the book's chapters."""
    out = []
    for flag in FLAGS:
        idx = [i for i, f in enumerate(flags) if flag in f]
        if idx:
            acts = {profile.activations[i] for i in idx}
            advice, chapters = _advice(flag, acts, {types[i] for i in idx}, notes)
            out.append(Remedy(flag, tuple(profile.layer_names[i] for i in idx), advice.strip(), chapters))
    return tuple(out)


def diagnose(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss: LossSpec | None = None,
    *,
    loss_fn: LossSpec | None = None,
) -> Report:
    """Measure one forward/backward pass of any model and flag what is wrong, layer by layer.

    The model's parameters, their ``.grad``, its buffers, its train/eval mode and the global
    random state (dropout) are left exactly as they were, also when the pass fails.

    Parameters
    ----------
    model : nn.Module
        Any model with Linear, Conv, RNN/LSTM/GRU or MultiheadAttention layers.
    X, y : torch.Tensor
        A batch of inputs and targets (same first dimension).
    loss : {"mse", "cross_entropy"}, callable or None
        As in :func:`gradient_profile`: a callable receives ``(output, y)`` and returns a scalar
        tensor. Default (None): the model's own loss (a Hugging Face model is given
        ``labels=y``), else cross-entropy when y holds integer labels for the output, else MSE.
        The rule, and how tuple, dict and ``ModelOutput`` outputs are read:
        :class:`.losses.Loss`.
    loss_fn : deprecated
        The former name of ``loss``.

    Returns
    -------
    Report
        One row per layer that :func:`gradient_profile` reports (``model.hidden_linears`` for
        :func:`build_mlp` models, else every Linear, Conv, RNN and attention layer that ran),
        with flags (see :data:`THRESHOLDS`) and remedies. A model that
        already produces NaN gives a report flagged "non-finite", not an exception.

    Raises
    ------
    ValueError
        On bad arguments, a model with no trainable parameter (nothing to measure), a loss that
        does not depend on the parameters, or a pass too large for :func:`.checks.max_bytes`.
    """
    check_model("model", model)
    check_trainable("model", model)
    loss = renamed("loss_fn", loss_fn, "loss", loss)
    check_loss("loss", loss)
    X, y = prepare_batch(model, X, y)
    check_pass("diagnose", model, X, copies=4, extra=2 * param_bytes(model))  # as gradient_profile
    run = Loss(loss, "loss")
    profile = measure(model, X, y, run, None)  # restores modes, buffers and the random state
    frozen = tuple(not any(w.requires_grad for w in lr.weights) for lr in profile.layers)
    types = tuple(type(lr.module).__name__ for lr in profile.layers)
    flags = flag_layers(profile, frozen)
    notes = _nan_notes(model, X, profile) if any("non-finite" in f for f in flags) else []
    return Report(
        profile=profile,
        layer_types=types,
        flags=flags,
        frozen=frozen,
        thresholds=THRESHOLDS,
        remedies=suggest(profile, flags, types, notes),
        model_name=type(model).__name__,
        loss_name=str(run.name),
    )


def _nan_notes(model: nn.Module, X: torch.Tensor, profile: GradientProfile) -> list[str]:
    """Where a NaN comes from: the input, parameters that are already NaN, the first bad activation."""
    notes = []
    with torch.no_grad():
        if X.is_floating_point() and not torch.isfinite(X).all():
            notes.append("X itself contains NaN or inf.")
        bad = [n for n, p in model.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        notes.append(f"The parameters {shown} are already NaN or inf.")
    act = np.isfinite(profile.act_mean) & np.isfinite(profile.act_std)
    if not act.all():
        notes.append(f"The first non-finite activation is at {profile.layer_names[int(np.argmin(act))]}.")
    return notes
