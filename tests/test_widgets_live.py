"""gradwidgets.widgets.live: the live face, an ipywidgets panel, in-process (no browser)."""

import time

import numpy as np
from bokeh.plotting import figure
from test_widgets_explorer import _compute, _figures, make

from gradwidgets.widgets.explorer import Control, Explorer, Result


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


def test_the_live_worker_computes_on_one_torch_thread_and_leaves_the_kernels_setting():
    import torch

    from gradwidgets.widgets import live

    seen = []

    def compute(cfg, emit):
        seen.append(torch.get_num_threads())
        return _compute(cfg, emit)

    controls = (Control("depth", "Depth", (2, 4), 2), Control("activation", "Activation", ("tanh",)))
    main = torch.get_num_threads()
    panel = Explorer("threads", "Threads", controls, compute, _figures).live()
    panel.set(depth=4)
    assert panel.wait(30)
    assert seen[-1] == live.WORKER_THREADS == 1
    assert torch.get_num_threads() == main
