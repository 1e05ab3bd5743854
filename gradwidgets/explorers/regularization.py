"""An explorer of weight decay: SGD, Adam with an L2 term and AdamW, side by side on one network."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core.history import History, StepRecord
from ..core.layers import reported_layers
from ..core.models import build_mlp
from ..core.training import train
from ..lessons.regularization import parameter_norm
from ..plots import stack
from ..plots.runs import curves_columns, curves_figure
from ..widgets.explorer import Explorer, Result
from ._args import MAX_DEPTH, MAX_STEPS, MAX_WIDTH, FactoryArgs, ints, one_of, positives
from ._common import control, dataset
from .trainers import GUESSING

EMIT_EVERY = 5
"""A streamed run hands the live plot a partial result every this many steps."""

LEARNING_RATES = {"sgd": 0.5, "adam": 0.01, "adamw": 0.01}
"""The learning rate of each optimizer (Adam's steps are about lr per weight, SGD's are not)."""

OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam + L2", "adamw": "AdamW"}


def _columns(losses: np.ndarray, norms: np.ndarray, lr: float, decay: float) -> dict[str, dict]:
    steps = np.arange(norms.size)
    return {
        "loss": curves_columns(np.arange(losses.size), losses),
        "params": curves_columns(steps, norms, log_y=False),
        "decay": curves_columns(steps, norms[0] * (1 - lr * decay) ** steps, log_y=False),
    }


def _status(history: History, norms: list[float], steps: int) -> tuple[str, bool]:
    if history.diverged_at is not None:
        return f"Diverged at step {history.diverged_at}.", True
    text = (
        f"Step {len(history.loss)}/{steps}: loss {history.loss[0]:.3g} → {history.final_loss:.3g}; "
        f"parameter norm {norms[0]:.3g} → {norms[-1]:.3g}."
    )
    if history.final_loss > GUESSING * math.log(2):  # two classes
        return f"{text} That is guessing (ln 2 ≈ 0.693): the network learned nothing.", True
    return text, False


def weight_decay(
    optimizers: Sequence[str] = ("sgd", "adam", "adamw"),
    decays: Sequence[float] = (0.0, 0.01, 0.1),
    steps: int = 150,
    depth: int = 4,
    width: int = 64,
    **defaults,
) -> Explorer:
    """Train one ReLU network with each optimizer and weight decay, and follow the parameters' norm.

    ``"adam"`` adds ``weight_decay * w`` to the gradient (an L2 term, which Adam then rescales);
    ``"adamw"`` shrinks the weights directly. The learning rate is
    :data:`LEARNING_RATES` [optimizer]; SGD runs without momentum, so that weight decay alone
    would multiply the parameters by exactly ``1 - lr * weight_decay`` per step (the dashed line).

    Parameters
    ----------
    optimizers : sequence of {"sgd", "adam", "adamw"}
        The optimizers offered.
    decays : sequence of float
        The weight-decay strengths offered (lambda, >= 0).
    steps : int
        Full-batch steps on the spirals (cross-entropy).
    depth, width : int
        Hidden layers and units per layer of the network (He initialization).
    **defaults
        Starting values by control name (``optimizer``, ``decay``).

    Returns
    -------
    Explorer
    """
    args = FactoryArgs(weight_decay)
    optimizers = args.choices("optimizers", optimizers, one_of(LEARNING_RATES))
    decays = args.choices("decays", decays, positives(allow_zero=True))
    args.value("steps", steps, ints(1, MAX_STEPS))
    args.value("depth", depth, ints(1, MAX_DEPTH))
    args.value("width", width, ints(1, MAX_WIDTH))
    args.defaults(defaults, optimizer=optimizers, decay=decays)
    controls = (
        control(
            "optimizer", "Optimizer", optimizers, defaults, labels=[OPTIMIZER_LABELS[o] for o in optimizers]
        ),
        control("decay", "Weight decay λ", decays, defaults, decays[-1]),
    )

    def compute(cfg, emit):
        data = dataset("spirals")
        model = build_mlp(depth, width=width, activation="relu", init="kaiming_normal", out_features=2)
        lr, decay = LEARNING_RATES[cfg["optimizer"]], cfg["decay"]
        names = tuple(lr.name for lr in reported_layers(model))
        records: list[StepRecord] = []
        norms = [parameter_norm(model)]

        def callback(record: StepRecord) -> bool:
            records.append(record)
            norms.append(parameter_norm(model))
            if record.step % EMIT_EVERY:
                return False
            partial = History.from_records(names, records)
            cols = _columns(partial.loss, np.array(norms), lr, decay)
            return emit(Result(cols, _status(partial, norms, steps)[0], len(records) / steps))

        history = train(
            model,
            data.X,
            data.y,
            steps,
            lr,
            optimizer=cfg["optimizer"],
            weight_decay=decay,
            loss="cross_entropy",
            callback=callback,
        )
        text, problem = _status(history, norms, steps)
        return Result(_columns(history.loss, np.array(norms), lr, decay), text, 1.0, problem)

    def figures(sources):
        loss = curves_figure([sources["loss"]], ["training loss"], "Training", "step", "loss (log scale)")
        params = curves_figure(
            [sources["params"], sources["decay"]],
            ["parameter norm ‖θ‖", "weight decay alone: (1 − lr·λ)ᵗ ‖θ₀‖"],
            "Size of the parameters",
            "step",
            "‖θ‖",
            log_y=False,
        )
        return stack(loss, params)

    return Explorer(
        "weight-decay",
        "Weight decay with SGD, Adam and AdamW",
        controls,
        compute,
        figures,
        description="SGD: lr 0.5, no momentum. Adam and AdamW: lr 0.01. Same network and data for all.",
    )
