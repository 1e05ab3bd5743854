"""The static face of an explorer: Bokeh widgets and CustomJS switching precomputed results."""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, CustomJS, Div, RadioButtonGroup, Select
from bokeh.resources import INLINE

from ..plots.theme import STATUS_OK, STATUS_PROBLEM
from .embed import html_fragment
from .spec import Columns, Control, Spec

_SWITCH_JS = """
// The precomputed results are one gzipped JSON string (see `pack`), unpacked on the first
// change: BokehJS draws a page's first plot without decoding them.
const TYPED = {float32: Float32Array, float64: Float64Array, int32: Int32Array};
const bytes = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
const column = (c) => (Array.isArray(c) ? c : new TYPED[c.dtype](bytes(c.bytes).buffer));
const unpack = async () => {
  const stream = new Blob([bytes(baked)]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
};
if (status.__gradwidgetsBaked === undefined) { status.__gradwidgetsBaked = unpack(); }
status.__gradwidgetsBaked.then((data) => {
  const idx = controls.map((w, i) => (w.active != null ? w.active : labels[i].indexOf(w.value)));
  const key = idx.join("-");
  const found = data.store[key];
  const text = data.statuses[key];
  status.text = text === undefined ? "This setting was not precomputed for the static page." : text;
  status.styles = {color: data.problems[key] ? "STATUS_PROBLEM" : "STATUS_OK"};
  if (found === undefined) { return; }
  for (const [name, source] of (sources instanceof Map ? sources.entries() : Object.entries(sources))) {
    const table = data.tables[found[name]];
    if (table !== undefined) {
      source.data = Object.fromEntries(Object.entries(table).map(([k, v]) => [k, column(v)]));
    }
  }
}).catch((error) => console.error("gradwidgets: precomputed results unreadable:", error));
""".replace("STATUS_PROBLEM", STATUS_PROBLEM).replace("STATUS_OK", STATUS_OK)


_F32 = np.finfo(np.float32)


def _fits_float32(arr: np.ndarray) -> bool:
    """True when no finite non-zero value would become inf or 0 (or lose all precision) in float32."""
    with np.errstate(invalid="ignore"):
        mags = np.abs(arr[np.isfinite(arr) & (arr != 0)])
    return mags.size == 0 or (mags.max() <= _F32.max and mags.min() >= _F32.smallest_normal)


def compact(columns: Columns) -> dict[str, Any]:
    """Columns as the page stores them: floats as float32, integers as int32, text as lists.

    A float column with a value outside float32's normal range (an exploding gradient of
    1e45, a vanishing one of 1e-42) stays float64: float32 would show it as inf or 0.
    """
    out: dict[str, Any] = {}
    for name, values in columns.items():
        arr = np.asarray(values)
        if arr.dtype.kind == "f":
            out[name] = arr.astype(np.float32) if _fits_float32(arr) else arr.astype(np.float64)
        elif arr.dtype.kind in "iub":
            out[name] = arr.astype(np.int32)
        else:
            out[name] = [str(v) for v in arr.tolist()]
    return out


def _stored(columns: dict[str, Any], tables: list[dict[str, Any]], seen: dict[str, int]) -> int:
    """The position of ``columns`` in ``tables``, appended unless identical columns are there.

    The page holds the precomputed results as plain data, not as Bokeh sources: a source is
    three models for BokehJS to build (with its selection), thousands of them per explorer.
    """
    digest = hashlib.sha1()
    for name, values in sorted(columns.items()):
        digest.update(name.encode())
        if isinstance(values, np.ndarray):
            digest.update(values.dtype.str.encode() + values.tobytes())
        else:
            digest.update("\x1f".join(values).encode())
    key = digest.hexdigest()
    if key not in seen:
        seen[key] = len(tables)
        tables.append(columns)
    return seen[key]


def _packed_column(values) -> Any:
    if isinstance(values, np.ndarray):
        little = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
        data = base64.b64encode(little.tobytes()).decode("ascii")
        return {"dtype": values.dtype.name, "bytes": data}
    return list(values)


def pack(store, tables, statuses, problems) -> str:
    """The precomputed results as one string for the switching callback: gzipped JSON, base64.

    BokehJS decodes every argument of a callback (and gunzips every array) before it draws
    the plot; a string it leaves alone, and the callback unpacks it on the first change. In
    the JSON a numeric column is ``{"dtype", "bytes"}`` (float32, float64 or int32; base64 of
    its little-endian bytes), a text column a plain list.
    """
    text = json.dumps(
        {
            "store": store,
            "tables": [{name: _packed_column(v) for name, v in t.items()} for t in tables],
            "statuses": statuses,
            "problems": problems,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return base64.b64encode(gzip.compress(text.encode("utf8"), mtime=0)).decode("ascii")


def unpack(baked: str) -> dict[str, Any]:
    """`pack`'s string back as Python data, numeric columns as numpy arrays (for tests)."""
    data = json.loads(gzip.decompress(base64.b64decode(baked)))
    data["tables"] = [
        {
            name: v if isinstance(v, list) else np.frombuffer(base64.b64decode(v["bytes"]), dtype=v["dtype"])
            for name, v in t.items()
        }
        for t in data["tables"]
    ]
    return data


def _bokeh_control(control: Control, explorer: Spec):
    active = control.index(control.default)
    labels = list(control.option_labels)
    name = f"{explorer.name}:control:{control.name}"
    if len(labels) <= 6:
        return RadioButtonGroup(labels=labels, active=active, sizing_mode="inherit", name=name), "active"
    return Select(title=control.label, options=labels, value=labels[active], width=160, name=name), "value"


def bake(explorer: Spec, configs: Sequence[Mapping[str, Any]] | None = None):
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
    tables: list[dict[str, Any]] = []  # each distinct set of columns once
    seen: dict[str, int] = {}
    store = {
        key: {name: _stored(compact(cols), tables, seen) for name, cols in r.data.items()}
        for key, r in results.items()
        if r.data
    }
    status = Div(
        text=html.escape(first.status),
        styles={"color": STATUS_PROBLEM if first.problem else STATUS_OK},
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
            baked=pack(
                store,
                tables,
                {k: html.escape(r.status) for k, r in results.items()},
                {k: bool(r.problem) for k, r in results.items()},
            ),
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
    return f'<div class="gradwidgets-explorer">{html_fragment(layout)}</div>'


def save_html(layout, path: str, title: str = "gradwidgets explorer") -> str:
    """A standalone HTML file with BokehJS inlined: it works offline, with no server."""
    text = file_html(layout, resources=INLINE, title=title)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
