"""The static face of an explorer: Bokeh widgets switching results precomputed for every setting.

Every setting of the grid is computed once, at bake time, into a shard
(:mod:`gradwidgets.widgets.shards`). The page holds the default setting's data (drawn at once),
an index from setting to shard and, outside a book build, the shards themselves; in a book build
(``GRADWIDGETS_SHARDS`` set) the shards are files the page loads when a reader picks a setting.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import (
    ColumnDataSource,
    CustomJS,
    CustomJSTickFormatter,
    Div,
    RadioButtonGroup,
    Select,
    Slider,
)
from bokeh.resources import INLINE

from ..plots.theme import STATUS_OK, STATUS_PROBLEM
from .bakecache import content_name, shard_directory, shard_name, stamp
from .embed import html_fragment
from .shards import compact, pack, read_script, unpack, write_script
from .spec import FAILED, Control, Spec
from .switch_js import SWITCH_JS

__all__ = ["bake", "compact", "save_html", "static_html"]


_SLIDER_LABEL_JS = "return labels[Math.round(tick)] ?? String(tick);"


def _bokeh_control(control: Control, explorer: Spec):
    """The widget of one control and how the callback reads its position.

    Numbers with more than two choices get a slider over their positions (its value shows as
    the option's label), up to six other choices buttons, more a select.
    """
    active = control.index(control.default)
    labels = list(control.option_labels)
    name = f"{explorer.name}:control:{control.name}"
    if control.numeric and len(labels) > 2:
        label_of = CustomJSTickFormatter(args=dict(labels=labels), code=_SLIDER_LABEL_JS)
        slider = Slider(start=0, end=len(labels) - 1, step=1, value=active, title=control.label)
        slider.update(format=label_of, width=320, name=name)
        return slider, "index"
    if len(labels) <= 6:
        return RadioButtonGroup(labels=labels, active=active, sizing_mode="inherit", name=name), "active"
    return Select(title=control.label, options=labels, value=labels[active], width=160, name=name), "label"


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
):
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
    bokeh.models.Column
        A control per grid axis with more than one choice, a status line and the explorer's
        figures, whose sources a ``CustomJS`` callback refills from the results, with no kernel.
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
    figures = explorer.figures(sources)
    status = Div(
        text=first["status"],
        styles={"color": STATUS_PROBLEM if first["problem"] else STATUS_OK},
        name=f"{explorer.name}:status",
    )
    rows, widgets, kinds = [], [], []
    for control in explorer.controls:
        if len(control.options) == 1:  # nothing to choose: not shown
            widgets.append(None)
            kinds.append("none")
            continue
        widget, kind = _bokeh_control(control, explorer)
        widgets.append(widget)
        kinds.append(kind)
        label = Div(text=f"<b>{html.escape(control.label)}</b>", width=110)
        rows.append(row(label, widget) if kind == "active" else widget)
    callback = CustomJS(
        args=dict(
            controls=widgets,
            kinds=kinds,
            labels=[list(c.option_labels) for c in explorer.controls],
            index=index,
            inline=inline,
            base=base,
            sources=sources,
            status=status,
        ),
        code=SWITCH_JS,
    )
    for widget, kind in zip(widgets, kinds, strict=True):
        if widget is not None:
            widget.js_on_change("active" if kind == "active" else "value", callback)
    title = Div(text=f"<b>{html.escape(explorer.title)}</b>")
    return column(
        title, *rows, status, figures, sizing_mode="stretch_width", name=f"explorer:{explorer.name}"
    )


def static_html(layout) -> str:
    """The static face as an HTML fragment for a page that already loads BokehJS (the book)."""
    return f'<div class="gradwidgets-explorer">{html_fragment(layout)}</div>'


def save_html(layout, path: str, title: str = "gradwidgets explorer") -> str:
    """A standalone HTML file with BokehJS inlined: it works offline, with no server."""
    text = file_html(layout, resources=INLINE, title=title)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
