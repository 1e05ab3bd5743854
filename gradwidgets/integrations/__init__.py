"""Callbacks that watch the gradients of a training framework's run, as :func:`gradwidgets.watch` does a loop.

- ``gradwidgets.integrations.lightning.WatchCallback``: a Lightning ``Callback``
  (``pip install "gradwidgets[lightning]"``);
- ``gradwidgets.integrations.huggingface.WatchCallback``: a ``transformers.TrainerCallback``
  (``pip install "gradwidgets[huggingface]"``).

Nothing in the package imports this folder, and its modules import their framework only when
``WatchCallback`` is first used: the framework is an optional extra.
"""

from importlib import import_module

__all__ = ["huggingface", "lightning"]


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return import_module(f"{__name__}.{name}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
