"""The static explorers in the browser: time until every plot is drawn, and time per change. Prints JSON.

For each chapter with explorers in ``_build/html`` (build it first with ``make book``), in
headless Chromium on loopback:

- ``all_drawn_ms``: from navigation start until the page's plot queue
  (``gradwidgets/widgets/embed.py``) has built every plot;
- ``first_change_ms``: once the page is idle and the explorer scrolled into view, ``PAUSE_MS``
  later (a reader changes a control they see, after a look; the face loads the settings one
  step away when it first comes into view), the first change of a control until the face has
  put the setting's data in the explorer's Bokeh sources;
- ``later_change_ms``: the median over the next ``CHANGES`` changes, each one step along a
  control from the last setting, as a reader moves a slider, ``PAUSE_MS`` apart (the time
  the neighbours of a setting have to be prefetched).

``*_painted_ms``: the same until the frame after the new data has been painted (BokehJS's
own drawing). Targets (issue 15): first change <= 150 ms, later changes <= 50 ms median.
Run from the
repository root: ``.venv/bin/python benchmarks/bench_switch.py [--pages book/x.html ...]``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import re
import statistics
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
CHANGES = 8
PAUSE_MS = 300
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ALL_BUILT_JS = """() => window.Bokeh && window.gradwidgetsPlots
    && window.gradwidgetsPlots.pending.length === 0 && !window.gradwidgetsPlots.busy"""

# Set control `i` of face `id` to position `p` (as its input event would); resolve with the
# milliseconds until the face put the setting's data in the sources (``face.applied``) and
# until the frame after that was painted.
CHANGE_JS = """async ([id, i, p]) => {
  const f = gradwidgetsFaces.faces.get(id);
  const positions = f.positions();
  positions[i] = p;
  const t0 = performance.now();
  await f.set(positions);
  if (!(f.applied > t0)) return null;
  const applied = f.applied - t0;
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  return [applied, performance.now() - t0];
}"""

LIST_JS = """() => Array.from(gradwidgetsFaces.faces.values()).map((f) => ({
  id: f.id, kinds: f.kinds, sizes: f.labels.map((l) => l.length), positions: f.positions(),
}))"""


def _pages() -> list[str]:
    """The chapters whose pages name explorer shards."""
    shard = re.compile(r"gw-[0-9a-f]{32}")
    return sorted(f"book/{p.name}" for p in (HTML / "book").glob("*.html") if shard.search(p.read_text()))


def _serve():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _steps(ex: dict) -> list[tuple[int, int]]:
    """The first change and CHANGES more: one step at a time along the controls with choices."""
    positions = list(ex["positions"])
    movable = [i for i, kind in enumerate(ex["kinds"]) if kind != "none" and ex["sizes"][i] > 1]
    steps = []
    for n in range(CHANGES + 1):
        i = movable[n % len(movable)] if n % 3 else movable[0]
        positions[i] = (positions[i] + 1) % ex["sizes"][i]
        steps.append((i, positions[i]))
    return steps


def measure_page(browser, url: str) -> dict:
    """All-drawn time, first-change and later-change times of one page's first explorer."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.wait_for_function(ALL_BUILT_JS, timeout=60000, polling=5)
        drawn = page.evaluate("() => performance.now()")
        # a reader changes a control after reading a moment, not while MathJax typesets the page
        page.evaluate("() => window.MathJax?.startup?.promise")
        page.evaluate("() => new Promise((resolve) => requestIdleCallback(resolve, {timeout: 3000}))")
        ex = page.evaluate(LIST_JS)[0]
        page.locator(f"#{ex['id']}").scroll_into_view_if_needed()
        page.wait_for_timeout(PAUSE_MS)
        times = []
        for i, p in _steps(ex):
            times.append(page.evaluate(CHANGE_JS, [ex["id"], i, p]))
            page.wait_for_timeout(PAUSE_MS)  # a reader looks before the next change
    finally:
        context.close()
    data, painted = [t[0] for t in times], [t[1] for t in times]
    return {
        "all_drawn_ms": round(drawn),
        "first_change_ms": round(data[0], 1),
        "later_change_ms": round(statistics.median(data[1:]), 1),
        "first_painted_ms": round(painted[0], 1),
        "later_painted_ms": round(statistics.median(painted[1:]), 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure every page with explorers (or ``--pages``) and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", nargs="*", default=None)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    server = _serve()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    out = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name in args.pages or _pages():
            out[name] = measure_page(browser, f"{base}/{name}")
        browser.close()
    server.shutdown()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
