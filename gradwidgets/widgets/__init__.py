"""The widget layer: the Explorer and its live and static faces, display, notebook set-up, live watch.

Its names load on first use (PEP 562), so ``gradwidgets.watch`` in a training script outside a
notebook does not import Bokeh or ipywidgets.
"""

from importlib import import_module

_HOMES = {
    "Columns": "spec",
    "Control": "spec",
    "Emit": "spec",
    "Result": "spec",
    "Spec": "spec",
    "Explorer": "explorer",
    "LivePanel": "live",
    "StaticFace": "static",
    "bake": "static",
    "static_html": "static",
    "Shown": "display",
    "baking": "display",
    "show": "display",
    "setup_notebook": "notebook",
    "LiveWatch": "watch_view",
    "watch": "watch_view",
}

__all__ = sorted(_HOMES, key=lambda n: (not n[0].isupper(), n))


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
