"""Diagnose any nn.Module: one measured forward/backward pass, flags per layer, remedies."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from ._util import sentence
from .checks import check_model, check_trainable, renamed
from .flags import Findings, flag_layers, zero_initialised
from .limits import check_pass, param_bytes
from .losses import Loss, LossSpec, check_loss, prepare_batch
from .nonfinite import locate_nonfinite
from .profile import GradientProfile, measure
from .remedies import read_model, suggest
from .report import Report
from .thresholds import THRESHOLDS, VANISHING_RELATIVE

__all__ = ["diagnose"]


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
        Any model: its forward takes X (and ``labels=`` when it computes its own loss).
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
        :func:`build_mlp` models, else every module owning a weight of 2+ dimensions that ran:
        Linear, Conv, Hugging Face's Conv1D, embeddings, RNN and attention layers), with flags
        (the rules: :mod:`.flags`, :data:`THRESHOLDS`), remedies that read the model
        (:mod:`.remedies`) and notes: the coverage (the share of trainable parameters the rows
        hold, and what is left out), a zero-initialised parameter that holds gradients at 0
        by design, the gradient through time of a recurrent layer, and, when the loss or a
        gradient is not finite, where the first NaN or inf appeared (:func:`find_nonfinite`).
        A model that already produces NaN gives a report flagged "non-finite", not an exception.

    Raises
    ------
    ValueError
        On bad arguments, a model with no trainable parameter (nothing to measure), a forward
        that fails (also of the error's own type), an output with no tensor in it, a loss that
        is not a scalar or does not depend on the parameters, X on another device than the
        model, or a pass too large for :func:`.checks.max_bytes`.
    """
    check_model("model", model)
    check_trainable("model", model)
    loss = renamed("loss_fn", loss_fn, "loss", loss)
    check_loss("loss", loss)
    X, y = prepare_batch(model, X, y)
    check_pass("diagnose", model, X, copies=4, extra=2 * param_bytes(model))  # as gradient_profile
    run = Loss(loss, "loss")
    zero = zero_initialised(model)
    params = dict(model.named_parameters())
    # restores modes, buffers and the random state; also the gradients of the zero parameters
    vectors = [p for n, p in params.items() if p.dim() <= 1 and n not in zero]  # biases, scales
    profile = measure(model, X, y, run, None, also=[params[n] for n in zero] + vectors)
    frozen = tuple(not any(w.requires_grad for w in lr.weights) for lr in profile.layers)
    types = tuple(type(lr.module).__name__ for lr in profile.layers)
    stuck = _stuck(zero, profile)
    profile = dataclasses.replace(profile, also_grad_norm=profile.also_grad_norm[: len(zero)])
    found = flag_layers(profile, frozen, zero, stuck)
    if found.functional_dead:  # a layer followed by a functional ReLU: its units as the next layer got them
        dead = profile.dead_fraction.copy()
        for i, fraction in found.functional_dead:
            dead[i] = max(dead[i], fraction)
        profile = dataclasses.replace(profile, dead_fraction=dead)
    notes = _notes(profile, found, stuck)
    origin = ""
    if not profile.finite or any("non-finite" in f for f in found.flags):
        origin = locate_nonfinite(model, X, y, run).message  # where the first NaN/inf appeared
        notes.append(origin)
    facts = read_model(model, profile, X, zero)
    return Report(
        profile=profile,
        layer_types=types,
        flags=found.flags,
        frozen=frozen,
        thresholds=THRESHOLDS,
        remedies=suggest(profile, found, facts, [origin] if origin else []),
        model_name=type(model).__name__,
        loss_name=str(run.name),
        notes=tuple(notes),
    )


def _stuck(zero: tuple[str, ...], profile: GradientProfile) -> tuple[str, ...]:
    """The zero-initialised parameters, when none of them gets a gradient above VANISHING_RELATIVE
    times the largest of any parameter (weights, biases, scales): nothing can open. One that
    opens is enough, the others open in turn (a zero head first, then the layer scales behind it)
    or sit on a branch whose own
    output is 0 (a pooling minus its input on a 1 x 1 map); a zero scale in a plain chain gets
    nothing at all, as no signal reaches it and none passes it."""
    if not zero or profile.also_grad_norm is None:
        return ()
    gates = profile.also_grad_norm[: len(zero)]
    values = np.concatenate([profile.weight_grad_norm, profile.also_grad_norm])
    largest = float(np.max(values[np.isfinite(values)], initial=0.0))
    return () if float(np.nanmax(gates)) > VANISHING_RELATIVE * largest else zero


def _notes(profile: GradientProfile, found: Findings, stuck: tuple[str, ...]) -> list[str]:
    """What a reader needs to trust the flags: coverage, and what explains the unusual ones."""
    notes = [sentence(str(profile.coverage))] if profile.coverage is not None else []
    if stuck:
        shown = ", ".join(stuck[:3]) + (" ..." if len(stuck) > 3 else "")
        notes.append(
            f"{shown} {'is' if len(stuck) == 1 else 'are'} zero-initialised and none of them opens: "
            "no gradient reaches them to grow from (a zero scale in a plain chain, not at the end of "
            "a residual branch), so everything behind them stays at 0."
        )
    if found.blocked:
        shown = ", ".join(found.zero_params[:3]) + (" ..." if len(found.zero_params) > 3 else "")
        notes.append(
            f"{len(found.blocked)} layers get a gradient of (nearly) 0 because {shown} is "
            "zero-initialised (by design: a zero-initialised head, residual branch or layer "
            "scale); they get one as it grows, so they are not flagged vanishing."
        )
    if profile.time_grad_norm is not None and profile.layers:
        t = profile.time_grad_norm
        ratio = t[0] / t.max() if t.max() > 0 else float("nan")
        notes.append(
            f"Through time in {profile.layer_names[profile.time_layer]}: |dL/dh_t| at the first of "
            f"{len(t)} steps is {ratio:.3g} of the largest."
        )
    return notes
