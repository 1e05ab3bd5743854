"""The live face of an explorer: ipywidgets controls driving the PyTorch core in a kernel."""

from __future__ import annotations

import asyncio
import html
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as ipw
from bokeh.models import ColumnDataSource
from jupyter_bokeh import BokehModel

from ..plots.theme import STATUS_OK, STATUS_PROBLEM
from .spec import Control, Result, Spec

STREAM_INTERVAL = 0.1
"""Seconds between redraws of a streamed run (the first partial result is drawn at once)."""


class _LatestRunner:
    """One worker thread that always computes the most recent request, never a backlog.

    The worker leaves torch's thread count alone: ``torch.set_num_threads`` in any thread sets
    the count every thread started afterwards begins with (and MKL's), so it is the user's to
    choose. The worker computes with the process's setting: one thread after
    :func:`~gradwidgets.setup_notebook`, which is what a small network on a 2-core machine wants.
    A request whose work raises anything, even ``KeyboardInterrupt``, leaves the worker serving.
    """

    def __init__(self, work: Callable[[Any, threading.Event], None]):
        self._work = work
        self._cond = threading.Condition()
        self._pending: Any = None
        self._busy = False
        self.cancel = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gradwidgets-explorer", daemon=True)
        self._thread.start()

    def submit(self, request: Any) -> None:
        with self._cond:
            self._pending = request
            self.cancel.set()  # a running computation for an older request stops at its next step
            self._cond.notify_all()

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until nothing is pending or running; False on timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._pending is not None or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None:
                    self._cond.wait()
                request, self._pending = self._pending, None
                self.cancel.clear()
                self._busy = True
            try:
                self._work(request, self.cancel)
            except BaseException:  # the work shows its own failures; one it could not show is logged
                traceback.print_exc()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


def _widget(control: Control) -> ipw.ValueWidget:
    # The widget's values are option positions: ipywidgets shows a selection whose value is
    # None as nothing selected, and a click on it changes nothing (norm=None is an option).
    choices = list(zip(control.option_labels, range(len(control.options)), strict=True))
    default = control.index(control.default)
    style = {"description_width": "initial"}
    if control.numeric and len(control.options) > 2:
        return ipw.SelectionSlider(
            options=choices,
            value=default,
            description=control.label,
            style=style,
            continuous_update=True,
            layout=ipw.Layout(width="320px"),
        )
    if len(control.options) <= 4:
        return ipw.ToggleButtons(options=choices, value=default, description=control.label, style=style)
    return ipw.Dropdown(options=choices, value=default, description=control.label, style=style)


class LivePanel:
    """Controls, a status line, a progress bar, a Stop button and the figures, updated in place.

    Changing a control asks a worker thread for the new configuration; only the latest one is
    computed, and a newer request stops a running one. Results are applied by replacing each
    ``ColumnDataSource.data`` on the event loop that handled the change: with ipykernel 7,
    JupyterLab sends widget messages on a kernel subshell, whose thread runs its own loop and
    stays responsive while a cell runs on the main one.
    """

    def __init__(self, explorer: Spec):
        self.explorer = explorer
        self.config = explorer.default_config
        first = explorer.run(self.config)
        if not first.data:
            raise ValueError(
                f"the default configuration of explorer {explorer.name!r} computes no data: {first.status}"
            )
        self.sources = {
            name: ColumnDataSource(dict(cols), name=f"{explorer.name}:{name}")
            for name, cols in first.data.items()
        }
        self.plot = BokehModel(explorer.figures(self.sources), layout=ipw.Layout(width="100%"))
        self.controls = {c.name: _widget(c) for c in explorer.controls}
        self.status = ipw.HTML()
        self.progress = ipw.FloatProgress(value=0.0, min=0.0, max=1.0, layout=ipw.Layout(width="160px"))
        self.stop_button = ipw.Button(
            description="Stop", disabled=True, icon="stop", layout=ipw.Layout(width="90px")
        )
        self.stop_button.on_click(lambda _: self._stop.set())
        self._stop = threading.Event()
        self.computed: list[dict[str, Any]] = []  # every configuration the worker started, in order
        self._apply(first)
        self._loop = _running_loop()  # where results go when a change came from no running loop
        self._latest = 0  # number of the latest request; results of older ones are dropped
        self._runner = _LatestRunner(self._work)
        for c in explorer.controls:
            self.controls[c.name].observe(
                lambda change, c=c: self._on_change(c.name, c.options[change["new"]]), names="value"
            )
        header = ipw.HTML(f"<b>{html.escape(explorer.title)}</b>")
        self.widget = ipw.VBox(
            [
                header,
                ipw.HBox(
                    [self.controls[c.name] for c in explorer.controls if len(c.options) > 1],  # a choice
                    layout=ipw.Layout(flex_flow="row wrap"),
                ),
                ipw.HBox([self.status, self.progress, self.stop_button]),
                self.plot,
            ],
            layout=ipw.Layout(width="100%"),
        )

    def _on_change(self, name: str, value: Any) -> None:
        self.config = {**self.config, name: value}
        self.status.value = _status_html("computing…", False)
        self._latest += 1
        # Reply on the loop that is handling this change (a subshell's, in JupyterLab with
        # ipykernel 7): the main loop may be busy running a cell for minutes.
        self._runner.submit((self._latest, _running_loop() or self._loop, dict(self.config)))

    def _work(
        self,
        request: tuple[int, asyncio.AbstractEventLoop | None, Mapping[str, Any]],
        cancel: threading.Event,
    ) -> None:
        number, loop, config = request
        self.computed.append(dict(config))
        self._stop.clear()
        last_draw = [0.0]

        def emit(partial: Result) -> bool:
            if cancel.is_set() or self._stop.is_set():
                return True
            now = time.monotonic()
            if now - last_draw[0] >= STREAM_INTERVAL:
                last_draw[0] = now
                self._deliver(partial, True, number, loop)
            return False

        try:
            result = self.explorer.run(config, emit)
        except BaseException as err:  # KeyboardInterrupt, SystemExit: run turns only Exceptions into a status
            detail = f": {err}" if str(err) else ""
            status = f"interrupted by {type(err).__name__}{detail}; change a control to compute again"
            result = Result({}, status, problem=True)
        if cancel.is_set():
            return  # superseded by a newer configuration: its result would be stale
        if self._stop.is_set():
            result = Result(result.data, f"stopped. {result.status}", result.progress, result.problem)
        self._deliver(result, False, number, loop)

    def _deliver(
        self, result: Result, running: bool, number: int, loop: asyncio.AbstractEventLoop | None
    ) -> None:
        for target in (loop, self._loop):
            if target is not None and target.is_running():  # a deleted subshell's loop is not
                try:
                    target.call_soon_threadsafe(self._apply, result, running, number)
                    return
                except RuntimeError:  # closed meanwhile: try the next
                    continue
        self._apply(result, running, number)  # no loop (a plain script, the tests): apply here

    def _apply(self, result: Result, running: bool = False, number: int | None = None) -> None:
        if number is not None and number != self._latest:
            return  # a newer setting was asked for meanwhile: this result would be stale
        for name, cols in result.data.items():
            if name in self.sources:
                self.sources[name].data = dict(cols)
        self.status.value = _status_html(result.status, result.problem)
        self.progress.layout.visibility = "visible" if result.progress is not None else "hidden"
        if result.progress is not None:
            self.progress.value = float(result.progress)
        self.stop_button.disabled = not running

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until the latest configuration has been computed and applied (for tests)."""
        return self._runner.wait(timeout)

    def set(self, **values: Any) -> None:
        """Set controls by name, as a learner would."""
        controls = {c.name: c for c in self.explorer.controls}
        for name, value in values.items():
            self.controls[name].value = controls[name].index(value)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self.widget._repr_mimebundle_(include=include, exclude=exclude)

    def __repr__(self) -> str:
        return f"LivePanel({self.explorer.name!r}, config={self.config!r})"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _status_html(text: str, problem: bool) -> str:
    color = STATUS_PROBLEM if problem else STATUS_OK
    return f'<span style="color:{color}">{html.escape(text)}</span>'
