"""The static face of an explorer: Bokeh widgets and CustomJS switching precomputed results."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bokeh.embed import components, file_html
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, CustomJS, Div, RadioButtonGroup, Select
from bokeh.resources import INLINE

from .explorer import Columns, Control, Explorer

_SWITCH_JS = """
const get = (m, k) => (m instanceof Map ? m.get(k) : m[k]);
const idx = controls.map((w, i) => (w.active != null ? w.active : labels[i].indexOf(w.value)));
const key = idx.join("-");
const found = get(store, key);
const text = get(statuses, key);
status.text = text === undefined ? "This setting was not precomputed for the static page." : text;
status.styles = {color: get(problems, key) ? "#D55E00" : "#444"};
if (found === undefined) { return; }
for (const [name, source] of (sources instanceof Map ? sources.entries() : Object.entries(sources))) {
  const baked = get(found, name);
  if (baked !== undefined) { source.data = Object.assign({}, baked.data); }
}
"""


def compact(columns: Columns) -> dict[str, Any]:
    """Columns as the page stores them: floats as float32, integers as int32, text as lists."""
    out: dict[str, Any] = {}
    for name, values in columns.items():
        arr = np.asarray(values)
        if arr.dtype.kind == "f":
            out[name] = arr.astype(np.float32)
        elif arr.dtype.kind in "iub":
            out[name] = arr.astype(np.int32)
        else:
            out[name] = [str(v) for v in arr.tolist()]
    return out


def _stored(columns: dict[str, Any], shared: dict[str, ColumnDataSource]) -> ColumnDataSource:
    """A source for ``columns``, reusing an earlier one whose columns are identical."""
    digest = hashlib.sha1()
    for name, values in sorted(columns.items()):
        digest.update(name.encode())
        digest.update(values.tobytes() if isinstance(values, np.ndarray) else "\x1f".join(values).encode())
    key = digest.hexdigest()
    if key not in shared:
        shared[key] = ColumnDataSource(columns)
    return shared[key]


def _bokeh_control(control: Control, explorer: Explorer):
    active = control.index(control.default)
    labels = list(control.option_labels)
    name = f"{explorer.name}:control:{control.name}"
    if len(labels) <= 6:
        return RadioButtonGroup(labels=labels, active=active, sizing_mode="inherit", name=name), "active"
    return Select(title=control.label, options=labels, value=labels[active], width=160, name=name), "value"


def bake(explorer: Explorer, configs: Sequence[Mapping[str, Any]] | None = None):
    """Precompute ``configs`` (default: the whole grid) and lay out the static face.

    Returns a Bokeh layout: a control per grid axis, a status line and the explorer's figures,
    whose sources a ``CustomJS`` callback refills from the precomputed results, with no kernel.
    """
    configs = list(explorer.grid()) if configs is None else [explorer.config(**c) for c in configs]
    default = explorer.default_config
    if explorer.key(default) not in {explorer.key(c) for c in configs}:
        configs.insert(0, default)
    results = {explorer.key(c): explorer.run(c) for c in configs}
    first = results[explorer.key(default)]
    if not first.data:
        raise ValueError(
            f"the default configuration of explorer {explorer.name!r} computes no data: {first.status}"
        )
    sources = {
        name: ColumnDataSource(compact(cols), name=f"{explorer.name}:{name}")
        for name, cols in first.data.items()
    }
    figures = explorer.figures(sources)
    shared: dict[str, ColumnDataSource] = {}  # identical columns are stored once
    store = {
        key: {name: _stored(compact(cols), shared) for name, cols in r.data.items()}
        for key, r in results.items()
        if r.data
    }
    status = Div(
        text=html.escape(first.status),
        styles={"color": "#D55E00" if first.problem else "#444"},
        name=f"{explorer.name}:status",
    )
    controls, widgets = [], []
    for control in explorer.controls:
        widget, attr = _bokeh_control(control, explorer)
        widgets.append((widget, attr))
        label = Div(text=f"<b>{html.escape(control.label)}</b>", width=110)
        controls.append(row(label, widget) if attr == "active" else widget)
    callback = CustomJS(
        args=dict(
            controls=[w for w, _ in widgets],
            labels=[list(c.option_labels) for c in explorer.controls],
            store=store,
            statuses={k: html.escape(r.status) for k, r in results.items()},
            problems={k: r.problem for k, r in results.items()},
            sources=sources,
            status=status,
        ),
        code=_SWITCH_JS,
    )
    for widget, attr in widgets:
        widget.js_on_change(attr, callback)
    title = Div(text=f"<b>{html.escape(explorer.title)}</b>")
    return column(
        title, *controls, status, figures, sizing_mode="stretch_width", name=f"explorer:{explorer.name}"
    )


def static_html(layout) -> str:
    """The static face as an HTML fragment for a page that already loads BokehJS (the book)."""
    script, div = components(layout)
    return f'<div class="gradwidgets-explorer">{div}{script}</div>'


def save_html(layout, path: str, title: str = "gradwidgets explorer") -> str:
    """A standalone HTML file with BokehJS inlined: it works offline, with no server."""
    text = file_html(layout, resources=INLINE, title=title)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
