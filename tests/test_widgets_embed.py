"""Page fragments: the first plot is built as its fragment is parsed, the others in page order,
each in its own task; the documents ride gzipped and are unpacked by the page's own gunzip."""

import base64
import gzip
import io
import json
import os
import random
import re
import zlib
from pathlib import Path

import pytest
from _browser import browser_page
from bokeh.plotting import figure
from bokeh.util.paths import bokehjs_path

from gradwidgets.widgets.embed import html_fragment
from gradwidgets.widgets.inflate_js import GUNZIP_JS

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
    assert len(packed) < len(json.dumps(item)) / 3  # gzipped: a document is mostly repeated keys


@pytest.mark.browser
def test_plots_are_built_in_page_order_one_task_each(tmp_path):
    scripts = "".join(
        f'<script src="file://{BOKEHJS / name}"></script>'
        for name in ("bokeh.min.js", "bokeh-widgets.min.js")
    )
    body = "".join(html_fragment(_figure(i)) for i in range(6))
    page_path = tmp_path / "page.html"
    page_path.write_text(f"<html><head>{scripts}</head><body>{body}</body></html>", encoding="utf8")
    with browser_page() as bp:
        bp.page.add_init_script(COUNT_PER_FRAME_JS)
        bp.page.goto(f"file://{page_path}")
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
    page_path = tmp_path / "page.html"
    page_path.write_text(
        f'<html><head><script src="file://{BOKEHJS / "bokeh.min.js"}"></script>{count_calls}</head>'
        f"<body>{body}</body></html>",
        encoding="utf8",
    )
    with browser_page() as bp:
        bp.page.goto(f"file://{page_path}")
        bp.page.wait_for_function("() => Bokeh.documents.length === 3 && !window.gradwidgetsPlots.busy")
        assert bp.page.evaluate("() => [window.afterFirst, window.afterSecond, window.calls]") == [1, 1, 3]
        names = bp.page.evaluate("() => Bokeh.documents.map((d) => d.roots()[0].name)")
        assert names == ["plot0", "plot1", "plot2"] and bp.console_errors == []


def _gzip_cases() -> list[tuple[bytes, bytes]]:
    """(gzip member, its content): stored, fixed and dynamic blocks, long runs, a named header."""
    rng = random.Random(7)
    contents = [
        b"",
        b"a",
        os.urandom(70_000),
        b"ab" * 40_000,
        json.dumps([{"x": i, "t": "é⋯₂"} for i in range(2000)]).encode(),
    ]
    for _ in range(12):
        alphabet = bytes(rng.sample(range(256), rng.randint(1, 40)))
        contents.append(bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 6000))))
    cases = []
    for content in contents:
        cases += [(gzip.compress(content, compresslevel=level, mtime=0), content) for level in (0, 1, 9)]
        for strategy in (zlib.Z_FIXED, zlib.Z_HUFFMAN_ONLY):
            packer = zlib.compressobj(9, zlib.DEFLATED, 31, 9, strategy)
            cases.append((packer.compress(content) + packer.flush(), content))
        named = io.BytesIO()
        with gzip.GzipFile(filename="doc.json", mode="wb", fileobj=named, mtime=1) as f:
            f.write(content)
        cases.append((named.getvalue(), content))
    return cases


@pytest.mark.browser
def test_the_page_gunzip_agrees_with_zlib_and_refuses_what_is_not_gzip():
    cases = _gzip_cases()
    with browser_page() as bp:
        bp.page.set_content("<html><body></body></html>")
        got = bp.page.evaluate(
            """([source, cases]) => {
                const gunzip = eval(source);
                const bytes = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
                const hex = (a) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
                return cases.map((b64) => hex(gunzip(bytes(b64))));
            }""",
            [GUNZIP_JS, [base64.b64encode(packed).decode() for packed, _ in cases]],
        )
        assert got == [content.hex() for _, content in cases]
        broken = [
            b"",
            b"not gzip at all",
            gzip.compress(b"x" * 500, mtime=0)[:14],
            bytes([31, 139, 8, 0, 0, 0, 0, 0, 0, 0, 7]),
        ]
        errors = bp.page.evaluate(
            """([source, cases]) => {
                const gunzip = eval(source);
                return cases.map((b64) => {
                    try { gunzip(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))); return null; }
                    catch (e) { return e.message; }
                });
            }""",
            [GUNZIP_JS, [base64.b64encode(b).decode() for b in broken]],
        )
        assert all(e is not None and e.startswith("gunzip: ") for e in errors), errors
