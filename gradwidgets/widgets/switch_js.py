"""The static face's callback: on a change of control, load the setting's shard and swap the data.

``SWITCH_JS`` is the code of a Bokeh ``CustomJS`` whose arguments are set by
:func:`gradwidgets.widgets.static.bake`:

- ``controls``: one entry per control of the explorer, the Bokeh widget or null (a control with
  a single choice is not shown); ``kinds``: how to read its position (``active`` for button
  groups, ``label`` for a select, ``index`` for a slider over positions);
- ``labels``: each control's option labels; ``index``: grid key (positions joined by ``-``) to
  shard name; ``inline``: shards held in the page itself (name to packed string);
- ``base``: the folder of the shard files, or null for the book's ``_static/baked/`` (found
  from the ``data-content_root`` Sphinx writes on ``<html>``);
- ``sources`` (the explorer's data sources by name) and ``status`` (its status line).

A shard is a script (see :mod:`gradwidgets.widgets.shards`), loaded by a ``<script>`` element:
that works from a server and from a site opened from disk, where ``fetch()`` is blocked. The
last change wins: a slower shard that arrives after a newer change is not shown. After each
change the neighbouring settings (one step along each control) are loaded in the background.
"""

from ..plots.theme import STATUS_OK, STATUS_PROBLEM

LOADING_AFTER_MS = 150
"""A change whose shard has not arrived after this long says so in the status line."""

SWITCH_JS = (
    """
const TYPED = {float32: Float32Array, float64: Float64Array, int32: Int32Array};
const registry = (window.gradwidgetsShards = window.gradwidgetsShards || {});
const state = status.__gradwidgets || (status.__gradwidgets = {shards: new Map(), latest: 0});
const root = base !== null ? base
  : (document.documentElement.dataset.content_root ?? "") + "_static/baked/";
const bytes = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
const column = (c) => (Array.isArray(c) ? c : new TYPED[c.dtype](bytes(c.bytes).buffer));
const packed = (name) => {
  if (inline[name] !== undefined) return Promise.resolve(inline[name]);
  if (registry[name] !== undefined) return Promise.resolve(registry[name]);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = root + name + ".js";
    script.onload = () => (registry[name] !== undefined ? resolve(registry[name])
      : reject(new Error(script.src + " holds no results")));
    script.onerror = () => reject(new Error("could not load " + script.src));
    document.head.appendChild(script);
  });
};
const decode = async (b64) => {  // once per shard: its columns become typed arrays here
  const stream = new Blob([bytes(b64)]).stream().pipeThrough(new DecompressionStream("gzip"));
  const shard = JSON.parse(await new Response(stream).text());
  for (const table of Object.values(shard.data)) {
    for (const [k, v] of Object.entries(table)) table[k] = column(v);
  }
  return shard;
};
const load = (name) => {
  if (!state.shards.has(name)) {
    const promise = packed(name).then(decode);
    promise.catch(() => state.shards.delete(name));  // a failed load is tried again next time
    state.shards.set(name, promise);
  }
  return state.shards.get(name);
};
const position = (w, i) => (w === null ? 0 : kinds[i] === "active" ? w.active
  : kinds[i] === "index" ? Math.round(w.value) : labels[i].indexOf(w.value));
const positions = controls.map(position);
const key = positions.join("-");
const name = index[key];
const ticket = ++state.latest;
const show = (text, problem) => {
  status.text = text;
  status.styles = {color: problem ? "STATUS_PROBLEM" : "STATUS_OK"};
};
if (name === undefined) {
  show("This setting was not precomputed for the static page.", true);
} else {
  const slow = setTimeout(() => { if (ticket === state.latest) show("Loading this setting\u2026", false); },
                          LOADING_AFTER_MS);
  load(name).then((shard) => {
    clearTimeout(slow);
    if (ticket !== state.latest) return;  // a newer change is on its way
    if (status.text !== shard.status) show(shard.status, shard.problem);  // a new text relays out
    const named = sources instanceof Map ? sources.entries() : Object.entries(sources);
    for (const [source_name, source] of named) {
      const table = shard.data[source_name];
      if (table !== undefined) source.data = {...table};
    }
    state.applied = performance.now();  // when the plots got this setting's data (benchmarks read it)
    controls.forEach((w, i) => {  // prefetch one step along each control
      for (const step of [-1, 1]) {
        const next = positions.slice();
        next[i] += step;
        const other = w === null ? undefined : index[next.join("-")];
        if (other !== undefined) load(other).catch(() => {});
      }
    });
  }).catch((error) => {
    clearTimeout(slow);
    if (ticket === state.latest) show("The results of this setting could not be loaded.", true);
    console.error("gradwidgets: precomputed results unreadable:", error);
  });
}
""".replace("STATUS_PROBLEM", STATUS_PROBLEM)
    .replace("STATUS_OK", STATUS_OK)
    .replace("LOADING_AFTER_MS", str(LOADING_AFTER_MS))
)
