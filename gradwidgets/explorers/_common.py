"""Pieces shared by the explorers: cached datasets, profile columns and status lines."""

from __future__ import annotations

import functools

import numpy as np
from torch import nn

from ..core.activations import ACTIVATIONS
from ..core.checks import same_choice
from ..core.data import Dataset, make_dataset
from ..core.inits import INITS
from ..core.models import NORM_LABELS
from ..core.profile import GradientProfile, gradient_profile
from ..plots import activation_distribution_columns, gradient_norms_columns
from ..widgets.explorer import Control
from ._status import describe_norms

ACTIVATION_CHOICES = tuple(name for name in ACTIVATIONS if name != "linear")
"""The activations an explorer offers by default: every registered one but the identity."""


def activation_labels(names) -> list[str]:
    """The registry's display label of each activation."""
    return [ACTIVATIONS[n].label for n in names]


def init_labels(names) -> list[str]:
    """The registry's display label of each initialisation."""
    return [INITS[n].label for n in names]


def norm_labels(norms) -> list[str]:
    """The display label of each normalization (``None``: none)."""
    return [NORM_LABELS[n] for n in norms]


@functools.cache
def dataset(name: str = "spirals", n: int = 256, seed: int = 0, seq_len: int = 50) -> Dataset:
    """A dataset made once per process (explorers recompute models, not data)."""
    return make_dataset(name, n, seed, seq_len=seq_len)


def targets(data: Dataset):
    """Targets for an MSE loss on a one-output model: class labels as floats."""
    return data.y.float() if data.loss == "cross_entropy" else data.y


def profile_of(model: nn.Module, data: Dataset) -> GradientProfile:
    """The gradient profile of ``model`` on ``data`` with an MSE loss."""
    return gradient_profile(model, data.X, targets(data))


def profile_data(profile: GradientProfile) -> dict[str, dict[str, np.ndarray]]:
    """The gradient-norm and activation sources of a profile."""
    return {"grads": gradient_norms_columns(profile), "acts": activation_distribution_columns(profile)}


def describe(profile: GradientProfile) -> tuple[str, bool]:
    """One status line about a profile's gradients, and whether it shows a problem.

    See :func:`~gradwidgets.explorers._status.describe_norms`: vanishing or exploding named
    with the first/last ratio, "a similar scale" only when every layer is within 10× of the rest.
    """
    if not profile.finite:
        return "The loss or a gradient is not finite: this network cannot train as it is.", True
    return describe_norms(profile.weight_grad_norm)


def control(name: str, label: str, options, defaults: dict, preferred=..., labels=None) -> Control:
    """A control whose default is ``defaults[name]``, else ``preferred`` when offered, else the first.

    The factory checks the options and ``defaults`` first
    (:class:`~gradwidgets.explorers._args.FactoryArgs`); the default is the offered option it
    matches (a default of 1 for the option 1.0 is 1.0).
    """
    options = tuple(options)
    matches = [o for o in options if same_choice(defaults.get(name, preferred), o)]
    if name in defaults and not matches:
        raise ValueError(f"default {name}={defaults[name]!r} is not one of the choices {options!r}")
    default = matches[0] if matches else options[0]
    return Control(name, label, options, default, None if labels is None else tuple(labels))
