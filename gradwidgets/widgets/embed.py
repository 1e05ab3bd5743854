"""Bokeh layouts as HTML fragments for a page that loads BokehJS, drawn one after another.

Bokeh's ``components`` builds every plot of a page in one go once the whole page has been
parsed and its deferred scripts have run. Here each fragment holds its document as JSON and
joins one queue per page. The first plot goes to BokehJS as soon as its fragment is parsed,
and BokehJS builds it in the first task after that, while the rest of the page is still being
parsed: the first plot of a chapter was painted 0.07-0.24 s sooner than when it waited for
the browser's asynchronous ``DecompressionStream``. The others follow in page order, each in its
own task once the browser has painted the one before. The document's JSON rides
gzipped, in base64 (a Bokeh document is mostly repeated keys: 23-68 kB of JSON per explorer
become 4-10 kB), and is unpacked at once by :data:`~gradwidgets.widgets.inflate_js.GUNZIP_JS`.
``window.gradwidgetsPlots`` is the queue: ``pending`` (fragments not yet built) and ``busy``
(a plot is being built or painted); both empty and false once every plot is drawn.
"""

from __future__ import annotations

import base64
import gzip

from bokeh.core.json_encoder import serialize_json
from bokeh.embed.util import OutputDocumentFor, standalone_docs_json_and_render_items
from bokeh.model import Model

from .inflate_js import GUNZIP_JS

_QUEUE_JS = """(function () {
  const queue = (window.gradwidgetsPlots = window.gradwidgetsPlots
    || {pending: [], busy: false, gunzip: %(gunzip)s});
  queue.pending.push(document.getElementById("%(id)s"));
  function next() {
    if (queue.busy || !window.Bokeh || queue.pending.length === 0) return;
    queue.busy = true;
    let built;
    try {
      const bytes = Uint8Array.from(atob(queue.pending.shift().textContent), (ch) => ch.charCodeAt(0));
      const item = JSON.parse(new TextDecoder().decode(queue.gunzip(bytes)));
      built = window.Bokeh.embed.embed_items(item.docs, item.items);
    } catch (error) {
      built = Promise.reject(error);
    }
    built.catch((error) => console.error("gradwidgets: a plot failed to render:", error))
      .finally(() => requestAnimationFrame(() => setTimeout(() => {  // paint it, then the next
        queue.busy = false;
        next();
      }, 0)));
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
        f"<script>{_QUEUE_JS % {'id': script_id, 'gunzip': GUNZIP_JS}}</script>"
    )
