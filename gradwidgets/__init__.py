"""gradwidgets: see vanishing and exploding gradients, layer by layer, on real autograd.

``import gradwidgets`` loads torch and numpy only. The widget names (``Explorer``, ``Control``,
``Result``, ``setup_notebook``, ``watch``) and the subpackages ``plots`` (Bokeh), ``widgets``
(ipywidgets), ``explorers`` and ``lessons`` load on first use.
"""

from importlib import import_module

from .core import (
    ACTIVATIONS,
    DATASETS,
    INITS,
    LOSSES,
    MLP,
    NORMS,
    OPTIMIZERS,
    SATURATION_THRESHOLD,
    THRESHOLDS,
    Activation,
    Dataset,
    ElmanRNN,
    GradientProfile,
    History,
    Init,
    Report,
    StepRecord,
    Watch,
    build_mlp,
    build_rnn,
    diagnose,
    get_activation,
    get_init,
    gradient_profile,
    make_dataset,
    spectral_radius,
    train,
)

_LAZY = {name: "gradwidgets.widgets" for name in ("Control", "Explorer", "Result", "setup_notebook", "watch")}
_SUBPACKAGES = ("core", "explorers", "lessons", "plots", "widgets")

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "INITS",
    "LOSSES",
    "MLP",
    "NORMS",
    "OPTIMIZERS",
    "SATURATION_THRESHOLD",
    "THRESHOLDS",
    "Activation",
    "Control",
    "Dataset",
    "ElmanRNN",
    "Explorer",
    "GradientProfile",
    "History",
    "Init",
    "Report",
    "Result",
    "StepRecord",
    "Watch",
    "build_mlp",
    "build_rnn",
    "diagnose",
    "get_activation",
    "get_init",
    "gradient_profile",
    "make_dataset",
    "setup_notebook",
    "spectral_radius",
    "train",
    "watch",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
    elif name in _SUBPACKAGES:
        value = import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBPACKAGES})
