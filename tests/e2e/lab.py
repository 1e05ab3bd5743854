"""A real JupyterLab from the project's venv, and a learner's actions in it, through Playwright.

`LabServer` runs ``python -m jupyterlab`` on 127.0.0.1 with a random port and token, every
Jupyter directory in a throwaway folder (the venv's own ``share/jupyter``, where the
prebuilt labextensions live, stays on the search path) and the course's lab settings from
``tools/lab_settings.py``, the ones ``make lab`` uses. `Chapter` opens one ``.md`` chapter the
way a learner does (a URL, the Run menu, clicks on the explorers' controls) and reads what
the page shows: cell prompts, outputs and, through BokehJS, the plotted data.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import json
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import yaml
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
# Timeouts for a loaded 2-core CI machine (a book build, another suite and the browser share
# it): generous, since each wait ends as soon as its state is reached, and each failure names
# the state it waited for. The budgets (test_lab.py) are measured apart from these.
STARTUP_TIMEOUT = 300.0  # s for the server to answer /api/status
KERNEL_TIMEOUT = 300.0  # s for a kernel to start, warm up, attach to the page and be idle
PAGE_TIMEOUT = 180.0  # s for JupyterLab's page, its file browser or a document to appear
API_TIMEOUT = 60.0  # s for one REST call to a busy server
POLL = 0.2  # s between two reads of a state that has no event to wait on (the REST API)
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
KERNEL_DIALOG = ".jp-Dialog"
WARM_IMPORTS = (
    "import numpy, torch, bokeh, ipywidgets, jupyter_bokeh, myst_nb.ext.glue, gradwidgets, "
    "gradwidgets.explorers"
)
"""What a warm kernel has already run: the libraries every chapter imports (``myst_nb.ext.glue``
is what ``myst_nb.glue`` imports on its first call: Sphinx and docutils, 3 s), and nothing of
a chapter (no model, no explorer, no BokehJS output)."""


def lab_settings():
    """``tools/lab_settings.py``: the settings `make lab` starts JupyterLab with."""
    spec = importlib.util.spec_from_file_location("lab_settings", ROOT / "tools" / "lab_settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def server_python() -> Path:
    """The project's venv Python (the interpreter running the tests when there is none)."""
    return VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)


def missing_lab() -> str | None:
    """Why JupyterLab cannot run from the venv, or None."""
    check = subprocess.run(
        [server_python(), "-c", "import jupyterlab, jupytext, jupyter_bokeh, ipywidgets, ipykernel"],
        capture_output=True,
        text=True,
    )
    if check.returncode:
        return f"{check.stderr.strip().splitlines()[-1]}: install the lab extra (make test does)"
    return None


def toc_chapters() -> list[str]:
    """The ``.md`` files of book/ that _toc.yml lists, relative to book/, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", [{"chapters": toc.get("chapters")}]):
        walk(part.get("chapters"))
    found = []
    for file in files:
        path = (ROOT / file).with_suffix(".md")
        if path.exists() and path.is_relative_to(BOOK):
            found.append(path.relative_to(BOOK).as_posix())
    return found


@functools.cache
def code_sources(path: Path) -> list[str]:
    """The code cells of a MyST chapter, as jupytext reads them (what JupyterLab shows)."""
    import jupytext

    return [cell.source for cell in jupytext.read(path).cells if cell.cell_type == "code"]


try:  # looked up here: between fork and exec the child may only make plain calls
    _PRCTL = ctypes.CDLL(None).prctl
except (OSError, AttributeError):  # not Linux
    _PRCTL = None


def _terminate_with_parent() -> None:
    """In the server's process: get SIGTERM when the test process dies, even by SIGKILL (a CI
    timeout), so JupyterLab shuts its kernels down instead of outliving the run (Linux)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_until(state, timeout: float, what: str, interval: float = POLL):
    """Poll ``state()`` until it returns something true (returned); else fail naming ``what``
    and the last value seen. A REST call that times out counts as not yet (the server is busy)."""
    end = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = state()
        except (OSError, ValueError) as exc:  # a busy server: a timed-out or refused call
            last = f"{type(exc).__name__}: {exc}"
        else:
            if last:
                return last
        if time.monotonic() >= end:
            raise AssertionError(f"waited {timeout:.0f} s for {what}; last seen: {last!r}")
        time.sleep(interval)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``python -m jupyterlab`` on a temporary copy of book/; `stop` always ends every process."""

    def __init__(self, workdir: Path, extra_files: dict[str, str] | None = None):
        self.workdir = Path(workdir)
        self.root = self.workdir / "book"
        self.port = _free_port()
        self.token = secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "jupyterlab.log"
        self.settings = lab_settings()
        self.proc: subprocess.Popen | None = None
        self._seen: dict[int, psutil.Process] = {}
        self._extra_files = extra_files or {}

    def environment(self) -> dict[str, str]:
        """Every Jupyter directory in the throwaway folder; the venv's share/jupyter still searched."""
        dirs = {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "user-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
            "IPYTHONDIR": "ipython",
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
        for name, sub in dirs.items():
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
            env[name] = str(self.workdir / sub)
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("GRADWIDGETS_BAKE", None)  # a learner's kernel: the live face only
        return env

    def command(self) -> list[str]:
        """The server's command line: the course's settings plus a private, loopback-only setup."""
        return [
            str(server_python()),
            "-m",
            "jupyterlab",
            *self.settings.FLAGS,
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.app_settings_dir={self.workdir / 'app-settings'}",
        ]

    def start(self) -> None:
        """Copy book/, write the lab settings, start the server and wait until it answers."""
        shutil.copytree(BOOK, self.root, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
        for name, text in self._extra_files.items():  # test notebooks, next to the chapters
            (self.root / name).write_text(text, encoding="utf8")
        self.settings.write_overrides(self.workdir / "app-settings")
        log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.workdir,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole in `stop`
            preexec_fn=_terminate_with_parent,
        )
        log.close()
        self._remember()

        def answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            return self.api("/api/status") is not None

        try:
            wait_until(answers, STARTUP_TIMEOUT, "JupyterLab to answer GET /api/status")
        except AssertionError as exc:
            raise RuntimeError(f"{exc}\n{self.log_tail()}") from None

    def url(self, path: str) -> str:
        """A page of the server, with the token (the browser keeps it as a cookie)."""
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = API_TIMEOUT, body: dict | None = None):
        """A REST call with the token in the header; the JSON reply (None when empty)."""
        headers = {"Authorization": f"token {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def page_config(self) -> dict:
        """The ``jupyter-config-data`` JupyterLab serves to the browser (versions, extensions)."""
        request = urllib.request.Request(self.base + "/lab", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=API_TIMEOUT) as reply:
            html = reply.read().decode("utf8")
        start = html.index('id="jupyter-config-data"')
        start = html.index(">", start) + 1
        return json.loads(html[start : html.index("</script>", start)])

    def sessions(self, file: str) -> list[dict]:
        """The server's sessions for ``file`` (a path relative to the served book/)."""
        return [s for s in self.api("/api/sessions") or [] if s["path"] == file]

    def kernel(self, kernel_id: str) -> dict:
        """The server's model of one kernel: ``execution_state``, ``connections`` (websockets)."""
        return self.api(f"/api/kernels/{kernel_id}")

    def warm_session(self, file: str, timeout: float = KERNEL_TIMEOUT) -> str:
        """Start a kernel for ``file`` through the REST API and warm it; its kernel id.

        The session is created (``POST /api/sessions`` with the chapter's path) before the
        chapter is opened, so JupyterLab attaches the notebook to it, as it does when a
        learner reopens a chapter whose kernel still runs. Warm means the kernel is up, idle and
        has imported `WARM_IMPORTS` (sent on its own channels, silently: the notebook's
        execution counts still start at 1).
        """
        from jupyter_client import BlockingKernelClient

        # a session left for this path (a shutdown still under way) would be reused, warm or not
        wait_until(lambda: self.sessions(file) == [], timeout, f"no session left for {file}")
        session = self.api(
            "/api/sessions",
            "POST",
            timeout=timeout,
            body={"path": file, "name": file, "type": "notebook", "kernel": {"name": "python3"}},
        )
        kernel = session["kernel"]["id"]
        self._remember()
        end = time.monotonic() + timeout

        client = BlockingKernelClient(connection_file=str(self.workdir / "runtime" / f"kernel-{kernel}.json"))
        client.load_connection_file()
        # no heartbeat channel: on a loaded machine a heartbeat late by its 1 s makes
        # wait_for_ready call a live kernel dead; a kernel_info reply is what says it is up
        client.start_channels(hb=False)
        try:
            try:
                client.wait_for_ready(timeout)
            except RuntimeError as exc:
                with contextlib.suppress(OSError, KeyError):
                    exc = f"{exc}; the server says {self.kernel(kernel)['execution_state']}"
                raise AssertionError(
                    f"waited {timeout:.0f} s for the kernel {kernel} for {file} to answer kernel_info "
                    f"({exc}):\n{self.log_tail()}"
                ) from None
            msg_id = client.execute(WARM_IMPORTS, silent=True, store_history=False)
            while True:
                try:
                    reply = client.get_shell_msg(timeout=max(end - time.monotonic(), 30.0))
                except queue.Empty:
                    raise AssertionError(
                        f"waited {timeout:.0f} s for the kernel {kernel} to import {WARM_IMPORTS!r}"
                    ) from None
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"warming the kernel failed: {reply['content']}")
        finally:
            client.stop_channels()
        wait_until(
            lambda: self.kernel(kernel)["execution_state"] == "idle",
            max(end - time.monotonic(), 30.0),
            f"the warm kernel {kernel} for {file} to be idle (GET /api/kernels/{kernel})",
        )
        return kernel

    def shutdown_kernels(self, timeout: float = KERNEL_TIMEOUT) -> None:
        """End every session and its kernel (after each chapter, so kernels do not pile up), and
        wait until the server lists neither: the next test starts from no kernel at all."""
        self._remember()

        def gone():
            if self.proc is None or self.proc.poll() is not None:
                return True  # no server: no kernel of it either (`stop` ends what is left)
            sessions = self.api("/api/sessions") or []
            kernels = self.api("/api/kernels") or []
            for session in sessions:  # again for one whose DELETE timed out on a busy server
                with contextlib.suppress(OSError):
                    self.api(f"/api/sessions/{session['id']}", "DELETE", timeout=timeout)
            if not sessions:  # a kernel without a session
                for kernel in kernels:
                    with contextlib.suppress(OSError):
                        self.api(f"/api/kernels/{kernel['id']}", "DELETE", timeout=timeout)
            return not sessions and not kernels

        wait_until(gone, timeout, "the server to list no session and no kernel after shutting them down")

    def _remember(self) -> None:
        """Note the server and every process under it (kernels run in their own sessions)."""
        if self.proc is None:
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            top = psutil.Process(self.proc.pid)
            for p in [top, *top.children(recursive=True)]:
                self._seen.setdefault(p.pid, p)

    def processes(self) -> list[psutil.Process]:
        """The server and its descendants that are running now."""
        self._remember()
        return [p for p in self._seen.values() if _alive(p)]

    def outside_connections(self) -> list[str]:
        """Internet connections the server or its kernels hold to another host."""
        found = []
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                for c in p.net_connections(kind="inet"):
                    if c.raddr and c.raddr.ip not in LOOPBACK:
                        found.append(f"{p.name()}[{p.pid}] -> {c.raddr.ip}:{c.raddr.port}")
        return found

    def stop(self) -> None:
        """Shut down kernels and server; then end the process group and any kernel left over."""
        if self.proc is None:
            return
        self._remember()
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.api("/api/shutdown", "POST", timeout=API_TIMEOUT)  # shuts its kernels down too
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(60)
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(wait)
        for p in self._seen.values():  # kernels: each in its own session, so not in the group
            if _alive(p):
                with contextlib.suppress(psutil.Error):
                    p.kill()
                    p.wait(10)
        self.proc = None

    def leftovers(self) -> list[str]:
        """Processes this server started that still run, and any Jupyter child of this process."""
        left = {p.pid: p for p in self._seen.values() if _alive(p)}
        for p in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                line = " ".join(p.cmdline())
                if _alive(p) and any(k in line for k in ("jupyterlab", "jupyter-lab", "ipykernel")):
                    left[p.pid] = p
        out = []
        for p in left.values():
            with contextlib.suppress(psutil.Error):
                out.append(f"{p.pid}: {' '.join(p.cmdline())[:160]}")
        return out

    def log_tail(self, chars: int = 6000) -> str:
        """The end of the server's log (kernel tracebacks land here too)."""
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# --- the page ------------------------------------------------------------------------------

CELLS_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const status = panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status ?? null;
  const kernel = (panel.querySelector('.jp-Toolbar-kernelName')?.textContent ?? '').trim();
  const cells = Array.from(panel.querySelectorAll('.jp-Notebook .jp-CodeCell')).map((cell) => ({
    prompt: (cell.querySelector('.jp-InputPrompt')?.textContent ?? '').trim(),
    source: Array.from(cell.querySelectorAll('.cm-line'), (l) => l.textContent).join('\\n'),
  }));
  return {status, kernel, cells};
}"""
"""The open notebook's kernel status (the toolbar's execution indicator: ``idle`` also before
any kernel is attached), the kernel name its toolbar shows (``No Kernel`` until one is) and, per
code cell, its prompt (``[*]:``, ``[3]:``) and source."""

ERRORS_JS = """() => {
  const found = [];
  for (const out of document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')) {
    const mime = out.dataset.mimeType ?? '';
    const text = out.innerText ?? '';
    const cell = out.closest('.jp-CodeCell');
    const source = Array.from(cell?.querySelectorAll('.cm-line') ?? [], (l) => l.textContent).join('\\n');
    if (mime === 'application/vnd.jupyter.stderr' && /Traceback|Error|Exception/.test(text)) {
      found.push({source, text});
    } else if (text.includes('Error displaying widget')) {
      found.push({source, text});
    }
  }
  for (const broken of document.querySelectorAll('.jp-NotebookPanel .jupyter-widgets-error-widget')) {
    const cell = broken.closest('.jp-CodeCell');
    const source = Array.from(cell?.querySelectorAll('.cm-line') ?? [], (l) => l.textContent).join('\\n');
    found.push({source, text: 'a widget failed to display (ipywidgets error box): ' + broken.innerText});
  }
  const body = document.querySelector('.jp-NotebookPanel')?.innerText ?? '';
  if (!found.length && body.includes('Error displaying widget')) {
    found.push({source: '', text: 'Error displaying widget (outside an output area)'});
  }
  return found;
}"""
"""Error outputs (tracebacks on stderr) and widgets that failed to display (ipywidgets' error
box, "Error displaying widget"), with their cell."""

EXPLORERS_JS = """() => {
  if (!window.Bokeh) return [];
  const found = [];
  Bokeh.documents.forEach((doc, i) => {
    const sources = Array.from(doc.all_models)
      .filter((m) => m.data !== undefined && /^[^:]+:[^:]+$/.test(m.name ?? ''))
      .map((m) => m.name);
    if (!sources.length) return;
    const name = sources[0].split(':')[0];
    const root = doc.roots()[0];
    const view = root ? Bokeh.index.find_one(root) : undefined;
    const el = view?.el;
    let panel = el?.closest('.widget-vbox');
    while (panel && !panel.querySelector('.widget-toggle-buttons, .widget-dropdown, .widget-slider')) {
      panel = panel.parentElement?.closest('.widget-vbox');
    }
    if (!panel) return;
    panel.dataset.e2eExplorer = String(i);
    const box = el.getBoundingClientRect();
    const rendered = el.isConnected && box.width > 0 && box.height > 0;
    const values = (d) => (d instanceof Map ? Array.from(d.values()) : Object.values(d));
    const data = Array.from(doc.all_models).some(
      (m) => sources.includes(m.name) && values(m.data).some((column) => column.length > 0));
    // drawn: in the page with a size, data in its sources and every root painted (BokehJS's
    // document idle: each root view has finished its first render)
    found.push({doc: i, name, sources, rendered, drawn: rendered && data && doc.is_idle === true});
  });
  return found;
}"""
"""Every explorer in the page: a Bokeh document whose named sources sit in an ipywidgets panel
with controls; ``rendered`` (its root has a size in the page) and ``drawn`` (also data in
BokehJS and painted). Tags the panel with ``data-e2e-explorer`` for the locators."""

BOKEH_DOCS_JS = """() => window.Bokeh ? Bokeh.documents.map((doc) => doc.roots().every(
    (r) => { const v = Bokeh.index.find_one(r); return v != null && v.el.isConnected; })) : null"""
"""Per Bokeh document in the page: whether each root has a view in the page (null: no BokehJS)."""

SNAPSHOT_JS = """([i, name]) => {
  const entries = (d) => (d instanceof Map ? Array.from(d.entries()) : Object.entries(d));
  return JSON.stringify(Array.from(Bokeh.documents[i].all_models)
    .filter((m) => m.data !== undefined && (m.name ?? '').startsWith(name + ':'))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((m) => [m.name, entries(m.data).map(([k, v]) => [k, Array.from(v, (x) => (
        typeof x === 'number' || typeof x === 'string' || x === null ? x : String(x)))])]));
}"""
"""An explorer's plotted data, read through BokehJS: every source named ``<explorer>:*``."""


def _numbered(cell: dict) -> bool:
    """True when the cell's prompt shows an execution count, like ``[3]:``."""
    return cell["prompt"][1:-2].isdigit()


class ChapterTimeoutError(AssertionError):
    """A chapter's cells did not finish in time; the message names the cell that hung."""


class Chapter:
    """One chapter opened in JupyterLab in one browser page, driven as a learner would."""

    def __init__(self, page, server: LabServer, file: str):
        self.page = page
        self.server = server
        self.file = file
        self.opened_at = 0.0
        self.kernel_ready_s: float | None = None
        self.first_plot_s: float | None = None  # from opening the chapter to the first explorer drawn
        self.cell_times: list[tuple[float, int, str]] = []  # (seconds, cell number, first line)

    def open(self) -> None:
        """Open the chapter by its URL; it must become a notebook (jupytext), not a text editor."""
        self.opened_at = time.monotonic()
        self.page.goto(
            self.server.url(f"/lab/tree/{self.file}?reset"),
            wait_until="domcontentloaded",
            timeout=PAGE_TIMEOUT * 1000,
        )
        shown = self.page.wait_for_selector(".jp-NotebookPanel, .jp-FileEditor", timeout=PAGE_TIMEOUT * 1000)
        kind = shown.evaluate("(el) => el.classList.contains('jp-NotebookPanel') ? 'notebook' : 'text'")
        if kind != "notebook":
            raise AssertionError(
                f"{self.file} opened as plain text, not as a notebook: the jupytext default viewer "
                "setting (tools/lab_settings.py) did not reach JupyterLab"
            )
        self._wait_for_kernel(KERNEL_TIMEOUT)
        self.kernel_ready_s = time.monotonic() - self.opened_at

    def load_lab(self) -> None:
        """JupyterLab itself, with no document open, until its file browser lists the chapter."""
        self.page.goto(
            self.server.url("/lab?reset"), wait_until="domcontentloaded", timeout=PAGE_TIMEOUT * 1000
        )
        self._browser_item().wait_for(timeout=PAGE_TIMEOUT * 1000)

    def _browser_item(self):
        name = re.compile(f"^{re.escape(self.file)}$")
        text = self.page.locator(".jp-DirListing-itemText", has_text=name)
        return self.page.locator(".jp-DirListing-item").filter(has=text)

    def open_from_browser(self, kernel: str | None = None) -> None:
        """Open the chapter in the loaded JupyterLab by a double click in the file browser, as a
        learner does; the clock (`opened_at`) starts at the double click. With ``kernel``, wait
        until the notebook is attached to that (already running) kernel."""
        item = self._browser_item()
        self.opened_at = time.monotonic()
        item.dblclick()
        shown = self.page.wait_for_selector(".jp-NotebookPanel, .jp-FileEditor", timeout=PAGE_TIMEOUT * 1000)
        if shown.evaluate("(el) => !el.classList.contains('jp-NotebookPanel')"):
            raise AssertionError(f"{self.file} opened as plain text, not as a notebook")
        self._wait_for_kernel(KERNEL_TIMEOUT, kernel)
        self.kernel_ready_s = time.monotonic() - self.opened_at

    def wait_for_first_plot(self, timeout: float) -> float:
        """Seconds from `opened_at` to the first explorer drawn (in an explorer's panel, with a
        size, its data in BokehJS and painted); fails early with the error when a cell fails."""
        end = time.monotonic() + timeout
        drawn = f"() => ({EXPLORERS_JS})().some((e) => e.drawn)"
        while time.monotonic() < end:
            with contextlib.suppress(PlaywrightTimeout):
                self.page.wait_for_function(drawn, timeout=1000, polling=50)
                self.first_plot_s = time.monotonic() - self.opened_at
                return self.first_plot_s
            if errors := self.errors():
                raise AssertionError(f"{self.file}: a cell failed before the first explorer: {errors}")
        raise ChapterTimeoutError(
            f"{self.file}: no explorer drawn (a plot with a size, data and painted by BokehJS) "
            f"{timeout:.0f} s after opening; cells: {self.page.evaluate(CELLS_JS)}"
        )

    def _wait_for_kernel(self, timeout: float, kernel: str | None = None) -> None:
        """Until the notebook is attached to its kernel and the kernel is idle, seen from both ends.

        The page's execution indicator says ``idle`` from the moment the panel exists, before
        JupyterLab has even looked for a kernel, and a kernel started through the REST API is
        idle in the server all along: neither alone says the notebook is attached. So: the
        server has one session for the chapter (on ``kernel`` when given) whose kernel is idle
        with a websocket connected (the page's), and the page's toolbar names a kernel and says
        idle, on three reads in a row (the page's own kernel_info request may come in between).
        """
        steady = {"reads": 0}

        def attached():
            self._accept_kernel_dialog(kernel)
            sessions = self.server.sessions(self.file)
            page = self.page.evaluate(CELLS_JS) or {}
            model = self.server.kernel(sessions[0]["kernel"]["id"]) if len(sessions) == 1 else {}
            state = {
                "sessions": [s["kernel"]["id"] for s in sessions],
                "server": {k: model.get(k) for k in ("execution_state", "connections")},
                "page": {k: page.get(k) for k in ("status", "kernel")},
            }
            ok = (
                len(sessions) == 1
                and (kernel is None or sessions[0]["kernel"]["id"] == kernel)
                and model.get("execution_state") == "idle"
                and (model.get("connections") or 0) >= 1
                and page.get("status") == "idle"
                and page.get("kernel") not in ("", "No Kernel", None)
            )
            steady["reads"] = steady["reads"] + 1 if ok else 0
            return state if steady["reads"] >= 3 else None

        wanted = f"kernel {kernel}" if kernel else "its kernel"
        wait_until(attached, timeout, f"{self.file} attached to {wanted}, idle in the server and in the page")

    def _accept_kernel_dialog(self, kernel: str | None = None) -> None:
        """JupyterLab sometimes asks which kernel to start (when it reads the kernelspec late): a
        learner then clicks Select, which starts the chapter's own Python 3. Not when the notebook
        must attach to a running ``kernel``: Select would start another one, so that fails."""
        dialog = self.page.locator(KERNEL_DIALOG)
        with contextlib.suppress(PlaywrightError):
            if dialog.count() and "Select Kernel" in dialog.inner_text(timeout=1000):
                if kernel is not None:
                    raise AssertionError(
                        f"{self.file}: JupyterLab asked for a kernel instead of attaching to {kernel}"
                    )
                dialog.locator(".jp-mod-accept").click(timeout=5000)

    def run_all(self, timeout: float = KERNEL_TIMEOUT) -> None:
        """Run → Run All Cells, by clicking the menus, once the notebook is attached to its idle
        kernel (`open`); fails when no cell starts within ``timeout``.

        A second Run All would run every cell twice, so the menu is opened again only while its
        item is disabled (the notebook not yet the current document), never after the click."""
        started = (
            "() => { const s = (" + CELLS_JS + ")(); "
            "return s && s.cells.some((c) => c.prompt.startsWith('[*]') || /^\\[\\d+\\]/.test(c.prompt)); }"
        )
        has_code = bool(self.page.evaluate(CELLS_JS)["cells"])
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.page.get_by_role("menuitem", name="Run", exact=True).click()
            item = self.page.get_by_role("menuitem", name="Run All Cells", exact=True)
            item.wait_for(timeout=PAGE_TIMEOUT * 1000)
            if item.get_attribute("aria-disabled") == "true":  # the notebook is not current yet
                self.page.keyboard.press("Escape")
                self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.click(
                    position={"x": 5, "y": 5}
                )  # make it the current document; the menu is read again
                continue
            item.click()
            if not has_code:
                return  # a chapter without code cells: nothing starts
            try:
                self.page.wait_for_function(started, timeout=max(end - time.monotonic(), 1.0) * 1000)
                return
            except PlaywrightTimeout:
                break
        state = self.page.evaluate(CELLS_JS)
        raise AssertionError(
            f"{self.file}: Run → Run All Cells started no cell within {timeout:.0f} s ({state})"
        )

    def wait_until_done(self, timeout: float) -> list[dict]:
        """Wait until no cell runs and the kernel is idle; on timeout, name the cell that hung."""
        started = time.monotonic()
        end = started + timeout
        state, settled, done_at = None, 0, {}
        while time.monotonic() < end:
            self._accept_kernel_dialog()
            state = self.page.evaluate(CELLS_JS)
            self._note_first_plot()
            for i, cell in enumerate(state["cells"]):
                if _numbered(cell):
                    done_at.setdefault(i, time.monotonic())
            running = [c for c in state["cells"] if c["prompt"].startswith("[*]")]
            numbered = all(_numbered(c) for c in self._nonempty(state["cells"]))
            errors = self.page.evaluate(ERRORS_JS)
            if not running and state["status"] == "idle" and (numbered or errors):
                settled += 1
                if settled >= 3:  # idle on three polls in a row: not between two cells
                    self._time_cells(state["cells"], done_at, started)
                    return state["cells"]
            else:
                settled = 0
            time.sleep(0.25)
        cells = (state or {}).get("cells", [])
        hung = next((i for i, c in enumerate(cells) if c["prompt"].startswith("[*]")), None)
        if hung is None:  # none marked running: the first code cell that never got a number
            hung = next((cells.index(c) for c in self._nonempty(cells) if not _numbered(c)), None)
        if hung is None:
            raise ChapterTimeoutError(
                f"{self.file}: the kernel stayed busy for {timeout:.0f} s after the last cell"
            )
        raise ChapterTimeoutError(
            f"{self.file}: code cell {hung + 1} of {len(cells)} did not finish within {timeout:.0f} s "
            f"(prompt {cells[hung]['prompt'] or '[ ]:'}): {self._first_line(cells, hung)!r}"
        )

    def _nonempty(self, cells: list[dict]) -> list[dict]:
        """The code cells with code (JupyterLab does not number an empty cell it runs)."""
        sources = code_sources(self.server.root / self.file)
        if len(sources) != len(cells):
            sources = [c["source"] for c in cells]
        return [c for c, source in zip(cells, sources, strict=True) if source.strip()]

    def _time_cells(self, cells: list[dict], done_at: dict[int, float], started: float) -> None:
        """Each code cell's run time, seen from the page (to a poll, 0.25 s): slowest first."""
        previous, times = started, []
        for i in sorted(done_at):
            times.append((round(done_at[i] - previous, 2), i + 1, self._first_line(cells, i)))
            previous = done_at[i]
        self.cell_times = sorted(times, reverse=True)

    def _first_line(self, cells: list[dict], i: int) -> str:
        """The first line of code cell ``i`` (from the .md through jupytext: the page draws only
        the lines in view)."""
        sources = code_sources(self.server.root / self.file)
        source = sources[i] if len(sources) == len(cells) else cells[i]["source"]
        lines = [line for line in source.splitlines() if line.strip() and not line.startswith(("#|", ":"))]
        return lines[0][:80] if lines else ""

    def _note_first_plot(self) -> None:
        if self.first_plot_s is None and any(e["drawn"] for e in self.explorers()):
            self.first_plot_s = time.monotonic() - self.opened_at

    def errors(self) -> list[dict]:
        """Error outputs and widgets that failed to display."""
        return self.page.evaluate(ERRORS_JS)

    def explorers(self) -> list[dict]:
        """The explorers in the page (see ``EXPLORERS_JS``)."""
        return self.page.evaluate(EXPLORERS_JS)

    def unrendered_bokeh(self) -> list[int] | None:
        """Bokeh documents with a root that has no view in the page; None when BokehJS is absent."""
        docs = self.page.evaluate(BOKEH_DOCS_JS)
        return None if docs is None else [i for i, ok in enumerate(docs) if not ok]

    def snapshot(self, explorer: dict) -> str:
        """The explorer's plotted data, as BokehJS holds it in the page."""
        return self.page.evaluate(SNAPSHOT_JS, [explorer["doc"], explorer["name"]])

    def panel(self, explorer: dict):
        """The explorer's ipywidgets panel."""
        return self.page.locator(f'[data-e2e-explorer="{explorer["doc"]}"]')

    def idle_explorer(self, explorer: dict, timeout: float = 120.0) -> str:
        """Wait until the explorer is not computing (Stop disabled, data steady); its data then."""
        stop = self.panel(explorer).locator("button", has_text="Stop").first
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            now = self.snapshot(explorer)
            if now == last and stop.is_disabled() and "computing" not in self.status(explorer):
                return now
            last = now
            time.sleep(0.2)
        raise AssertionError(f"explorer {explorer['name']} of {self.file} kept computing for {timeout:.0f} s")

    def status(self, explorer: dict) -> str:
        """The explorer's status line."""
        return self.page.evaluate(STATUS_JS, explorer["doc"])

    def controls(self, explorer: dict) -> list[Control]:
        """Every way to change the explorer's controls, in page order: a click on a toggle
        button, an arrow key on a slider's handle, the next or previous option of a dropdown."""
        found: list[Control] = []
        for widget in self.panel(explorer).locator(CONTROL_WIDGETS).all():
            kind = widget.get_attribute("class") or ""
            if "widget-toggle-buttons" in kind:
                label = widget.locator(".widget-label").first.inner_text().strip()
                buttons = widget.locator("button.widget-toggle-button")
                found += [ToggleChoice(label, buttons, option) for option in range(buttons.count())]
            elif "widget-dropdown" in kind:
                found += [DropdownStep(widget, step) for step in (1, -1)]
            else:
                handle = widget.locator(".noUi-handle").first
                found += [SliderKey(widget, handle, key) for key in ("ArrowRight", "ArrowLeft")]
        return found

    def unselected_controls(self, explorer: dict) -> list[str]:
        """Controls that show no choice: a toggle group without an active button, a dropdown
        without a selected option."""
        return self.page.evaluate(UNSELECTED_JS, explorer["doc"])

    def redraw_after(self, explorer: dict, action, timeout: float) -> tuple[str, float] | None:
        """Do ``action()``; then ("redraw", seconds) when the plotted data changed, ("status",
        seconds) when only the status line did (a combination that cannot run), None on timeout."""
        before = [explorer["doc"], explorer["name"], self.snapshot(explorer), self.status(explorer)]
        started = time.monotonic()
        action()
        try:
            handle = self.page.wait_for_function(
                CHANGED_JS, arg=before, timeout=timeout * 1000, polling="raf"
            )
        except PlaywrightTimeout:
            return None
        return handle.json_value(), time.monotonic() - started


STATUS_JS = """(i) => document.querySelector(`[data-e2e-explorer="${i}"] .widget-html-content span[style]`)
    ?.textContent ?? ''"""
"""An explorer's status line (the header is bold text, the status a coloured span)."""

UNSELECTED_JS = """(i) => Array.from(document.querySelectorAll(
    `[data-e2e-explorer="${i}"] .widget-toggle-buttons, [data-e2e-explorer="${i}"] .widget-dropdown`))
  .filter((w) => w.classList.contains('widget-dropdown')
    ? w.querySelector('select').selectedIndex < 0
    : !w.querySelector('button.mod-active'))
  .map((w) => w.querySelector('.widget-label')?.textContent ?? '?')"""
"""Labels of an explorer's controls that show no selected choice."""

CHANGED_JS = f"""([i, name, data, status]) => {{
  if (({SNAPSHOT_JS})([i, name]) !== data) return 'redraw';
  const now = ({STATUS_JS})(i);
  return now !== status && !now.startsWith('computing') ? 'status' : false;
}}"""
"""What a control change did in the page: 'redraw' (new data), 'status' (only a new status)."""


class ToggleChoice:
    """One button of a ToggleButtons control; `back` clicks the button active before."""

    def __init__(self, label: str, buttons, option: int):
        self.buttons, self.option = buttons, option
        self.label = f"{label} {buttons.nth(option).inner_text().strip()}"
        self._previous = None

    def applicable(self) -> bool:
        """True when this button is not the selected one (a click changes the value)."""
        return "mod-active" not in (self.buttons.nth(self.option).get_attribute("class") or "")

    def forward(self) -> None:
        for i in range(self.buttons.count()):
            if "mod-active" in (self.buttons.nth(i).get_attribute("class") or ""):
                self._previous = i
        self.buttons.nth(self.option).click()

    def back(self) -> None:
        self.buttons.nth(self._previous).click()


CONTROL_WIDGETS = ".widget-toggle-buttons, .widget-slider, .widget-dropdown"
"""The ipywidgets an explorer's controls are (see gradwidgets/widgets/live.py)."""


class SliderKey:
    """A slider's handle moved one step by an arrow key; `back` is the opposite key."""

    def __init__(self, widget, handle, key: str):
        self.handle, self.key = handle, key
        self.back_key = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
        self.label = f"{widget.locator('.widget-label').first.inner_text().strip()} ({key})"

    def applicable(self) -> bool:
        """True when the key moves the value (it does not at the end of the range)."""
        now = float(self.handle.get_attribute("aria-valuenow"))
        end = float(
            self.handle.get_attribute("aria-valuemax" if self.key == "ArrowRight" else "aria-valuemin")
        )
        return now != end

    def forward(self) -> None:
        self.handle.focus()
        self.handle.press(self.key)

    def back(self) -> None:
        self.handle.focus()
        self.handle.press(self.back_key)


class DropdownStep:
    """A dropdown moved to the next (``step=1``) or previous option, as a learner picks one
    (Chromium's native list is not in the page, so Playwright chooses the option and fires
    the same input and change events)."""

    def __init__(self, widget, step: int):
        self.select, self.step = widget.locator("select").first, step
        self.label = f"{widget.locator('.widget-label').first.inner_text().strip()} ({step:+d})"

    def _index(self) -> tuple[int, int]:
        return tuple(self.select.evaluate("(el) => [el.selectedIndex, el.options.length]"))

    def applicable(self) -> bool:
        """True when there is an option in that direction."""
        index, count = self._index()
        return 0 <= index + self.step < count

    def forward(self) -> None:
        self.select.select_option(index=self._index()[0] + self.step)

    def back(self) -> None:
        self.select.select_option(index=self._index()[0] - self.step)


Control = ToggleChoice | SliderKey | DropdownStep
