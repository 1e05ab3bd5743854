"""Adam with a linear learning-rate warmup on the transformer of :mod:`.transformers`, recorded step by step.

:func:`train_with_warmup` is :func:`gradwidgets.train`'s loop for a schedule that ``train`` does
not have: the rate grows linearly from ``lr / warmup`` to ``lr`` over the first ``warmup`` steps
and stays there (``warmup=0``: ``lr`` from the first step). It records the loss and, per unit
(the embeddings, each encoder layer, the head), the norm of that unit's gradient, into the same
:class:`~gradwidgets.core.history.History` as ``train``, so the same plots draw it.
:func:`warmup_run` caches the runs of the chapter's setting, which the book and its explorer share.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..core.checks import check_bool, check_int, check_positive, check_seed
from ..core.history import History, StepRecord
from .transformers import TinyTransformer, build_transformer, reversal_task, token_loss

BETAS = (0.9, 0.98)
"""Adam's betas in Vaswani et al. (2017), the setting warmup was introduced with."""


def unit_names(num_layers: int) -> tuple[str, ...]:
    """The units whose gradient norm a run records: the embeddings, each encoder layer, the head."""
    return ("embeddings", *(f"layer {i + 1}" for i in range(num_layers)), "head")


def _units(model: TinyTransformer) -> tuple[tuple[str, ...], list[list[nn.Parameter]]]:
    names = unit_names(len(model.layers))
    groups = [[model.embed.weight, model.pos]]
    groups += [list(layer.parameters()) for layer in model.layers]
    groups.append([*model.final_norm.parameters(), *model.head.parameters()])
    return names, groups


def train_with_warmup(
    model: TinyTransformer,
    X: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
    warmup: int = 0,
    callback: Callable[[StepRecord], object] | None = None,
) -> History:
    """Train ``model`` full-batch with Adam (betas 0.9, 0.98) and a linear warmup of ``warmup`` steps.

    Parameters
    ----------
    model : TinyTransformer
        From :func:`~gradwidgets.lessons.transformers.build_transformer`; trained in place.
    X, y : torch.Tensor
        Token batch and targets (:func:`~gradwidgets.lessons.transformers.reversal_task`).
    steps : int
        Optimizer steps, 1 to 10000.
    lr : float
        Peak learning rate, > 0 and <= 1.
    warmup : int
        Steps of the linear warmup (0: none); step ``t`` (from 0) uses
        ``lr * min(1, (t + 1) / warmup)``.
    callback : callable, optional
        Called with each step's :class:`~gradwidgets.core.history.StepRecord`; a truthy return
        stops training.

    Returns
    -------
    History
        ``layer_grad_norm`` per unit (embeddings, layers, head); a non-finite loss or gradient
        ends the run (``diverged_at``). ``update_ratio`` is not measured (NaN).
    """
    if not isinstance(model, TinyTransformer):
        raise ValueError(
            f"model must be a TinyTransformer (from build_transformer), got {type(model).__name__}"
        )
    steps = check_int("steps", steps, 1, 10_000)
    lr = check_positive("lr", lr, maximum=1.0)
    warmup = check_int("warmup", warmup, 0, 10_000)
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be a callable taking a StepRecord, got {type(callback).__name__}")
    names, groups = _units(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=BETAS)
    losses, records, diverged_at, stopped_at = [], [], None, None
    with torch.enable_grad():
        for step in range(steps):
            for group in opt.param_groups:
                group["lr"] = lr * min(1.0, (step + 1) / warmup) if warmup else lr
            opt.zero_grad(set_to_none=True)
            loss = token_loss(model, X, y)
            losses.append(float(loss.detach()))
            if not np.isfinite(losses[-1]):
                diverged_at = step
                break
            loss.backward()
            per_unit = np.array(
                [float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in g]))) for g in groups]
            )
            total = float(np.sqrt(np.sum(per_unit**2)))
            records.append(StepRecord(step, losses[-1], per_unit, total, total, np.full(len(names), np.nan)))
            if not np.isfinite(total):
                diverged_at = step
                break
            opt.step()
            if callback is not None and callback(records[-1]):
                stopped_at = step
                break
    return History.from_records(names, records, diverged_at, stopped_at)


_RUNS: dict[tuple, History] = {}


def warmup_run(
    norm_first: bool,
    warmup: int,
    lr: float,
    seed: int = 0,
    num_layers: int = 6,
    steps: int = 100,
    callback: Callable[[StepRecord], object] | None = None,
) -> History:
    """The chapter's run: a seeded :func:`build_transformer` trained on :func:`reversal_task`'s
    default batch (64 sequences of 8 tokens out of 8) with :func:`train_with_warmup`.

    Completed runs are cached by their arguments (``callback`` aside, which sees only runs that
    are computed); a run a callback stopped is not kept.
    """
    norm_first = check_bool("norm_first", norm_first)
    key = (norm_first, check_int("warmup", warmup, 0, 10_000), check_positive("lr", lr, maximum=1.0))
    key += (
        check_seed("seed", seed),
        check_int("num_layers", num_layers, 1, 64),
        check_int("steps", steps, 1, 10_000),
    )
    if key not in _RUNS:
        X, y = reversal_task()
        model = build_transformer(num_layers, norm_first, seed=seed)
        history = train_with_warmup(model, X, y, steps, lr, warmup, callback)
        if history.stopped_at is not None:
            return history
        _RUNS[key] = history
    return _RUNS[key]
