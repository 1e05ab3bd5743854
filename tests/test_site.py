"""The book builds with ``make book`` and every page works offline in headless Chromium.

The site is served from 127.0.0.1 and every request to another host is blocked and counted,
so a page that needs the internet fails here. Screenshots go to ``artifacts/site/``.
"""

import ast
import re
import sys
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "artifacts" / "site"
BOKEH_VERSION = version("bokeh")  # the BokehJS every page loads must match the Python bokeh
MAX_PAGE_BYTES = 1_000_000  # a page's own HTML, its formulas' MathML included (shards load on demand)
LOOPBACK = {"127.0.0.1", "localhost"}

# Console errors that are not the book's fault, each with the reason it is harmless. Empty:
# thebe's duplicated `const THEBE_JS_URL` is removed by book/_ext/offline_assets.py.
HARMLESS_CONSOLE: list[str] = []


def _toc_pages() -> list[str]:
    """The HTML pages the build should produce, from _toc.yml (no build needed to list them)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        files += [chapter["file"] for chapter in part["chapters"]]
    return ["index.html", "genindex.html", "search.html", *[f"{f}.html" for f in files]]


PAGES = _toc_pages()


class Visit:
    """One page opened offline: what it tried to fetch elsewhere, what it logged, its state."""

    def __init__(self, browser, url: str, shot: Path):
        self.blocked: list[str] = []
        self.errors: list[str] = []
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", self._route)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        try:
            page.goto(url, wait_until="load")
            if url.endswith("/index.html"):  # a redirect to the root page
                page.wait_for_url(re.compile(r".*/book/.*\.html$"), wait_until="load")
            page.evaluate("() => document.fonts.ready.then(() => true)")
            # formulas are MathML written at build time (book/_ext/mathml.py): the browser draws
            # them as it lays out the page, with no script
            self.state = page.evaluate(
                """() => ({
                    url: location.pathname,
                    bokeh: window.Bokeh?.version ?? null,
                    math: document.querySelectorAll('math').length,
                    blocks: [...document.querySelectorAll('math[display="block"]')]
                        .map((m) => getComputedStyle(m).display),
                    mathErrors: document.querySelectorAll('.gw-math-error').length,
                    mathjax: window.MathJax !== undefined,
                })"""
            )
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=shot, full_page=True)
        finally:
            context.close()

    def _route(self, route):
        host = urlsplit(route.request.url).hostname
        if host in LOOPBACK:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()


@pytest.fixture(scope="module")
def visits(browser, server):
    """Every page, opened once."""
    return {
        name: Visit(browser, f"{server}/{name}", SHOTS / name.replace("/", "_").replace(".html", ".png"))
        for name in PAGES
    }


@pytest.mark.slow
def test_the_build_makes_exactly_the_toc_pages(built_book):
    built = sorted(
        p.relative_to(built_book).as_posix() for p in built_book.rglob("*.html") if "_static" not in p.parts
    )
    assert built == sorted(PAGES)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_page_works_offline(visits, name):
    visit = visits[name]
    assert visit.blocked == [], f"{name} requested other hosts"
    errors = [e for e in visit.errors if not any(h in e for h in HARMLESS_CONSOLE)]
    assert errors == [], f"{name} logged console errors"
    has_plot = "gradwidgets-plot-" in (HTML / name).read_text(encoding="utf8")
    if has_plot:
        assert visit.state["bokeh"] == BOKEH_VERSION, "BokehJS is not loaded from the site's static files"
    else:  # a page without a plot loads no BokehJS (book/_ext/plot_scripts.py)
        assert visit.state["bokeh"] is None, f"{name} loads BokehJS but shows no plot"
    assert visit.state["mathErrors"] == 0 and not visit.state["mathjax"]
    size = (HTML / name).stat().st_size
    assert size < MAX_PAGE_BYTES, f"{name} is {size / 1e6:.1f} MB"
    # no widget state for a widget manager the site does not load (explorers are baked)
    assert "application/vnd.jupyter.widget-state+json" not in (HTML / name).read_text(encoding="utf8")


@pytest.mark.slow
@pytest.mark.browser
def test_math_is_drawn_as_mathml_on_how_to_use(visits):
    state = visits["book/how-to-use.html"].state
    assert state["math"] > 5 and state["blocks"]
    # a browser that draws MathML lays a display formula out as `block math`, not as unknown tags
    assert set(state["blocks"]) == {"block math"}


# --- explorers: every static face renders -----------------------------------------------

EXPLORERS_JS = """() => Bokeh.documents.flatMap((doc, i) => doc.roots()
    .filter((r) => (r.name ?? "").startsWith("explorer:"))
    .map((r) => ({doc: i, name: r.name.slice(9), rendered: Bokeh.index.find_one(r) != null})))"""

ALL_BUILT_JS = """() => window.Bokeh && window.gradwidgetsPlots
    && window.gradwidgetsPlots.pending.length === 0 && !window.gradwidgetsPlots.busy"""


def _explorer_pages() -> list[str]:
    return [
        p
        for p in PAGES
        if p.startswith("book/") and "{code-cell}" in _source(p) and "explorers" in _source(p)
    ]


def _source(page: str) -> str:
    path = ROOT / page.replace(".html", ".md")
    return path.read_text(encoding="utf8") if path.exists() else ""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize(
    "name", _explorer_pages() or [pytest.param("none", marks=pytest.mark.skip("no explorers yet"))]
)
def test_every_explorer_of_a_chapter_renders(browser, server, name):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{server}/{name}", wait_until="load")
        # the page builds its plots one after another (gradwidgets/widgets/embed.py): wait for the last
        page.wait_for_function(ALL_BUILT_JS, timeout=30000)
        explorers = page.evaluate(EXPLORERS_JS)
        assert len(explorers) >= 2, f"{name} shows {len(explorers)} explorers; a chapter needs at least two"
        page.wait_for_function(f"() => ({EXPLORERS_JS})().every((e) => e.rendered)", timeout=20000)
    finally:
        context.close()
    # that every control moves its plot to the stored results: tests/test_site_explorers.py


# --- no browser: what the chapters import, Binder provides --------------------------------

CONDA_NAME = {"torch": "pytorch-cpu", "yaml": "pyyaml", "sklearn": "scikit-learn"}
BY_POSTBUILD = {"gradwidgets"}  # installed from this repository by postBuild
CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.M | re.S)


def _cell_code(cell: str) -> str:
    """A code cell's Python: without its option lines and IPython magics."""
    lines = cell.splitlines()
    if lines and lines[0].strip() == "---":  # a YAML option block
        end = lines.index("---", 1)
        lines = lines[end + 1 :]
    return "\n".join(line for line in lines if not line.lstrip().startswith((":", "%", "!")))


def _imported_modules() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for md in sorted((ROOT / "book").rglob("*.md")):
        if "_build" in md.parts:
            continue
        for cell in CELL.findall(md.read_text(encoding="utf8")):
            for node in ast.walk(ast.parse(_cell_code(cell), filename=str(md))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(md.relative_to(ROOT).as_posix())
    return found


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def test_every_module_a_chapter_imports_is_in_the_binder_environment():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_normal(re.split(r"[=<>!\s]", dep)[0]) for dep in env["dependencies"] if isinstance(dep, str)}
    assert "pip install" in (ROOT / "postBuild").read_text(), "postBuild should install gradwidgets"
    imported = _imported_modules()
    assert "gradwidgets" in imported, "no chapter imports gradwidgets: is the cell parser broken?"
    missing = {
        module: sorted(pages)
        for module, pages in imported.items()
        if module not in sys.stdlib_module_names
        and module not in BY_POSTBUILD
        and _normal(CONDA_NAME.get(module, module)) not in conda
    }
    assert missing == {}, "environment.yml does not provide these (module: chapters importing it)"
