"""The built site's pages are light and fit their column, in headless Chromium.

Each page of the book is opened once at 1280 px and once at 390 px, offline (every request off
127.0.0.1 is blocked), in a fresh context: what it transfers (the bodies of every response,
uncompressed), which scripts it loads (BokehJS only with a plot, never MathJax: formulas are
MathML written at build time, the search index only on the search page) and whether anything in
the article is wider than the column without a visible scroll cue (book/_static/scroll_cue.js and
book.css). Screenshots go to ``artifacts/site-pages/``.
"""

from __future__ import annotations

import functools
import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "artifacts" / "site-pages"
MAX_TRANSFER = 2_500_000  # bytes a visit to one page transfers, every asset included
MAX_ICON_SCRIPT = 200_000  # the theme's fontawesome.js, cut to the site's icons (was 1.49 MB)
MAX_ICON_FONT = 10_000  # Font Awesome's solid web font, cut to the stylesheets' glyphs (was 156 kB)
ICON_FONT = "_static/vendor/fontawesome/webfonts/fa-solid-900.woff2"
SEARCH_INDEX = "searchindex.js"
WIDTHS = (1280, 390)
BOKEHJS = re.compile(r"/bokeh(?:-[a-z]+)?-\d+\.\d+\.\d+(?:\.min)?\.js")
PLOT = 'id="gradwidgets-plot-'

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        files += [chapter["file"] for chapter in part["chapters"]]
    return ["genindex.html", "search.html", *[f"{f}.html" for f in files]]


PAGES = _pages()


def _has_math(name: str) -> bool:
    """Whether a page's prose holds a formula (``$...$``; read from its source, code cells left out)."""
    path = ROOT / name.replace(".html", ".md")
    if not path.exists():
        return False
    prose = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf8"), flags=re.S | re.M)
    return re.search(r"\$[^$\s][^$\n]*\$", prose) is not None


# Everything in the article that could be wider than the column, with the box a reader sees
# it through: its nearest box (itself included) that clips sideways. A box that clips and is
# narrower than its content needs the cue: the class `gw-scrolls` and a drawn shadow. Bokeh
# plots are sized by the plots layer, not by the page, and are left out here.
OVERFLOW_JS = """() => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main");
  if (!article) return ["no article or main element"];
  const col = article.getBoundingClientRect();
  const sel = "table, div.math, math[display='block'], pre, figure, img, div.cell_output > div, " +
    "code.literal";
  const out = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1) out.push(`the page scrolls sideways: ${page.scrollWidth}px`);
  for (const el of article.querySelectorAll(sel)) {
    if (el.closest("[data-root-id]") || el.querySelector("[data-root-id]")) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    let box = null;
    for (let a = el; a && a !== article; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") { box = a; break; }
    }
    const seen = box ? box.getBoundingClientRect() : r;
    const outside = seen.left < col.left - 1 || seen.right > col.right + 1;
    const hidden = box !== null && box.scrollWidth > box.clientWidth + 1;
    const cue = hidden && box.classList.contains("gw-scrolls") && getComputedStyle(box).boxShadow !== "none";
    if (outside || (hidden && !cue)) {
      out.push(`${el.tagName.toLowerCase()}.${String(el.className).split(" ")[0]} ` +
        `${Math.round(r.width)}px in a ${Math.round(col.width)}px column ` +
        `(${outside ? "outside it" : "cut off without a cue"}): ${el.textContent.slice(0, 60)}`);
    }
  }
  return out;
}"""

# The article's text outside code and formulas, for TeX that nothing turned into MathML.
PROSE_JS = """(article) => {
  const copy = article.cloneNode(true);
  const skip = "math, pre, code, script, style, .cell_input, .gw-math-error";
  copy.querySelectorAll(skip).forEach((e) => e.remove());
  return copy.textContent;
}"""
RAW_TEX = re.compile(r"\$\$|\$[^$\s](?:[^$\n]*?[^$\s\\])?\$|\\\(|\\\[|\\(?:frac|begin|mathrm|partial|sqrt)\b")

STATE_JS = f"""() => ({{
  math: document.querySelectorAll('math').length,
  drawn: [...document.querySelectorAll('math')]
    .filter((m) => getComputedStyle(m).display.endsWith('math')).length,
  mathErrors: document.querySelectorAll('.gw-math-error').length,
  prose: ({PROSE_JS})(document.querySelector("article.bd-article") || document.body),
  mathjax: window.MathJax !== undefined || !!document.querySelector('script[src*="mathjax" i]'),
  bokeh: window.Bokeh?.version ?? null,
  icons: document.querySelectorAll('svg.svg-inline--fa').length,
  missingIcons: document.querySelectorAll('svg.svg-inline--fa.missing, i[class*="fa-"]').length,
}})"""


class Visit:
    """One page at one width: its responses, its state once loaded, what overflows."""

    def __init__(self, browser, base: str, name: str, width: int):
        self.sizes: dict[str, int] = {}
        self.blocked: list[str] = []
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.route("**/*", self._route)
        page = context.new_page()
        responses = []
        page.on("response", lambda r: responses.append(r))
        self._open: set = set()
        self._last = time.monotonic()
        for event in ("request", "requestfinished", "requestfailed"):
            page.on(event, functools.partial(self._track, event))
        try:
            page.goto(f"{base}/{name}", wait_until="load")
            self._wait_until_quiet(page)
            page.wait_for_timeout(300)  # the scroll cues follow the fonts' sizes
            self.state = page.evaluate(STATE_JS)
            self.overflow = page.evaluate(OVERFLOW_JS)
            for response in responses:
                if not 300 <= response.status < 400:  # a redirect has no body of its own
                    key = response.url.removeprefix(base + "/").split("?")[0]
                    self.sizes[key] = self.sizes.get(key, 0) + len(response.body())
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=SHOTS / f"{width}_{name.replace('/', '_').removesuffix('.html')}.png", full_page=True
            )
        finally:
            context.close()

    def _track(self, event: str, request) -> None:
        (self._open.add if event == "request" else self._open.discard)(request)
        self._last = time.monotonic()

    def _wait_until_quiet(self, page, quiet: float = 0.5, timeout: float = 30.0) -> None:
        """Wait until no request has been open for ``quiet`` seconds (the explorers' shards load late).

        Not Playwright's ``networkidle``: Chromium does not always report it on a page whose
        last request ended before its ``load`` event (each page but those with MathJax, which
        loaded after it), and the wait then timed out.
        """
        end = time.monotonic() + timeout
        while self._open or time.monotonic() - self._last < quiet:
            if time.monotonic() > end:
                raise TimeoutError(f"requests still open after {timeout} s: {[r.url for r in self._open]}")
            page.wait_for_timeout(100)

    def _route(self, route):
        if route.request.url.startswith("http://127.0.0.1:"):
            return route.continue_()
        self.blocked.append(route.request.url)
        return route.abort()

    @property
    def total(self) -> int:
        return sum(self.sizes.values())


@pytest.fixture(scope="module")
def visit(browser, server):
    """``visit(name, width)``: the page opened once at that width."""
    return functools.cache(lambda name, width: Visit(browser, server, name, width))


def _over(v: Visit, name: str, limit: int) -> str:
    largest = sorted(v.sizes.items(), key=lambda kv: -kv[1])[:5]
    return f"{name} transfers {v.total / 1e6:.2f} MB (limit {limit / 1e6} MB); largest: {largest}"


@pytest.mark.parametrize("name", PAGES)
def test_a_page_transfers_under_its_budget(built_book, visit, name):
    v = visit(name, 1280)
    assert v.blocked == []
    assert v.total < MAX_TRANSFER, _over(v, name, MAX_TRANSFER)


@pytest.mark.parametrize("name", PAGES)
def test_bokehjs_only_on_pages_with_a_plot(built_book, visit, name):
    v = visit(name, 1280)
    loaded = [url for url in v.sizes if BOKEHJS.search("/" + url)]
    if PLOT in (built_book / name).read_text(encoding="utf8"):
        assert loaded, f"{name} has a plot but loads no BokehJS"
        assert v.state["bokeh"] is not None
    else:
        assert loaded == [], f"{name} has no plot but loads {loaded}"
        assert v.state["bokeh"] is None


@pytest.mark.parametrize("name", PAGES)
def test_formulas_are_mathml_from_the_build_and_no_page_loads_mathjax(built_book, visit, name):
    v = visit(name, 1280)
    assert [url for url in v.sizes if "mathjax" in url.lower()] == [] and not v.state["mathjax"]
    if _has_math(name):
        assert v.state["math"] > 0, f"{name} has formulas in its source but no <math> element"
    # laid out as MathML (display `math` or `block math`), also those in closed dropdowns
    assert v.state["drawn"] == v.state["math"], "a <math> element is not laid out as MathML"
    assert v.state["mathErrors"] == 0
    assert RAW_TEX.findall(v.state["prose"]) == [], f"{name} shows TeX that was not converted"


@pytest.mark.parametrize("name", PAGES)
def test_only_the_search_page_loads_the_search_index(built_book, visit, name):
    loaded = SEARCH_INDEX in visit(name, 1280).sizes
    assert loaded == (name == "search.html"), f"{name} {'does not load' if not loaded else 'loads'} it"


@pytest.mark.parametrize("word", ["vanishing", "Kaiming"])
def test_the_search_field_of_a_chapter_finds_a_word_offline(built_book, browser, server, word):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
    try:
        page = context.new_page()
        page.goto(f"{server}/book/intro.html", wait_until="load")
        form = page.locator("#pst-search-dialog form.bd-search")
        assert form.get_attribute("action").endswith("search.html")
        form.locator("input[name=q]").evaluate("(el, w) => { el.value = w; el.form.requestSubmit(); }", word)
        page.wait_for_url(f"**/search.html?q={quote(word)}*")
        results = page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=20000)
        assert results.count() >= 1, f"search.html found no page with {word!r}"
    finally:
        context.close()


@pytest.mark.parametrize("name", ["book/intro.html", "search.html"])
def test_the_theme_icons_are_drawn_from_a_small_icon_script(built_book, visit, name):
    v = visit(name, 1280)
    assert v.state["icons"] >= 10, "the header's icons were not drawn"
    assert v.state["missingIcons"] == 0, "an icon is missing from _static/scripts/fontawesome.js"
    size = v.sizes.get("_static/scripts/fontawesome.js", 0)
    assert 0 < size < MAX_ICON_SCRIPT, f"fontawesome.js is {size} bytes"
    assert v.sizes.get(ICON_FONT, 0) < MAX_ICON_FONT, f"{ICON_FONT} is {v.sizes[ICON_FONT]} bytes"


def test_the_icon_font_holds_every_glyph_a_stylesheet_draws(built_book):
    from fontTools.ttLib import TTFont

    drawn = set()
    for css in (built_book / "_static").rglob("*.css"):
        text = css.read_text(encoding="utf8", errors="replace")
        drawn |= {ord(c) for c in text if 0xE000 <= ord(c) < 0xF900}
        drawn |= {int(h, 16) for h in re.findall(r"\\(f[0-9a-f]{3})\b", text)}
    theme = built_book.parent.parent / ".venv"  # the whole font, to know which glyphs it has
    whole = next(theme.rglob("pydata_sphinx_theme/static/vendor/fontawesome/webfonts/fa-solid-900.woff2"))
    expected = drawn & set(TTFont(whole).getBestCmap())
    kept = set(TTFont(built_book / ICON_FONT).getBestCmap())
    assert expected and kept == expected, sorted(hex(c) for c in expected ^ kept)
    assert (built_book / ICON_FONT).stat().st_size < MAX_ICON_FONT


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_the_article_fits_its_column_or_scrolls_with_a_cue(built_book, visit, name, width):
    assert visit(name, width).overflow == []
