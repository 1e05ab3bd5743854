"""Page fragments: the first plot goes to BokehJS as its fragment is parsed, the others in page
order, each in its own task; the documents ride gzipped."""

import base64
import gzip
import json
import re
from pathlib import Path

import pytest
from _browser import browser_page, page_file
from bokeh.plotting import figure
from bokeh.util.paths import bokehjs_path

from gradwidgets.widgets.embed import html_fragment

BOKEHJS = Path(bokehjs_path()) / "js"

# On every animation frame, note how many Bokeh documents exist: built one per task, they
# appear one or a few per frame; built together (Bokeh's components), all in the same frame.
COUNT_PER_FRAME_JS = """
window.perFrame = [];
(function tick() {
    window.perFrame.push(window.Bokeh ? window.Bokeh.documents.length : 0);
    requestAnimationFrame(tick);
})();
"""


def _figure(i: int):
    fig = figure(title=f"plot {i} </script><b>", name=f"plot{i}", width=300, height=200)
    fig.line([1, 2, 3], [i, i + 1, i])
    return fig


def test_the_payload_cannot_close_its_script_and_unpacks_to_the_document():
    text = html_fragment(_figure(0))
    assert text.count("</script>") == 2  # the payload's and the queue's, not the title's
    packed = re.search(r"<script type=\"application/gzip\" id=\"[^\"]+\">([A-Za-z0-9+/=]+)<", text).group(1)
    item = json.loads(gzip.decompress(base64.b64decode(packed)))
    assert "plot 0 </script><b>" in json.dumps(item["docs"]) and 'data-root-id="' in text
    assert len(packed) < len(json.dumps(item)) / 2.5  # gzipped: a document is mostly repeated keys


@pytest.mark.browser
def test_plots_are_built_in_page_order_one_task_each(tmp_path):
    body = "".join(html_fragment(_figure(i)) for i in range(6))
    scripts = [BOKEHJS / "bokeh.min.js", BOKEHJS / "bokeh-widgets.min.js"]
    url = page_file(tmp_path / "page.html", body, scripts)
    with browser_page() as bp:
        bp.page.add_init_script(COUNT_PER_FRAME_JS)
        bp.page.goto(url)
        bp.page.wait_for_function(
            "() => window.Bokeh && Bokeh.documents.length === 6 && !window.gradwidgetsPlots.busy"
        )
        names = bp.page.evaluate("() => Bokeh.documents.map((d) => d.roots()[0].name)")
        assert names == [f"plot{i}" for i in range(6)]
        seen = bp.page.evaluate("() => window.perFrame")
        assert any(0 < n < 6 for n in seen), f"every plot was built in the same frame: {seen}"
        titles = bp.page.evaluate("() => Bokeh.documents.map((d) => d.roots()[0].title.text)")
        assert titles[0] == "plot 0 </script><b>"
        assert bp.blocked == [] and bp.console_errors == []


@pytest.mark.browser
def test_the_first_plot_is_handed_to_bokehjs_as_its_fragment_is_parsed(tmp_path):
    """A script after the first fragment sees its document already handed to BokehJS; the
    next plots wait for the tasks after it, and every plot is built in page order."""
    count_calls = (
        "<script>const embed = Bokeh.embed.embed_items; window.calls = 0;"
        " Bokeh.embed.embed_items = (...a) => { window.calls++; return embed(...a); };</script>"
    )
    body = (
        html_fragment(_figure(0))
        + "<script>window.afterFirst = window.calls;</script>"
        + html_fragment(_figure(1))
        + "<script>window.afterSecond = window.calls;</script>"
        + html_fragment(_figure(2))
    )
    url = page_file(tmp_path / "page.html", body, [BOKEHJS / "bokeh.min.js"], head=count_calls)
    with browser_page() as bp:
        bp.page.goto(url)
        bp.page.wait_for_function("() => Bokeh.documents.length === 3 && !window.gradwidgetsPlots.busy")
        assert bp.page.evaluate("() => [window.afterFirst, window.afterSecond, window.calls]") == [1, 1, 3]
        names = bp.page.evaluate("() => Bokeh.documents.map((d) => d.roots()[0].name)")
        assert names == ["plot0", "plot1", "plot2"] and bp.console_errors == []
