"""The static face's script: on a change of control, load the setting's shard and swap the data.

``SWITCH_JS`` defines ``window.gradwidgetsFaces`` once per page, whatever number of faces the
page holds; each face's fragment then calls ``gradwidgetsFaces.attach(id)`` with the id of its
element (:mod:`gradwidgets.widgets.staticface`). The face reads its settings from the JSON in
its ``script.gw-face-data``:

- ``explorer``: the explorer's name (its sources are named ``explorer:source`` in the Bokeh
  document); ``root``: the id of that document's root model; ``sources``: the source names;
- ``kinds``: per control, ``slider``, ``buttons``, ``select`` or ``none`` (a single choice, not
  shown); ``labels``: each control's option labels;
- ``index``: grid key (positions joined by ``-``) to shard name; ``inline``: shards held in the
  page itself (name to packed string); ``base``: the folder of the shard files, or null for the
  book's ``_static/baked/`` (found from the ``data-content_root`` Sphinx writes on ``<html>``).

A shard is a script (see :mod:`gradwidgets.widgets.shards`), loaded by a ``<script>`` element:
that works from a server and from a site opened from disk, where ``fetch()`` is blocked. The
last change wins: a slower shard that arrives after a newer change is not shown. The settings
one step away along each control are loaded in the background when the face first scrolls
into view (once the page has loaded) and after each change. ``gradwidgetsFaces.faces`` maps
each face's id to an object the tests and ``benchmarks/bench_switch.py`` read: ``pending``
(the last change's promise), ``latest`` (changes so far), ``applied`` (when the plots last got
a setting's data), ``positions()`` (each control's position), ``drawn()`` (a promise of the
Bokeh data sources, once the page has drawn the face's figures; it fails, and a change says
so in the status line, once the page has loaded and tried every plot without drawing them),
``change()`` (what an ``input`` event on the controls calls) and ``set(positions)`` (sets the
controls and changes).
"""

from ..plots.theme import STATUS_OK, STATUS_PROBLEM

LOADING_AFTER_MS = 150
"""A change whose shard has not arrived after this long says so in the status line."""

SWITCH_JS = (
    """
window.gradwidgetsFaces = window.gradwidgetsFaces || (() => {
  const TYPED = {float32: Float32Array, float64: Float64Array, int32: Int32Array};
  const registry = (window.gradwidgetsShards = window.gradwidgetsShards || {});
  const faces = new Map();
  const bytes = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const column = (c) => (Array.isArray(c) ? c : new TYPED[c.dtype](bytes(c.bytes).buffer));
  const decode = async (b64) => {  // once per shard: its columns become typed arrays here
    const stream = new Blob([bytes(b64)]).stream().pipeThrough(new DecompressionStream("gzip"));
    const shard = JSON.parse(await new Response(stream).text());
    for (const table of Object.values(shard.data)) {
      for (const [k, v] of Object.entries(table)) table[k] = column(v);
    }
    return shard;
  };
  function attach(id) {
    const el = document.getElementById(id);
    const cfg = JSON.parse(el.querySelector("script.gw-face-data").textContent);
    const root = cfg.base !== null ? cfg.base
      : (document.documentElement.dataset.content_root ?? "") + "_static/baked/";
    const inputs = cfg.kinds.map((kind, i) => (kind === "none" ? null
      : el.querySelector(`[data-control="${i}"]`)));
    const status = el.querySelector(".gw-status");
    const face = {id, explorer: cfg.explorer, kinds: cfg.kinds, labels: cfg.labels, index: cfg.index,
                  shards: new Map(), latest: 0, applied: 0, pending: Promise.resolve(), sources: null};
    const packed = (name) => {
      if (cfg.inline[name] !== undefined) return Promise.resolve(cfg.inline[name]);
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
    const load = (name) => {
      if (!face.shards.has(name)) {
        const promise = packed(name).then(decode);
        promise.catch(() => face.shards.delete(name));  // a failed load is tried again next time
        face.shards.set(name, promise);
      }
      return face.shards.get(name);
    };
    const findSources = () => {
      for (const doc of (window.Bokeh ? Bokeh.documents : [])) {
        if (doc.get_model_by_id(cfg.root)) {
          return new Map(cfg.sources.map((n) => [n, doc.get_model_by_name(cfg.explorer + ":" + n)]));
        }
      }
      return null;
    };
    const drawn = (face.drawn = () => new Promise((resolve, reject) => {  // built one by one
      const poll = () => {
        if ((face.sources = face.sources || findSources())) return resolve(face.sources);
        const plots = window.gradwidgetsPlots;  // the page's queue of plots (embed.py)
        if (document.readyState === "complete"
            && (!window.Bokeh || (plots && !plots.busy && plots.pending.length === 0))) {
          const error = new Error("the face's figures were not drawn (BokehJS failed on them)");
          error.status = "The plots could not be drawn: the browser's console says why.";
          return reject(error);  // every plot of the page was tried: this one failed
        }
        setTimeout(poll, 20);
      };
      poll();
    }));
    face.positions = () => inputs.map((w, i) => (w === null ? 0 : cfg.kinds[i] === "buttons"
      ? Number(w.querySelector("input:checked").value) : Number(w.querySelector("input, select").value)));
    const show = (text, problem) => {
      if (status.textContent !== text) status.textContent = text;  // a new text relays out
      status.style.color = problem ? "STATUS_PROBLEM" : "STATUS_OK";
    };
    const preload = (positions) => inputs.forEach((w, i) => {
      for (const step of [-1, 1]) {
        const next = positions.slice();
        next[i] += step;
        const other = w === null ? undefined : cfg.index[next.join("-")];
        if (other !== undefined) load(other).catch(() => {});
      }
    });
    face.change = () => {
      const positions = face.positions();
      inputs.forEach((w, i) => {  // a slider shows its option's label
        if (w === null || cfg.kinds[i] !== "slider") return;
        const label = cfg.labels[i][positions[i]];
        w.querySelector("output").textContent = label;
        w.querySelector("input").setAttribute("aria-valuetext", label);
      });
      const name = cfg.index[positions.join("-")];
      const ticket = ++face.latest;
      if (name === undefined) {
        show("This setting was not precomputed for the static page.", true);
        return (face.pending = Promise.resolve());
      }
      const slow = setTimeout(() => {
        if (ticket === face.latest) show("Loading this setting\\u2026", false);
      }, LOADING_AFTER_MS);
      face.pending = Promise.all([load(name), drawn()]).then(([shard, sources]) => {
        clearTimeout(slow);
        if (ticket !== face.latest) return;  // a newer change is on its way
        show(shard.status, shard.problem);
        for (const [source_name, source] of sources) {
          const table = shard.data[source_name];
          if (table !== undefined && source) source.data = {...table};
        }
        face.applied = performance.now();  // when the plots got this setting's data
        preload(positions);
      }).catch((error) => {
        clearTimeout(slow);
        if (ticket === face.latest) {
          show(error.status || "The results of this setting could not be loaded.", true);
        }
        console.error("gradwidgets: a setting could not be shown:", error);
      });
      return face.pending;
    };
    face.set = (positions) => {  // as a reader would set the controls (tests, benchmarks)
      const current = face.positions();
      let changed = false;
      inputs.forEach((w, i) => {
        if (w === null || positions[i] === current[i]) return;
        if (cfg.kinds[i] === "buttons") w.querySelector(`input[value="${positions[i]}"]`).checked = true;
        else w.querySelector("input, select").value = String(positions[i]);
        changed = true;
      });
      return changed ? face.change() : face.pending;
    };
    el.querySelector("form").addEventListener("input", face.change);
    const watch = () => {  // a reader about to use the controls: load the neighbours
      const seen = new IntersectionObserver((entries) => {
        if (!entries.some((e) => e.isIntersecting)) return;
        seen.disconnect();
        preload(face.positions());
      });
      seen.observe(el);
    };
    if (window.IntersectionObserver) {  // not before the page has loaded: that would delay it
      if (document.readyState === "complete") watch();
      else window.addEventListener("load", watch);
    }
    faces.set(id, face);
    return face;
  }
  return {attach, faces};
})();
""".replace("STATUS_PROBLEM", STATUS_PROBLEM)
    .replace("STATUS_OK", STATUS_OK)
    .replace("LOADING_AFTER_MS", str(LOADING_AFTER_MS))
)
