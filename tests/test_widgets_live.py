"""gradwidgets.widgets.live: the live face, an ipywidgets panel, in-process (no browser)."""

import time

import numpy as np
from bokeh.plotting import figure
from test_widgets_explorer import _compute, _figures, make

from gradwidgets.widgets.explorer import Control, Explorer, Result
from gradwidgets.widgets.live import STREAM_INTERVAL


def test_live_panel_controls_update_the_source_to_what_the_core_computes():
    panel = make().live()
    labels = [w.description for w in panel.controls.values()]
    assert labels == ["Depth", "Activation"]
    panel.set(depth=16, activation="sigmoid")
    assert panel.wait(30)
    expected = _compute({"depth": 16, "activation": "sigmoid"}, None).data["g"]["value"]
    np.testing.assert_array_equal(panel.sources["g"].data["value"], expected)
    assert "first/last" in panel.status.value


def test_fifty_rapid_changes_compute_only_the_latest():
    panel = make().live()
    depths, acts = (2, 4, 8, 16), ("tanh", "sigmoid", "relu")
    for i in range(50):
        panel.set(depth=depths[i % 4], activation=acts[i % 3])
    panel.set(depth=8, activation="relu")
    assert panel.wait(30)
    assert panel.computed[-1] == {"depth": 8, "activation": "relu"}
    assert len(panel.computed) < 10  # far fewer than the 101 value changes
    expected = _compute({"depth": 8, "activation": "relu"}, None).data["g"]["value"]
    np.testing.assert_array_equal(panel.sources["g"].data["value"], expected)


def test_a_failing_setting_shows_a_status_and_keeps_the_last_plot():
    panel = make().live()
    before = panel.sources["g"].data["value"].copy()
    panel.set(activation="boom")
    assert panel.wait(30)
    assert "kaboom" in panel.status.value and "#D55E00" in panel.status.value
    np.testing.assert_array_equal(panel.sources["g"].data["value"], before)


def _streamed(cfg, emit):
    rows = []
    for step in range(cfg["steps"]):
        time.sleep(0.002)
        rows.append(float(step))
        partial = Result(
            {"s": {"x": np.array(rows), "y": np.array(rows)}}, f"step {step}", (step + 1) / cfg["steps"]
        )
        if emit(partial):
            return Result(partial.data, f"stopped after step {step}", partial.progress)
    return Result({"s": {"x": np.array(rows), "y": np.array(rows)}}, "done", 1.0)


def _stream_fig(sources):
    fig = figure()
    fig.line("x", "y", source=sources["s"])
    return fig


def test_streamed_runs_update_as_they_go_and_stop():
    ex = Explorer("stream", "Stream", (Control("steps", "Steps", (5, 2000), 5),), _streamed, _stream_fig)
    panel = ex.live()
    seen = []
    panel.sources["s"].on_change("data", lambda attr, old, new: seen.append(len(new["x"])))
    t0 = time.monotonic()
    panel.set(steps=2000)
    while not seen and time.monotonic() - t0 < 5:
        time.sleep(0.005)
    first_update = time.monotonic() - t0
    assert seen and seen[0] < 2000  # a partial result arrived before the end
    assert first_update < 1.0
    assert not panel.stop_button.disabled
    panel.stop_button.click()
    assert panel.wait(30)
    assert panel.status.value.count("stopped") >= 1
    assert len(panel.sources["s"].data["x"]) < 2000
    assert panel.stop_button.disabled


def test_a_none_option_is_selectable_and_shown_by_its_label():
    # ipywidgets shows a selection whose value is None as nothing selected: the widgets hold
    # option positions, so norm=None is a choice like any other.
    def compute(cfg, emit):
        y = np.array([0.0 if cfg["norm"] is None else 1.0])
        return Result({"g": {"x": np.array([0.0]), "y": y}}, "ok")

    ex = Explorer(
        "nones",
        "None as an option",
        (Control("norm", "Normalization", (None, "batch"), option_labels=("none", "batch")),),
        compute,
        _stream_fig_y,
    )
    panel = ex.live()
    widget = panel.controls["norm"]
    assert widget.label == "none" and [label for label, _ in widget.options] == ["none", "batch"]
    panel.set(norm="batch")
    assert panel.wait(30) and list(panel.sources["g"].data["y"]) == [1.0]
    widget.value = 0  # what a click on "none" sends
    assert panel.wait(30)
    assert panel.config == {"norm": None} and list(panel.sources["g"].data["y"]) == [0.0]


def _stream_fig_y(sources):
    fig = figure()
    fig.scatter("x", "y", source=sources["g"])
    return fig


def _loop_thread(name):
    """An event loop running in its own thread, as a kernel subshell has one."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=name, daemon=True)
    thread.start()
    return loop, thread


def _on_loop(loop, fn):
    import concurrent.futures

    done = concurrent.futures.Future()

    def run():
        try:
            done.set_result(fn())
        except Exception as exc:  # surfaced by done.result() in the test's thread
            done.set_exception(exc)

    loop.call_soon_threadsafe(run)
    return done.result(60)


def test_results_are_applied_on_the_loop_that_handled_the_change():
    import threading

    panel = make().live()  # built with no running loop, like a panel made from a script
    applied_on = []
    panel.sources["g"].on_change("data", lambda a, o, n: applied_on.append(threading.current_thread().name))
    loop, thread = _loop_thread("subshell")
    try:
        _on_loop(loop, lambda: panel.set(depth=8))
        assert panel.wait(30)
        _on_loop(loop, lambda: None)  # the reply was queued on the loop before the worker went idle
        assert applied_on == ["subshell"]
        expected = _compute({"depth": 8, "activation": "tanh"}, None).data["g"]["value"]
        np.testing.assert_array_equal(panel.sources["g"].data["value"], expected)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_a_result_that_arrives_after_a_newer_change_is_never_drawn():
    panel = make().live()
    drawn = []
    panel.sources["g"].on_change("data", lambda a, o, n: drawn.append(len(n["value"])))
    loop, thread = _loop_thread("subshell")

    def two_changes():
        panel.set(depth=16)
        assert panel.wait(30)  # depth 16 is computed; its reply waits on this (busy) loop
        panel.set(depth=2)

    try:
        _on_loop(loop, two_changes)
        assert panel.wait(30)
        _on_loop(loop, lambda: None)
        assert drawn == [2]  # depth 16's result, older than the change to 2, was dropped
        assert panel.config["depth"] == 2
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _thread_count_seen_by_a_new_thread():
    import threading

    import torch

    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join(10)
    return seen[0]


def _threads_explorer(seen):
    import torch

    def compute(cfg, emit):
        seen.append(torch.get_num_threads())
        return _compute(cfg, emit)

    controls = (Control("depth", "Depth", (2, 4), 2), Control("activation", "Activation", ("tanh",)))
    return Explorer("threads", "Threads", controls, compute, _figures)


def test_the_live_worker_leaves_the_users_torch_thread_count_as_it_was():
    # torch.set_num_threads in any thread sets the count every later thread starts with (and
    # MKL's): a worker that set 1 for itself changed it for the whole process.
    import torch

    torch.set_num_threads(2)  # the user's choice (the conftest sets 1 again for the next test)
    seen = []
    panel = _threads_explorer(seen).live()
    panel.set(depth=4)
    assert panel.wait(30) and len(seen) == 2  # the default in this thread, then depth 4 in the worker
    assert torch.get_num_threads() == 2
    assert _thread_count_seen_by_a_new_thread() == 2
    assert seen[-1] == 2  # the worker computes with the user's setting


def test_after_setup_notebook_the_live_worker_computes_on_one_thread(monkeypatch):
    import torch

    import gradwidgets as gw

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("GRADWIDGETS_BAKE", "1")  # no BokehJS output in a test
    torch.set_num_threads(2)
    gw.setup_notebook()
    seen = []
    panel = _threads_explorer(seen).live()
    panel.set(depth=4)
    assert panel.wait(30)
    assert seen[-1] == 1 == torch.get_num_threads()


def _interrupted(cfg, emit):
    if cfg["depth"] == 4:
        for step in range(3):
            emit(Result({"g": {"layer": np.arange(3.0), "value": np.full(3, step + 1.0)}}, "step", 0.5))
            time.sleep(STREAM_INTERVAL)
        raise KeyboardInterrupt
    return _compute(cfg, emit)


def test_a_keyboard_interrupt_in_the_worker_ends_in_a_status_and_the_panel_keeps_working():
    controls = (Control("depth", "Depth", (2, 4, 8), 2), Control("activation", "Activation", ("tanh",)))
    panel = Explorer("interrupt", "Interrupt", controls, _interrupted, _figures).live()
    panel.set(depth=4)
    assert panel.wait(30)
    assert "interrupted by KeyboardInterrupt" in panel.status.value and "#D55E00" in panel.status.value
    assert panel.stop_button.disabled  # not left "running"
    assert panel.progress.layout.visibility == "hidden"
    panel.set(depth=8)  # the worker still serves
    assert panel.wait(10)
    expected = _compute({"depth": 8, "activation": "tanh"}, None).data["g"]["value"]
    np.testing.assert_array_equal(panel.sources["g"].data["value"], expected)
    assert "first/last" in panel.status.value


def test_a_control_with_a_single_choice_is_not_shown():
    controls = (Control("depth", "Depth", (2, 4), 2), Control("activation", "Activation", ("tanh",)))

    def compute(cfg, emit):
        return _compute({**cfg, "activation": "tanh"}, emit)

    panel = Explorer("single", "Single", controls, compute, _figures).live()
    shown = panel.widget.children[1].children
    assert panel.controls["depth"] in shown and panel.controls["activation"] not in shown
