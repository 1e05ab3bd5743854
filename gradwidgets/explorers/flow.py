"""Explorers of one forward/backward pass: gradient flow through depth, and an A/B compare."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence

from ..core.activations import ACTIVATIONS
from ..core.data import DATASETS
from ..core.inits import INITS
from ..core.models import MLP, NORMS, build_mlp
from ..core.profile import GradientProfile
from ..plots import (
    activation_distribution_figure,
    compare_figure,
    gradient_norms_columns,
    gradient_norms_figure,
    stack,
)
from ..widgets.explorer import Explorer, Result
from ._args import MAX_DEPTH, MAX_WIDTH, FactoryArgs, bools, ints, one_of
from ._common import (
    activation_labels,
    control,
    dataset,
    describe,
    init_labels,
    norm_labels,
    profile_data,
    profile_of,
)
from ._status import KIND_WORDS, number, ratio_kind


def _profile_figures(sources):
    return stack(gradient_norms_figure(sources["grads"]), activation_distribution_figure(sources["acts"]))


@functools.lru_cache(maxsize=8)
def _network(num_layers: int, **options) -> MLP:
    """``build_mlp``, remembered: a profile leaves its network as it found it, so a setting
    seen again (a learner toggling back) reuses the same seeded weights instead of rebuilding."""
    return build_mlp(num_layers, **options)


MLP_DATASETS = tuple(name for name in DATASETS if name != "adding")
"""The datasets an MLP explorer measures gradients on (the adding problem is a sequence task)."""

_PROFILING = threading.Lock()  # a remembered network is traced by one thread at a time


def _profile(data, num_layers: int, **options) -> GradientProfile:
    with _PROFILING:
        return profile_of(_network(num_layers, **options), data)


def _mlp_profile(cfg, width: int, data_name: str) -> Result:
    data = dataset(data_name)
    profile = _profile(
        data,
        cfg.get("depth", 10),
        width=cfg.get("width", width),
        in_features=data.X.shape[1],
        activation=cfg.get("activation", "tanh"),
        init=cfg.get("init", "xavier_normal"),
        init_gain=cfg.get("gain"),
        norm=cfg.get("norm"),
        residual=cfg.get("residual", False),
    )
    status, problem = describe(profile)
    return Result(profile_data(profile), status, problem=problem)


def gradient_flow(
    depths: Sequence[int] = (2, 5, 10, 20, 30),
    activations: Sequence[str] = ("sigmoid", "tanh", "relu", "gelu"),
    inits: Sequence[str] = ("xavier_normal", "kaiming_normal", "normal", "pytorch_default"),
    norms: Sequence[str | None] = (None, "batch", "layer"),
    residual: Sequence[bool] = (False, True),
    width: int = 64,
    dataset_name: str = "spirals",
    **defaults,
) -> Explorer:
    """Gradient norm and activations per layer as depth, activation, init, norm and skips change.

    Parameters
    ----------
    depths, activations, inits, norms, residual : sequence
        The choices offered (the static page bakes every combination).
    width : int
        Units per hidden layer.
    dataset_name : str
        The batch the gradients are measured on.
    **defaults
        Starting values by control name (``depth``, ``activation``, ``init``, ``norm``). The
        ``residual`` control starts at the first of ``residual`` (``(True, False)``: with skips).

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(gradient_flow)
    depths = args.choices("depths", depths, ints(1, MAX_DEPTH))
    activations = args.choices("activations", activations, one_of(ACTIVATIONS))
    inits = args.choices("inits", inits, one_of(INITS))
    norms = args.choices("norms", norms, one_of(NORMS))
    residual = args.choices("residual", residual, bools)
    args.value("width", width, ints(1, MAX_WIDTH))
    args.value("dataset_name", dataset_name, one_of(MLP_DATASETS))
    args.defaults(defaults, depth=depths, activation=activations, init=inits, norm=norms, residual=residual)
    controls = [
        control("depth", "Depth", depths, defaults, depths[len(depths) // 2]),
        control("activation", "Activation", activations, defaults, labels=activation_labels(activations)),
        control("init", "Init", inits, defaults, labels=init_labels(inits)),
        control("norm", "Normalization", norms, defaults, labels=norm_labels(norms)),
        control("residual", "Skip connections", residual, defaults),
    ]
    fixed = {c.name: c.default for c in controls if len(c.options) == 1}
    return Explorer(
        "gradient-flow",
        "Gradient flow through a deep network",
        tuple(c for c in controls if len(c.options) > 1),
        lambda cfg, emit: _mlp_profile({**fixed, **cfg}, width, dataset_name),
        _profile_figures,
        description="One forward and backward pass of a fresh network on one batch; no training step.",
    )


def init_variance(
    inits: Sequence[str] = (
        "normal",
        "xavier_normal",
        "kaiming_normal",
        "lecun_normal",
        "orthogonal",
        "pytorch_default",
    ),
    activations: Sequence[str] = ("tanh", "relu", "selu"),
    widths: Sequence[int] = (16, 64, 256),
    depth: int = 30,
    **defaults,
) -> Explorer:
    """How an initialisation carries activation scale and gradient through ``depth`` layers.

    Parameters
    ----------
    inits, activations, widths : sequence
        The choices offered.
    depth : int
        Number of hidden layers.
    **defaults
        Starting values by control name (``init``, ``activation``, ``width``).

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(init_variance)
    inits = args.choices("inits", inits, one_of(INITS))
    activations = args.choices("activations", activations, one_of(ACTIVATIONS))
    widths = args.choices("widths", widths, ints(1, MAX_WIDTH))
    args.value("depth", depth, ints(1, MAX_DEPTH))
    args.defaults(defaults, init=inits, activation=activations, width=widths)
    controls = (
        control("init", "Init", inits, defaults, labels=init_labels(inits)),
        control("activation", "Activation", activations, defaults, labels=activation_labels(activations)),
        control("width", "Width", widths, defaults, widths[len(widths) // 2]),
    )
    return Explorer(
        "init-variance",
        f"Initialization and signal scale through {depth} layers",
        controls,
        lambda cfg, emit: _mlp_profile({**cfg, "depth": depth}, 64, "spirals"),
        _profile_figures,
        description="The band shows activation mean ± std per layer; a good init keeps it level.",
    )


def compare(
    activations: Sequence[str] = ("sigmoid", "tanh", "relu"),
    inits: Sequence[str] = ("xavier_normal", "kaiming_normal", "normal"),
    depth: int = 20,
    a: tuple[str, str] = ("sigmoid", "xavier_normal"),
    b: tuple[str, str] = ("relu", "kaiming_normal"),
    **defaults,
) -> Explorer:
    """Two configurations' gradient norms per layer on the same axes.

    Parameters
    ----------
    activations, inits : sequence
        The choices offered for each of A and B.
    depth : int
        Number of hidden layers of both.
    a, b : tuple of str
        Starting (activation, init) of A and of B.
    **defaults
        Starting values by control name (``a_activation``, ``a_init``, ``b_activation``,
        ``b_init``), in place of ``a`` and ``b``.

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(compare)
    activations = args.choices("activations", activations, one_of(ACTIVATIONS))
    inits = args.choices("inits", inits, one_of(INITS))
    args.value("depth", depth, ints(1, MAX_DEPTH))
    grid = {}
    for side, pair in (("a", a), ("b", b)):
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"compare(): {side}={pair!r} must be a pair (activation, init)")
        args.value(f"{side}[0]", pair[0], one_of(activations))
        args.value(f"{side}[1]", pair[1], one_of(inits))
        grid |= {f"{side}_activation": activations, f"{side}_init": inits}
    args.defaults(defaults, **grid)
    controls, inits_shown, acts_shown = [], init_labels(inits), activation_labels(activations)
    for side, (act, init) in (("a", a), ("b", b)):
        controls += [
            control(
                f"{side}_activation", f"{side.upper()}: activation", activations, defaults, act, acts_shown
            ),
            control(f"{side}_init", f"{side.upper()}: init", inits, defaults, init, inits_shown),
        ]

    def compute(cfg, emit):
        data, out, lines, problem = dataset("spirals"), {}, [], False
        for side in ("a", "b"):
            profile = _profile(data, depth, activation=cfg[f"{side}_activation"], init=cfg[f"{side}_init"])
            out[side] = gradient_norms_columns(profile)
            kind = ratio_kind(profile.first_last_ratio) if profile.finite else "non-finite"
            lines.append(
                f"{side.upper()}: first/last {number(profile.first_last_ratio)} ({KIND_WORDS[kind]})"
            )
            problem |= kind in ("vanishing", "exploding", "non-finite")
        status = "; ".join(lines) + "."
        if all(cfg[f"a_{k}"] == cfg[f"b_{k}"] for k in ("activation", "init")):
            status = f"A and B are set alike: one network, drawn twice (B dashed over A). {status}"
        return Result(out, status, problem=problem)

    return Explorer(
        "compare",
        f"Compare two {depth}-layer networks",
        tuple(controls),
        compute,
        lambda sources: compare_figure(sources["a"], sources["b"], labels=("A", "B")),
    )
