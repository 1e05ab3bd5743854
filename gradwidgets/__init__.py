"""gradwidgets: see vanishing and exploding gradients, layer by layer, on real autograd.

``import gradwidgets`` loads torch and numpy only. The widget names (``Explorer``, ``Control``,
``Result``, ``setup_notebook``, ``watch``) and the subpackages ``plots`` (Bokeh), ``widgets``
(ipywidgets), ``explorers`` and ``lessons`` load on first use.
"""

from importlib import import_module

from .core import *  # noqa: F403 (the core's face: its __all__ is the one list of its names)
from .core import __all__ as _core_names

_LAZY = {name: "gradwidgets.widgets" for name in ("Control", "Explorer", "Result", "setup_notebook", "watch")}
_SUBPACKAGES = ("core", "explorers", "lessons", "plots", "widgets")

__all__ = sorted([*_core_names, *_LAZY], key=lambda name: (not name.isupper(), not name[0].isupper(), name))
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
