"""The flags of a profile, layer by layer, by the rules of :mod:`.thresholds`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .activations import ACTIVATIONS
from .layers import module_names
from .profile import GradientProfile
from .thresholds import (
    COLLAPSE_RELATIVE,
    DEAD_FRACTION,
    EXPLODING_ABSOLUTE,
    EXPLODING_FLOOR,
    EXPLODING_RELATIVE,
    SATURATED_FRACTION,
    VANISHING_ABSOLUTE,
    VANISHING_RELATIVE,
    ZERO_SCALE,
)

__all__ = ["Findings", "flag_layers", "zero_initialised"]


@dataclass(frozen=True)
class Findings:
    """Flags per layer and what explains them: the reasons behind the less obvious ones."""

    flags: tuple[tuple[str, ...], ...]
    through_time: str = ""  # "vanishing" or "exploding" when the recurrent layer's h_t say so
    collapsed: tuple[int, ...] = ()  # layers whose forward signal collapsed
    grown: tuple[int, ...] = ()  # layers whose forward signal blew up
    functional_dead: tuple[tuple[int, float], ...] = ()  # (layer, dead fraction) seen in a next input
    blocked: tuple[int, ...] = ()  # exact-zero gradients explained by a zero-initialised parameter
    zero_params: tuple[str, ...] = field(default=())


def _matrix(p: torch.Tensor | None) -> bool:
    """True for a matrix (2 dimensions, (n, 1) too) or a tensor of 3+ dimensions with 2 or more of
    size above 1 (a kernel, a position embedding), not a per-channel scale stored as (C, 1, 1)
    nor a class token stored as (1, 1, D)."""
    return p is not None and (p.dim() == 2 or (p.dim() > 2 and sum(n > 1 for n in p.shape) >= 2))


def zero_initialised(model: nn.Module) -> tuple[str, ...]:
    """The trainable parameters set to (nearly) 0 on purpose, through which every gradient is 0
    (or tiny) at the first step, by design: a weight matrix that is exactly 0 (a zero-initialised
    head or last layer of a branch), or a scale, a vector or a single number, below
    :data:`.thresholds.ZERO_SCALE` everywhere (a batch norm's weight at the end of a residual
    branch, ReZero's alpha, ConvNeXt's and CaiT's layer scale at 1e-6, stored as (C,) or
    (C, 1, 1)). Not a layer's bias (a vector beside its own weight matrix, whatever its name),
    and not a token or position embedding (shape (1, n, d): added, so gradients pass it)."""
    found = []
    with torch.no_grad():
        for module, module_name in module_names(model).items():
            own = [(n, p) for n, p in module._parameters.items() if p is not None and p.requires_grad]
            has_matrix = any(_matrix(p) for _, p in own)
            for name, p in own:
                vector = not _matrix(p)
                if not p.numel() or (p.dim() >= 3 and p.shape[0] == 1 and p.shape[-1] > 1 and vector):
                    continue  # empty, or a class token (1, 1, d)
                if vector and not has_matrix and "bias" not in name and float(p.abs().max()) <= ZERO_SCALE:
                    found.append(f"{module_name}.{name}" if module_name else name)
                elif not vector and not p.any():
                    found.append(f"{module_name}.{name}" if module_name else name)
    return tuple(found)


def _relative(g: np.ndarray, live: np.ndarray, i: int, reference: np.ndarray) -> tuple[bool, bool]:
    """(vanishing, exploding) of entry i against the live entries at or after it (for exploding,
    those that are also ``reference``: not held small on purpose)."""
    after = g[i:][live[i:]]
    vanishing = g[i] < VANISHING_RELATIVE * after.max() or g[i] < VANISHING_ABSOLUTE
    usual = g[i:][live[i:] & reference[i:]]
    median = float(np.median(usual)) if len(usual) else 0.0
    exploding = (median > 0 and g[i] > max(EXPLODING_RELATIVE * median, EXPLODING_FLOOR)) or g[
        i
    ] > EXPLODING_ABSOLUTE
    return bool(vanishing), bool(exploding)


def _time_flag(profile: GradientProfile) -> str:
    """ "vanishing" or "exploding" when the gradient reaching the first time step of the first
    recurrent layer is out of line with the later steps' (the rules across layers, with the
    step nearest the loss as the reference for exploding)."""
    t = profile.time_grad_norm
    if t is None or len(t) < 2 or not np.isfinite(t).all() or t.max() == 0:
        return ""
    first, later = t[0], t[1:]
    if first < VANISHING_RELATIVE * later.max():
        return "vanishing"
    last = later[np.flatnonzero(later)[-1]] if later.any() else 0.0
    return "exploding" if last > 0 and first > EXPLODING_RELATIVE * last else ""


def _forward(profile: GradientProfile, zero_layers: set[int]) -> tuple[list[int], list[int]]:
    """Layers whose output's scale (root mean square) fell below COLLAPSE_RELATIVE times the
    largest before it (a forward signal that dies with depth, which leaves every weight gradient
    equally and uselessly small), and hidden layers whose spread (std) grew above
    1 / COLLAPSE_RELATIVE times the first layer's (one that blows up, and the gradients with it,
    all alike). The spread, not the scale, and not the output layer's: a bias alone can give a
    layer an output far larger than the signal it received."""
    rms = np.sqrt(profile.act_mean**2 + profile.act_std**2)
    collapsed, grown, peak, first = [], [], 0.0, None
    for i, (r, sd) in enumerate(zip(rms, profile.act_std, strict=True)):
        if not np.isfinite(r) or r == 0 or i in zero_layers or (profile.layers and _embedding(profile, i)):
            continue
        if r < COLLAPSE_RELATIVE * peak:
            collapsed.append(i)
        first = sd if first is None else first
        if 0 < first < sd * COLLAPSE_RELATIVE and i < len(profile) - 1:
            grown.append(i)
        peak = max(peak, r)
    last = len(profile) - 2  # the last hidden layer: a signal that recovers after a dip (a small
    # residual branch beside the stream that carries it) has not collapsed
    return (collapsed if last in collapsed else []), (grown if last in grown else [])


def _embedding(profile: GradientProfile, i: int) -> bool:
    return isinstance(profile.layers[i].module, (nn.Embedding, nn.EmbeddingBag))


def flag_layers(
    profile: GradientProfile,
    frozen: tuple[bool, ...] = (),
    zero_params: tuple[str, ...] = (),
    stuck: tuple[str, ...] = (),
) -> Findings:
    """The flags of each layer of a profile, by the thresholds of :mod:`.thresholds`.

    Layers are taken in the profile's order (call order: input to output). Frozen layers (no
    trainable weight) are neither flagged vanishing or exploding nor used as a reference, nor
    are layers that share a weight (a tied embedding), but for the absolute exploding rule. A
    gradient held small by a (nearly) zero-initialised parameter (``zero_params``, see
    :func:`zero_initialised`) is not "vanishing": it is so by design until that parameter's
    first updates, as long as one of them gets a gradient to grow from (they are not ``stuck``,
    as a zero scale in a plain chain is, rather than one at the end of a residual branch).
    """
    n = len(profile)
    frozen = frozen or (False,) * n
    g = profile.weight_grad_norm
    live = np.array([not frozen[i] and np.isfinite(g[i]) for i in range(n)], dtype=bool)
    zero_layers = {
        i for i, lr in enumerate(profile.layers) if lr.weights and not any(w.any() for w in lr.weights)
    }
    dead, functional = _dead(profile)
    shared = _shared(profile)  # a tied weight gets another layer's gradient too: no comparison
    live &= np.array([i not in shared for i in range(n)], dtype=bool)
    small = [live[i] and _relative(g, live, i, live)[0] for i in range(n)]
    # small on purpose, by design; not a layer whose own units are dead (its 0 is theirs)
    blocked = {i for i in range(n) if small[i] and zero_params and not stuck and i not in dead}
    reference = np.array([i not in blocked for i in range(n)], dtype=bool)
    fading = _fading(profile, live, small, blocked)
    collapsed, grown = _forward(profile, zero_layers)
    through_time = _time_flag(profile)
    out = []
    for i in range(n):
        f = []
        exploding = (
            _relative(g, live, i, reference)[1] if live[i] else i in shared and g[i] > EXPLODING_ABSOLUTE
        )
        vanishing = i in fading or i in collapsed
        vanishing = vanishing or (through_time == "vanishing" and i == profile.time_layer)
        exploding = exploding or i in grown or (through_time == "exploding" and i == profile.time_layer)
        if vanishing:
            f.append("vanishing")
        if exploding:
            f.append("exploding")
        act = ACTIVATIONS.get(profile.activations[i])  # "?": none identified
        if act is not None and act.saturates and profile.saturation[i] > SATURATED_FRACTION:
            f.append("saturated")
        if i in dead:
            f.append("dead")
        values = (g[i], profile.act_grad_norm[i], profile.act_mean[i], profile.act_std[i])
        if not np.isfinite(values).all():
            f.append("non-finite")
        out.append(tuple(f))
    blocked_layers = tuple(sorted(blocked))
    return Findings(
        tuple(out), through_time, tuple(collapsed), tuple(grown), functional, blocked_layers, zero_params
    )


def _fading(profile: GradientProfile, live: np.ndarray, small: list[bool], blocked: set[int]) -> set[int]:
    """The layers where the gradient has faded on its way back: the run of small ones (by the
    rule of :func:`_relative`) from the input side, in call order. A small gradient further in,
    after a layer that gets a full one (attention's query and key at init, a dead block that a
    skip connection goes around), is not a gradient that fails to reach the early layers.
    Layers that are not ``live`` (frozen, or sharing a weight with another) are passed over."""
    run = set()
    for i in range(len(profile)):
        if not live[i]:
            continue
        if not small[i] or i in blocked:
            break
        run.add(i)
    return run


def _shared(profile: GradientProfile) -> set[int]:
    owners: dict[int, list[int]] = {}
    for i, lr in enumerate(profile.layers):
        for w in lr.weights:
            owners.setdefault(id(w), []).append(i)
    return {i for ids in owners.values() if len(ids) > 1 for i in ids}


def _dead(profile: GradientProfile) -> tuple[set[int], tuple[tuple[int, float], ...]]:
    """Layers with more than DEAD_FRACTION of their units silent on every example: after an
    activation that can die (ReLU), or, for a functional ReLU, as the next layer receives them
    (the dead units are the layer's before it when the sizes match, else the receiving layer's).
    Returns the layers, and for those found through a next layer's input, their dead fraction."""
    dead = set()
    for i in range(len(profile)):
        act = ACTIVATIONS.get(profile.activations[i])
        if act is not None and act.can_die and profile.dead_fraction[i] > DEAD_FRACTION:
            dead.add(i)
    silent = profile.input_dead if profile.input_dead is not None else np.full(len(profile), np.nan)
    functional = {}
    for i in np.flatnonzero(silent > DEAD_FRACTION).tolist():
        before = i - 1
        if before >= 0 and (before in dead or profile.activations[before] != "?"):
            continue  # found where the ReLU module is, or zeros of a known activation (GELU(0))
        at = (
            before if before >= 0 and profile.activations[before] == "?" and _feeds(profile, before, i) else i
        )
        dead.add(at)
        functional[at] = max(functional.get(at, 0.0), float(silent[i]))
    return dead, tuple(functional.items())


def _feeds(profile: GradientProfile, before: int, i: int) -> bool:
    """True when layer ``before``'s output units can be layer ``i``'s input units (same count)."""
    if not profile.layers:
        return True
    a, b = profile.layers[before].module, profile.layers[i].module
    out_units = getattr(a, "out_features", getattr(a, "out_channels", None))
    in_units = getattr(b, "in_features", getattr(b, "in_channels", None))
    if out_units is None and getattr(a, "weight", None) is not None and a.weight.dim() == 2:
        out_units = a.weight.shape[1]  # a Hugging Face Conv1D stores its weight (in, out)
    return out_units is None or in_units is None or out_units == in_units
