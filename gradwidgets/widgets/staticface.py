"""The static face as a page fragment: native HTML controls, a status line and Bokeh figures.

The controls are plain form elements (a range input for numbers with more than two choices,
radio buttons for up to six other choices, a select beyond), so the page needs no Bokeh
widgets bundle and the controls are there, usable from the keyboard, before BokehJS has drawn
a plot. :data:`~gradwidgets.widgets.switch_js.SWITCH_JS` swaps the figures' data on a change.
"""

from __future__ import annotations

import html
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..plots.theme import STATUS_OK, STATUS_PROBLEM
from .embed import html_fragment
from .switch_js import SWITCH_JS

__all__ = ["FaceControl", "StaticFace", "face_html"]


@dataclass(frozen=True)
class FaceControl:
    """One control as the page shows it: ``kind`` is ``slider``, ``buttons``, ``select`` or
    ``none`` (a single choice: not shown); ``active`` is the default option's position."""

    name: str
    label: str
    kind: str
    labels: tuple[str, ...]
    active: int


@dataclass(frozen=True, eq=False)
class StaticFace:
    """An explorer's static face: what :func:`~gradwidgets.widgets.static.bake` computed.

    ``index`` maps a grid key (positions joined by ``-``) to its shard's name, ``inline`` holds
    the shards the page carries itself (none in a book build, where they are files under
    ``base``), ``layout`` is the Bokeh layout of the figures, drawn with the default setting's
    data from ``sources``, and ``status``/``problem`` are that setting's status line.
    """

    explorer: str
    title: str
    controls: tuple[FaceControl, ...]
    index: dict[str, str] = field(repr=False)
    inline: dict[str, str] = field(repr=False)  # the results themselves: long
    base: str | None
    status: str
    problem: bool
    layout: Any = field(repr=False)
    sources: dict[str, Any] = field(repr=False)


CSS = """
.gw-face .gw-title{font-weight:600;margin:.5rem 0 .25rem}
.gw-face .gw-controls{display:flex;flex-wrap:wrap;gap:.5rem 1.75rem;align-items:flex-start;margin:0 0 .25rem}
.gw-face .gw-control{margin:0;padding:0;border:0;min-width:0}
.gw-face .gw-control legend,.gw-face .gw-control>label{display:block;float:none;width:auto;margin:0 0 .2rem;
 padding:0;font-size:.85rem;font-weight:600;line-height:1.4}
.gw-face .gw-slider{flex:1 1 14rem;max-width:22rem}
.gw-face .gw-slider output{font-weight:400}
.gw-face input[type=range]{display:block;width:100%;margin:0;accent-color:#0072B2}
.gw-face .gw-ends{display:flex;justify-content:space-between;font-size:.75rem;color:#555}
.gw-face .gw-buttons div{display:flex;flex-wrap:wrap;gap:.3rem}
.gw-face .gw-buttons label{position:relative;margin:0;cursor:pointer}
.gw-face .gw-buttons input{position:absolute;opacity:0;width:1px;height:1px;margin:0}
.gw-face .gw-buttons span{display:inline-block;padding:.15rem .6rem;border:1px solid #aaa;border-radius:4px;
 background:#fff;color:#222;font-size:.85rem;line-height:1.5}
.gw-face .gw-buttons input:checked+span{background:#0072B2;border-color:#0072B2;color:#fff}
.gw-face .gw-buttons input:focus-visible+span,.gw-face input[type=range]:focus-visible,
.gw-face select:focus-visible{outline:2px solid #E69F00;outline-offset:2px}
.gw-face select{font-size:.85rem;padding:.1rem .3rem;max-width:100%}
.gw-face .gw-status{margin:.25rem 0 .5rem;font-size:.9rem;line-height:1.4;min-height:1.4em}
""".replace("\n", "")


def _slider(face_id: str, i: int, c: FaceControl) -> str:
    labels = [html.escape(t) for t in c.labels]
    return (
        f'<div class="gw-control gw-slider" data-control="{i}">'
        f'<label for="{face_id}-{i}">{html.escape(c.label)}: <output>{labels[c.active]}</output></label>'
        f'<input type="range" id="{face_id}-{i}" name="{html.escape(c.name)}" min="0" '
        f'max="{len(labels) - 1}" step="1" value="{c.active}" aria-valuetext="{labels[c.active]}">'
        f'<span class="gw-ends" aria-hidden="true"><span>{labels[0]}</span>'
        f"<span>{labels[-1]}</span></span></div>"
    )


def _buttons(face_id: str, i: int, c: FaceControl) -> str:
    options = "".join(
        f'<label><input type="radio" name="{face_id}-{i}" value="{j}"{" checked" if j == c.active else ""}>'
        f"<span>{html.escape(t)}</span></label>"
        for j, t in enumerate(c.labels)
    )
    return (
        f'<fieldset class="gw-control gw-buttons" data-control="{i}">'
        f"<legend>{html.escape(c.label)}</legend><div>{options}</div></fieldset>"
    )


def _select(face_id: str, i: int, c: FaceControl) -> str:
    options = "".join(
        f'<option value="{j}"{" selected" if j == c.active else ""}>{html.escape(t)}</option>'
        for j, t in enumerate(c.labels)
    )
    return (
        f'<div class="gw-control gw-select" data-control="{i}"><label for="{face_id}-{i}">'
        f'{html.escape(c.label)}</label><select id="{face_id}-{i}" name="{html.escape(c.name)}">'
        f"{options}</select></div>"
    )


_CONTROL = {"slider": _slider, "buttons": _buttons, "select": _select}


def _json(value: Any) -> str:
    """JSON for a ``<script>`` element: no text in it can close the script."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def face_html(face: StaticFace) -> str:
    """The face as an HTML fragment for a page that loads BokehJS (the book, or ``save_html``).

    Parameters
    ----------
    face : StaticFace
        What :func:`~gradwidgets.widgets.static.bake` returned.

    Returns
    -------
    str
        A ``div.gradwidgets-explorer`` holding the title, a form of controls, the status line
        (``role="status"``), the figures (drawn by the page's BokehJS), the face's settings as
        JSON and the script that wires them up.
    """
    face_id = f"gw-face-{uuid.uuid4().hex[:12]}"
    shown = [(i, c) for i, c in enumerate(face.controls) if c.kind != "none"]
    controls = "".join(_CONTROL[c.kind](face_id, i, c) for i, c in shown)
    color = STATUS_PROBLEM if face.problem else STATUS_OK
    settings = {
        "explorer": face.explorer,
        "root": face.layout.id,
        "sources": list(face.sources),
        "kinds": [c.kind for c in face.controls],
        "labels": [list(c.labels) for c in face.controls],
        "index": face.index,
        "inline": face.inline,
        "base": face.base,
    }
    return (
        f'<div class="gradwidgets-explorer gw-face" id="{face_id}" '
        f'data-explorer="{html.escape(face.explorer)}">'
        f"<style>{CSS}</style>"
        f'<p class="gw-title">{html.escape(face.title)}</p>'
        f'<form class="gw-controls" autocomplete="off" onsubmit="return false">{controls}</form>'
        f'<p class="gw-status" role="status" aria-live="polite" style="color: {color}">'
        f"{html.escape(face.status)}</p>"
        f"{html_fragment(face.layout)}"
        f'<script type="application/json" class="gw-face-data">{_json(settings)}</script>'
        f'<script>{SWITCH_JS}gradwidgetsFaces.attach("{face_id}");</script></div>'
    )
