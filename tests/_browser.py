"""Headless Chromium through Playwright, with every request off this machine blocked."""

from __future__ import annotations

import atexit
import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("GRADWIDGETS_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", ""}


def require_chromium() -> None:
    """Skip (with the reason) when Debian's Chromium is not installed; .ci/run installs it."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install chromium (CI installs it)")


class Page:
    """A page that records console errors and blocked off-machine requests."""

    def __init__(self, page):
        self.page = page
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in ("file", "data", "blob") or parsed.hostname in LOCAL_HOSTS:
            return route.continue_()
        self.blocked.append(url)
        return route.abort()


_SHARED: dict = {}


def shared_browser():
    """One Playwright and one Chromium per test process, shared by every browser test.

    Playwright's sync API runs its own event loop; a second one started while the first is
    alive fails, so every test (and the site fixtures) goes through this one. It is closed
    at exit.
    """
    require_chromium()
    if "browser" not in _SHARED:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        _SHARED["pw"] = pw
        _SHARED["browser"] = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        atexit.register(close_shared_browser)
    return _SHARED["browser"]


def close_shared_browser() -> None:
    """Close the shared Chromium and stop Playwright (idempotent)."""
    browser, pw = _SHARED.pop("browser", None), _SHARED.pop("pw", None)
    if browser is not None:
        browser.close()
    if pw is not None:
        pw.stop()


@contextlib.contextmanager
def browser_page(width: int = 1100, height: int = 900):
    """Yield a :class:`Page` in a fresh context; the context always closes, also on failure."""
    context = shared_browser().new_context(viewport={"width": width, "height": height})
    try:
        yield Page(context.new_page())
    finally:
        context.close()


def page_file(path: Path, body: str, scripts=(), head: str = "") -> str:
    """Write an HTML page at ``path`` whose head loads the local ``scripts`` files, then holds
    ``head``, and whose body is ``body``; return the page's ``file://`` URL."""
    tags = "".join(f'<script src="{Path(script).as_uri()}"></script>' for script in scripts)
    path.write_text(f"<html><head>{tags}{head}</head><body>{body}</body></html>", encoding="utf8")
    return path.as_uri()


SOURCE_COLUMN_JS = """([name, column]) => {
  for (const doc of Bokeh.documents) {
    const s = doc.get_model_by_name(name);
    if (s) { const d = s.data; return Array.from(d instanceof Map ? d.get(column) : d[column]); }
  }
  return null;
}"""
"""Read one column of a named ColumnDataSource through BokehJS in the page."""


def serve(directory) -> http.server.ThreadingHTTPServer:
    """``directory`` served quietly on 127.0.0.1 at a free port, from a daemon thread.

    The caller stops it with ``shutdown()`` and ``server_close()``.
    """

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
