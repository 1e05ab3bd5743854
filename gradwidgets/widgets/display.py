"""Show a Bokeh figure as a cell's result: a live widget in JupyterLab, static HTML in the book."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


def baking() -> bool:
    """True while a book build executes the chapters (``GRADWIDGETS_BAKE`` set)."""
    return os.environ.get("GRADWIDGETS_BAKE", "") not in ("", "0")


@dataclass(frozen=True)
class Shown:
    """A Bokeh figure or layout that displays itself when it is the last expression of a cell."""

    layout: Any

    def __repr__(self) -> str:
        return f"Shown({type(self.layout).__name__})"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        if baking():  # the book's pages load BokehJS themselves: a div and its script suffice
            from .static import static_html

            return {"text/html": static_html(self.layout), "text/plain": repr(self)}
        from jupyter_bokeh import BokehModel

        bundle = BokehModel(self.layout)._repr_mimebundle_(include=include, exclude=exclude)
        if isinstance(bundle, tuple):  # (data, metadata)
            bundle = bundle[0]
        return {**bundle, "text/plain": repr(self)}


def show(layout: Any) -> Shown:
    """Wrap a Bokeh figure or layout (from :mod:`gradwidgets.plots`) so that a cell displays it.

    Parameters
    ----------
    layout : bokeh.model.Model
        A figure or layout, e.g. ``gw.plots.plot_gradient_norms(profile)``.

    Returns
    -------
    Shown
        In JupyterLab a ``jupyter_bokeh`` widget; in a book build (``GRADWIDGETS_BAKE`` set) the
        figure's HTML and script, drawn by the BokehJS the page loads.
    """
    from bokeh.model import Model

    if not isinstance(layout, Model):
        raise ValueError(f"layout must be a Bokeh figure or layout, got {type(layout).__name__}")
    return Shown(layout)
