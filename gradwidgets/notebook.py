"""Notebook set-up: load BokehJS from the installed package, never from a CDN."""

from __future__ import annotations

from .display import baking


def setup_notebook() -> None:
    """Prepare a notebook for explorers: load BokehJS (inline, offline) into the page.

    In a book build (``GRADWIDGETS_BAKE`` set) this does nothing: the book's pages load
    BokehJS from their own static files.
    """
    if baking():
        return
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(resources=INLINE, hide_banner=True)
