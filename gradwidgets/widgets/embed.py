"""Bokeh layouts as HTML fragments for a page that loads BokehJS, drawn one after another.

Bokeh's ``components`` builds every plot of a page in one go once the whole page has been
parsed and its deferred scripts have run. Here each fragment holds its document as JSON and
joins one queue per page: the first plot is built as soon as its fragment is parsed, the
others in page order, each in its own task, and the browser paints each one before building
the next. The document's JSON rides gzipped, in base64 (a Bokeh document is mostly repeated
keys: 23-68 kB of JSON per explorer become 4-10 kB), and is unpacked with the browser's
``DecompressionStream`` before it is built.
"""

from __future__ import annotations

import base64
import gzip

from bokeh.core.json_encoder import serialize_json
from bokeh.embed.util import OutputDocumentFor, standalone_docs_json_and_render_items
from bokeh.model import Model

_QUEUE_JS = """(function () {
  const queue = (window.gradwidgetsPlots = window.gradwidgetsPlots || {pending: [], busy: false});
  queue.pending.push(document.getElementById("%(id)s"));
  function next() {
    if (queue.busy || !window.Bokeh || queue.pending.length === 0) return;
    queue.busy = true;
    const packed = queue.pending.shift().textContent;
    const bytes = Uint8Array.from(atob(packed), (ch) => ch.charCodeAt(0));
    new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).json()
      .then((item) => window.Bokeh.embed.embed_items(item.docs, item.items))
      .catch((error) => console.error("gradwidgets: a plot failed to render:", error))
      .finally(() => {
        queue.busy = false;
        requestAnimationFrame(() => setTimeout(next, 0));  // paint this plot, then build the next
      });
  }
  // BokehJS is loaded in the page's head: start at once, while the rest of the page is parsed
  if (window.Bokeh) next();
  else document.addEventListener("DOMContentLoaded", next);
})();"""


def html_fragment(layout: Model) -> str:
    """``layout`` as a ``<div>`` and its scripts, for a page that already loads BokehJS.

    Parameters
    ----------
    layout : bokeh.model.Model
        A figure or layout not yet in another document.

    Returns
    -------
    str
        The element BokehJS renders into, the document as gzipped JSON in base64 (no text in
        it can close its script), and the script that queues it.
    """
    with OutputDocumentFor([layout]):
        docs, [item] = standalone_docs_json_and_render_items([layout])
    payload = serialize_json({"docs": docs, "items": [item.to_json()]}, pretty=False)
    packed = base64.b64encode(gzip.compress(payload.encode("utf8"), mtime=0)).decode("ascii")
    script_id = f"gradwidgets-plot-{item.docid}"
    divs = "".join(
        f'<div id="{root.elementid}" data-root-id="{root.id}" style="display: contents;"></div>'
        for root in item.roots
    )
    return (
        f'{divs}<script type="application/gzip" id="{script_id}">{packed}</script>'
        f"<script>{_QUEUE_JS % {'id': script_id}}</script>"
    )
