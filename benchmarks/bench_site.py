"""The book's budgets: rebuild time, page sizes and the first Bokeh plot painted. Prints JSON.

- ``rebuild_s``: ``make book`` with nothing changed, after one ``make book`` that brings the
  cache up to date (target: under 60 s);
- ``page_bytes``: each page's own HTML (target: under 2 MB each);
- ``transfer_bytes``: everything a visit to each page requests (its HTML, scripts, stylesheets,
  fonts and images, uncompressed: the bodies as served), in a fresh browser context once the
  network has been idle for half a second, with the largest requests named (target: under
  2.5 MB a page);
- ``first_paint_ms``: from navigation start to the first Bokeh plot whose view has finished
  painting, in headless Chromium on loopback with every other host blocked, median of
  ``VISITS`` visits per page with explorers, in turn (target: under 1.2 s);
- ``floor_first_paint_ms``: the same for a page holding only the site's BokehJS and one small
  figure, visited in the same rounds (:data:`FLOOR`): what BokehJS alone costs on this machine
  in this run, and ``over_floor_ms``, what each chapter adds to it. On this 2-core machine the
  chapters' first paints moved between runs by a third and more.

The clean build with execution (target: under 10 min) is what ``CI=true make book`` takes; CI
prints it. Run from the repository root: ``.venv/bin/python benchmarks/bench_site.py``
(``--no-build`` measures the pages already in ``_build/html``, with no ``rebuild_s``;
``--html DIR`` another built site; ``--visits`` and ``--pages`` narrow the first-paint runs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
VISITS = 5
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Installed before any page script runs: on every animation frame, look for a Bokeh plot whose
# view has finished painting, and keep the time of the first one.
FIRST_PAINT_JS = """
window.__firstPaint = null;
(function poll() {
    try {
        const docs = (window.Bokeh && window.Bokeh.documents) || [];
        for (const doc of docs) {
            for (const model of doc.all_models) {
                if (model.type !== "Figure") continue;
                const view = window.Bokeh.index.find_one(model);
                if (view && view.has_finished()) {
                    window.__firstPaint = performance.now();
                    return;
                }
            }
        }
    } catch (e) {}
    requestAnimationFrame(poll);
})();
"""


def make_book() -> float:
    started = time.perf_counter()
    subprocess.run(["make", "--no-print-directory", "book"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def page_sizes(html: Path = HTML) -> dict[str, int]:
    pages = sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)
    return {p.relative_to(html).as_posix(): p.stat().st_size for p in pages}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _site(html: Path):
    """A server of ``html`` on loopback and a headless Chromium: yields (browser, url, route)."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", html],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith(f"http://127.0.0.1:{port}/"):
            return r.continue_()
        blocked.append(r.request.url)
        return r.abort()

    try:
        time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield browser, f"http://127.0.0.1:{port}", route
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    if blocked:
        raise RuntimeError(f"pages requested other hosts: {blocked}")


FLOOR = "__floor.html"
"""The floor page (served by the benchmark itself): the site's BokehJS and one small figure,
built by the same fragment as the chapters' plots. Nothing a chapter adds is in it, so its
first paint is what BokehJS alone costs on this machine at that moment."""


def floor_page(chapter: Path) -> str:
    """The floor page's HTML, loading the BokehJS files that ``chapter`` (a built page) loads."""
    from bokeh.plotting import figure

    from gradwidgets.widgets.embed import html_fragment

    fig = figure(title="floor", width=600, height=300, tools="")
    fig.line([1, 2, 3], [1, 3, 2])
    text = chapter.read_text(encoding="utf8")
    found = re.findall(r'<script src="(?:\.\./)*(_static/bokeh[^"?]*\.js)', text)
    if not found:
        raise ValueError(f"{chapter} loads no BokehJS")
    scripts = "".join(f'<script src="{src}"></script>' for src in found)
    head = f'<meta charset="utf-8">{scripts}'
    return f"<!DOCTYPE html><html><head>{head}</head><body>{html_fragment(fig)}</body></html>"


def first_paints(pages: list[str], visits: int = VISITS, html: Path = HTML) -> dict[str, dict]:
    """Median and worst time to the first painted Bokeh plot of each page, in ms.

    The pages are visited in turn, ``visits`` rounds, each round with the floor page
    (:data:`FLOOR`) first, so a slow spell of the machine weighs on every page alike.
    """
    floor = floor_page(html / pages[0])
    times: dict[str, list[float]] = {name: [] for name in [FLOOR, *pages]}
    with _site(html) as (browser, url, route):
        for _ in range(visits):
            for page_name in times:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.route("**/*", route)
                context.route(f"{url}/{FLOOR}", lambda r: r.fulfill(body=floor, content_type="text/html"))
                context.add_init_script(FIRST_PAINT_JS)
                page = context.new_page()
                page.goto(f"{url}/{page_name}", wait_until="commit")
                page.wait_for_function("() => window.__firstPaint !== null", timeout=60000)
                times[page_name].append(page.evaluate("() => window.__firstPaint"))
                context.close()
    return {
        name: {"median_ms": round(statistics.median(t)), "max_ms": round(max(t))} for name, t in times.items()
    }


def transfers(pages: list[str], html: Path = HTML) -> dict[str, dict]:
    """Bytes of every response a visit to each page gets, in total and the largest ones."""
    out = {}
    with _site(html) as (browser, url, route):
        for page_name in pages:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", route)
            page = context.new_page()
            responses = []
            page.on("response", lambda r, seen=responses: seen.append(r))
            page.goto(f"{url}/{page_name}", wait_until="load")
            page.wait_for_load_state("networkidle")
            sizes = {}
            for response in responses:
                if 300 <= response.status < 400:  # a redirect has no body of its own
                    continue
                name = response.url.removeprefix(url + "/").split("?")[0]
                sizes[name] = sizes.get(name, 0) + len(response.body())
            context.close()
            largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:6]
            out[page_name] = {
                "total": sum(sizes.values()),
                "requests": len(sizes),
                "largest": {name: size for name, size in largest},
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-build", action="store_true", help="measure _build/html as it is")
    parser.add_argument("--html", type=Path, default=HTML, help="the built site (implies --no-build)")
    parser.add_argument("--visits", type=int, default=VISITS, help="visits per page (median)")
    parser.add_argument("--pages", nargs="*", help="pages to visit, like book/diagnose.html")
    parser.add_argument("--no-paint", action="store_true", help="measure sizes and transfers only")
    args = parser.parse_args()
    html = args.html.resolve()
    rebuild = None
    if not args.no_build and html == HTML:
        make_book()  # bring the cache and the build up to date
        rebuild = round(make_book(), 1)
    sizes = page_sizes(html)
    pages = args.pages or [p for p in sizes if p != "index.html"]  # index.html only redirects
    with_plots = [p for p in pages if "data-root-id" in (html / p).read_text(encoding="utf8")]
    moved = transfers(pages, html)
    paints = {} if args.no_paint else first_paints(with_plots, args.visits, html)
    floor = paints.pop(FLOOR, {}).get("median_ms")
    print(
        json.dumps(
            {
                "targets": {
                    "rebuild_s": 60,
                    "page_bytes": 2_000_000,
                    "transfer_bytes": 2_500_000,
                    "first_paint_ms": 1200,
                },
                "rebuild_s": rebuild,
                "largest_page_bytes": max(sizes.values()),
                "page_bytes": sizes,
                "largest_transfer_bytes": max(v["total"] for v in moved.values()),
                "transfer_bytes": moved,
                "first_paint_ms": paints,
                "worst_first_paint_ms": max((v["max_ms"] for v in paints.values()), default=None),
                "floor_first_paint_ms": floor,
                "over_floor_ms": {name: v["median_ms"] - floor for name, v in paints.items()}
                if floor
                else {},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
