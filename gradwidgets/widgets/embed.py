"""Bokeh layouts as HTML fragments for a page that loads BokehJS, drawn one after another.

Bokeh's ``components`` builds every plot of a page in one go once the whole page has been
parsed and its deferred scripts have run. Here each fragment holds its document as JSON and
joins one queue per page: the first plot is built as soon as its fragment is parsed, the
others in page order, each in its own task, and the browser paints each one before building
the next.
"""

from __future__ import annotations

from bokeh.core.json_encoder import serialize_json
from bokeh.embed.util import OutputDocumentFor, standalone_docs_json_and_render_items
from bokeh.model import Model

_QUEUE_JS = """(function () {
  const queue = (window.gradwidgetsPlots = window.gradwidgetsPlots || {pending: [], busy: false});
  queue.pending.push(document.getElementById("%(id)s"));
  function next() {
    if (queue.busy || !window.Bokeh || queue.pending.length === 0) return;
    queue.busy = true;
    const item = JSON.parse(queue.pending.shift().textContent);
    Promise.resolve()
      .then(() => window.Bokeh.embed.embed_items(item.docs, item.items))
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
        The element BokehJS renders into, the document as JSON (with ``<`` escaped, so no
        text in it can close the script), and the script that queues it.
    """
    with OutputDocumentFor([layout]):
        docs, [item] = standalone_docs_json_and_render_items([layout])
    payload = serialize_json({"docs": docs, "items": [item.to_json()]}, pretty=False).replace("<", "\\u003c")
    script_id = f"gradwidgets-plot-{item.docid}"
    divs = "".join(
        f'<div id="{root.elementid}" data-root-id="{root.id}" style="display: contents;"></div>'
        for root in item.roots
    )
    return (
        f'{divs}<script type="application/json" id="{script_id}">{payload}</script>'
        f"<script>{_QUEUE_JS % {'id': script_id}}</script>"
    )
