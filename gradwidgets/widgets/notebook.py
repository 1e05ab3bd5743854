"""Notebook set-up: one torch thread, and BokehJS from the installed package, never from a CDN."""

from __future__ import annotations

import os

from .display import baking

THREADS = 1
"""Torch threads in a course notebook (unless ``OMP_NUM_THREADS`` says otherwise)."""


def setup_notebook() -> None:
    """Prepare a notebook for the course: one torch thread; BokehJS (inline, offline) in the page.

    The course's networks are small: a second torch thread makes them no faster, and on a
    2-core machine (Binder) it makes them several times slower while the browser draws,
    since OpenMP's threads then wait for the core the browser holds. A kernel started with
    ``OMP_NUM_THREADS`` set keeps its own setting. In a book build (``GRADWIDGETS_BAKE`` set)
    BokehJS is not loaded: the book's pages load it from their own static files.
    """
    if "OMP_NUM_THREADS" not in os.environ:
        import torch

        torch.set_num_threads(THREADS)
    if baking():
        return
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(resources=INLINE, hide_banner=True)
