"""The Explorer: a declaration (:class:`~gradwidgets.widgets.spec.Spec`) shown two ways."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .display import baking
from .live import LivePanel
from .spec import Columns, Control, Emit, Result, Spec
from .static import StaticFace, bake, static_html

__all__ = ["Columns", "Control", "Emit", "Explorer", "Result"]


class Explorer(Spec):
    """An explorer declared once and shown two ways: live in a kernel, baked for the book.

    Parameters
    ----------
    name : str
        A short identifier (used for baked files and element ids).
    title : str
        Shown above the controls.
    controls : sequence of Control
        The finite grid of choices.
    compute : callable
        ``compute(config, emit) -> Result``. A streamed (training) computation calls
        ``emit(partial_result)`` as it goes and stops early when ``emit`` returns True;
        others ignore ``emit``.
    figures : callable
        ``figures(sources) -> bokeh layout``, given one ``ColumnDataSource`` per name in
        ``Result.data``; the glyphs must be bound to those sources.
    invalid : callable, optional
        ``invalid(config) -> str | None``: why a combination cannot run (shown in the status
        line instead of computing), or None.
    description : str, optional
        What the computation holds fixed, in a sentence (kept with the declaration; neither face
        shows it yet).
    """

    def live(self):
        """The live face: an ipywidgets panel driving this explorer in a kernel."""
        return LivePanel(self)

    def static(
        self,
        configs: Sequence[Mapping[str, Any]] | None = None,
        shards: str | Path | None = None,
        base: str | None = None,
    ) -> StaticFace:
        """The static face: HTML controls that switch precomputed results in Bokeh figures.

        ``configs`` (default: the whole grid), ``shards`` (a directory for the results, loaded
        on demand; default ``GRADWIDGETS_SHARDS``, else the page holds them) and ``base`` (that
        directory's URL from the page) are :func:`~gradwidgets.widgets.static.bake`'s.
        """
        return bake(self, configs, shards, base)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """The live widget, plus the static face as ``text/html`` when baking (book builds)."""
        bundle = self.live()._repr_mimebundle_(include=include, exclude=exclude)
        if baking():
            bundle["text/html"] = static_html(self.static())
        return bundle
