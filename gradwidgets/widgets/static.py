"""The static face of an explorer: HTML controls switching results precomputed for every setting.

Every setting of the grid is computed once, at bake time, into a shard
(:mod:`gradwidgets.widgets.shards`). The page holds the default setting's data (drawn at once),
an index from setting to shard and, outside a book build, the shards themselves; in a book build
(``GRADWIDGETS_SHARDS`` set) the shards are files the page loads when a reader picks a setting.
The page fragment is :func:`~gradwidgets.widgets.staticface.face_html`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bokeh.core.templates import get_env
from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import ColumnDataSource
from bokeh.resources import INLINE

from .bakecache import content_name, shard_directory, shard_name, stamp
from .embed import html_fragment
from .shards import compact, pack, read_script, unpack, write_script
from .spec import FAILED, Control, Spec
from .staticface import FaceControl, StaticFace, face_html

__all__ = ["StaticFace", "bake", "compact", "save_html", "static_html"]

_MAX_BUTTONS = 6
"""Up to this many choices that are not all numbers are buttons; more are a select."""


def _face_control(control: Control) -> FaceControl:
    """How the page shows one control: numbers with more than two choices as a slider over
    their positions (showing the option's label), up to six other choices as buttons, more as
    a select, a single choice not at all."""
    labels = tuple(control.option_labels)
    if len(labels) == 1:
        kind = "none"
    elif control.numeric and len(labels) > 2:
        kind = "slider"
    else:
        kind = "buttons" if len(labels) <= _MAX_BUTTONS else "select"
    return FaceControl(control.name, control.label, kind, labels, control.index(control.default))


def _shards(explorer: Spec, configs, directory: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    """Every setting's shard name by grid key, and the shards the page holds itself.

    With a ``directory``, shards are files there, and a setting whose file is already written
    (same setting, same computing code: see :mod:`~gradwidgets.widgets.bakecache`) is not
    computed again; without one, the page holds them all.
    """
    explorer_stamp = stamp(explorer) if directory is not None else None
    index: dict[str, str] = {}
    inline: dict[str, str] = {}
    for config in configs:
        name = shard_name(explorer_stamp, config) if explorer_stamp else None
        if name is None or not (directory / f"{name}.js").exists():
            result = explorer.run(config)
            packed = pack(result)
            if name is None or result.status.startswith(FAILED):  # a failure is never kept for reuse
                name = content_name(packed)
            if directory is None:
                inline[name] = packed
            else:
                write_script(directory, name, packed)
        index[explorer.key(config)] = name
    return index, inline


def bake(
    explorer: Spec,
    configs: Sequence[Mapping[str, Any]] | None = None,
    shards: str | Path | None = None,
    base: str | None = None,
) -> StaticFace:
    """Precompute ``configs`` (default: the whole grid) and lay out the static face.

    Parameters
    ----------
    explorer : Spec
        The declaration (an :class:`~gradwidgets.Explorer`).
    configs : sequence of mappings, optional
        The settings to offer; the default setting is always added.
    shards : str or Path, optional
        A directory to write each setting's results into as a file the page loads on demand
        (default: ``GRADWIDGETS_SHARDS``; unset, the page holds every result itself).
    base : str, optional
        The URL of ``shards`` relative to the page (default: the book's ``_static/baked/``).

    Returns
    -------
    StaticFace
        A control per grid axis with more than one choice, the default setting's status line
        and the explorer's figures; :func:`static_html` makes it a page fragment whose script
        refills the figures' sources from the results, with no kernel.
    """
    configs = list(explorer.grid()) if configs is None else [explorer.config(**c) for c in configs]
    default = explorer.default_config
    if explorer.key(default) not in {explorer.key(c) for c in configs}:
        configs.insert(0, default)
    directory = Path(shards) if shards is not None else shard_directory()
    index, inline = _shards(explorer, configs, directory)
    name = index[explorer.key(default)]
    first = unpack(inline[name] if name in inline else read_script(directory / f"{name}.js"))
    if not first["data"]:
        raise ValueError(
            f"the default configuration of explorer {explorer.name!r} computes no data: {first['status']}"
        )
    sources = {
        source: ColumnDataSource(columns, name=f"{explorer.name}:{source}")
        for source, columns in first["data"].items()
    }
    layout = column(explorer.figures(sources), sizing_mode="stretch_width", name=f"explorer:{explorer.name}")
    return StaticFace(
        explorer=explorer.name,
        title=explorer.title,
        controls=tuple(_face_control(c) for c in explorer.controls),
        index=index,
        inline=inline,
        base=base,
        status=first["status"],
        problem=bool(first["problem"]),
        layout=layout,
        sources=sources,
    )


_PAGE = (
    '{% extends "file.html.jinja" %}{% block preamble %}<style>body {padding: 1rem;'
    " font-family: system-ui, sans-serif}</style>{% endblock %}{% block inner_body %}{{ face }}{% endblock %}"
)
"""Bokeh's standalone page with the face (which draws its own figures) as its whole body."""


def static_html(face: StaticFace | Any) -> str:
    """The static face (or a plain Bokeh figure or layout) as an HTML fragment for a page that
    already loads BokehJS (the book)."""
    if isinstance(face, StaticFace):
        return face_html(face)
    return f'<div class="gradwidgets-explorer">{html_fragment(face)}</div>'


def save_html(face: StaticFace | Any, path: str, title: str = "gradwidgets explorer") -> str:
    """A standalone HTML file with BokehJS inlined: it works offline, with no server.

    Parameters
    ----------
    face : StaticFace or bokeh.model.Model
        What :func:`bake` returned, or a plain figure or layout.
    path : str
        The file to write.
    title : str, optional
        The page's title.

    Returns
    -------
    str
        ``path``.
    """
    fragment = static_html(face)
    layout = face.layout if isinstance(face, StaticFace) else face
    page = dict(template=get_env().from_string(_PAGE), template_variables={"face": fragment})
    text = file_html(layout, resources=INLINE, title=title, **page)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
