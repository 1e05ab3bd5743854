"""The static face: precomputed results switched by Bokeh widgets in the browser, no kernel."""

import numpy as np
import pytest
from _browser import MODEL_ATTR_JS, SOURCE_COLUMN_JS, browser_page, serve
from bokeh.embed import json_item
from bokeh.models import ColumnDataSource, CustomJS, RadioButtonGroup, Select, Slider
from test_widgets_explorer import _compute, _figures, make

import gradwidgets.explorers.flow as flow_module
from gradwidgets.explorers import gradient_flow
from gradwidgets.widgets import Control, Explorer
from gradwidgets.widgets.shards import read_script, unpack
from gradwidgets.widgets.static import save_html

SET_VALUE_JS = """([name, value]) => {
  for (const doc of Bokeh.documents) {
    const m = doc.get_model_by_name(name);
    if (m) { m.value = value; return true; }
  }
  return false;
}"""


def _callback(layout) -> CustomJS:
    callbacks = {m for m in layout.references() if isinstance(m, CustomJS) and "index" in m.args}
    assert len(callbacks) == 1
    return callbacks.pop()


def test_bake_precomputes_every_grid_point_into_the_page_without_a_directory(monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    args = _callback(make().static()).args
    index, inline = args["index"], args["inline"]
    assert set(index) == {f"{d}-{a}" for d in range(4) for a in range(4)}
    assert set(index.values()) == set(inline)  # every shard is in the page
    shard = unpack(inline[index["3-1"]])
    expected = _compute({"depth": 16, "activation": "sigmoid"}, None)
    np.testing.assert_array_equal(shard["data"]["g"]["value"], expected.data["g"]["value"].astype(np.float32))
    assert shard["status"] == expected.status and shard["problem"] is False
    boom = unpack(inline[index["0-3"]])
    assert boom["data"] == {} and "kaboom" in boom["status"] and boom["problem"] is True


def test_the_default_setting_is_drawn_from_the_page_and_is_one_source_per_name(monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    layout = make().static()
    (source,) = [m for m in layout.references() if isinstance(m, ColumnDataSource)]
    expected = _compute({"depth": 4, "activation": "tanh"}, None).data["g"]["value"]
    np.testing.assert_array_equal(source.data["value"], expected.astype(np.float32))


def test_numbers_get_a_slider_words_get_buttons_and_a_single_choice_no_control(monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    controls = (
        Control("depth", "Depth", (2, 4, 8, 16), 4),
        Control("activation", "Activation", ("tanh", "sigmoid")),
        Control("width", "Width", (32,)),
        Control("init", "Init", tuple("abcdefg")),
    )

    def compute(cfg, emit):
        return _compute({"depth": cfg["depth"], "activation": cfg["activation"]}, emit)

    layout = Explorer("mixed", "Mixed", controls, compute, _figures).static(
        configs=[{"depth": d} for d in (2, 4)]
    )
    args = _callback(layout).args
    assert args["kinds"] == ["index", "active", "none", "label"]
    slider, buttons, hidden, select = args["controls"]
    assert isinstance(slider, Slider) and (slider.start, slider.end, slider.value) == (0, 3, 1)
    assert isinstance(buttons, RadioButtonGroup) and hidden is None and isinstance(select, Select)
    assert not [m for m in layout.references() if getattr(m, "name", "") == "mixed:control:width"]
    assert set(args["index"]) == {"0-0-0-0", "1-0-0-0"}  # the configs asked for, default included


def test_a_book_build_writes_shards_and_a_rebuild_computes_nothing_again(tmp_path, monkeypatch):
    calls = []
    real = flow_module._mlp_profile

    def counted(*a, **kw):
        calls.append(a[0])
        return real(*a, **kw)

    monkeypatch.setattr(flow_module, "_mlp_profile", counted)
    ex = gradient_flow(
        depths=(2, 3),
        activations=("tanh", "relu"),
        inits=("xavier_normal",),
        norms=(None,),
        residual=(False,),
    )
    args = _callback(ex.static(shards=tmp_path)).args
    assert len(calls) == 4 and args["inline"] == {}
    files = sorted(p.stem for p in tmp_path.glob("*.js"))
    assert files == sorted(args["index"].values()) and len(files) == 4
    shard = unpack(read_script(tmp_path / f"{args['index']['1-1']}.js"))
    assert len(shard["data"]["grads"]["layer"]) == 3  # depth 3, ReLU: computed for that setting
    again = _callback(ex.static(shards=tmp_path)).args
    assert len(calls) == 4 and again["index"] == args["index"]
    wider = gradient_flow(
        depths=(2, 3),
        activations=("tanh", "relu"),
        inits=("xavier_normal",),
        norms=(None,),
        residual=(False,),
        width=32,
    )
    other = _callback(wider.static(shards=tmp_path)).args
    assert len(calls) == 8 and not set(other["index"].values()) & set(args["index"].values())


def test_baked_page_is_small(monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    assert len(str(json_item(make().static()))) < 1_000_000


def _switch_and_check(page, explorer_name="test"):
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    before = page.evaluate(SOURCE_COLUMN_JS, [f"{explorer_name}:g", "value"])
    expected = _compute({"depth": 4, "activation": "tanh"}, None).data["g"]["value"]
    np.testing.assert_allclose(before, expected.astype(np.float32), rtol=1e-6)
    assert page.evaluate(SET_VALUE_JS, [f"{explorer_name}:control:depth", 3])  # the slider to 16
    page.get_by_role("button", name="sigmoid").click()
    wanted = _compute({"depth": 16, "activation": "sigmoid"}, None).status
    # the last change wins: wait for its status, not for any 16-layer result
    page.wait_for_function(f"(s) => ({MODEL_ATTR_JS})(['{explorer_name}:status', 'text']) === s", arg=wanted)
    after = page.evaluate(SOURCE_COLUMN_JS, [f"{explorer_name}:g", "value"])
    expected = _compute({"depth": 16, "activation": "sigmoid"}, None).data["g"]["value"]
    np.testing.assert_allclose(after, expected.astype(np.float32), rtol=1e-6)
    page.get_by_role("button", name="boom").click()
    page.wait_for_function(f"() => ({MODEL_ATTR_JS})(['{explorer_name}:status', 'text']).includes('kaboom')")
    assert "not precomputed" not in page.evaluate(MODEL_ATTR_JS, [f"{explorer_name}:status", "text"])


@pytest.mark.browser
def test_static_face_switches_data_in_chromium_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    path = save_html(make().static(), str(tmp_path / "explorer.html"))
    with browser_page() as bp:
        bp.page.goto(f"file://{path}")
        _switch_and_check(bp.page)
        assert bp.blocked == [] and bp.console_errors == []


@pytest.mark.browser
@pytest.mark.parametrize("how", ["file", "http"])
def test_shards_load_on_demand_from_disk_and_from_a_server(tmp_path, how):
    layout = make().static(shards=tmp_path / "baked", base="baked/")
    path = save_html(layout, str(tmp_path / "explorer.html"))
    assert len((tmp_path / "baked").glob("*.js").__iter__().__next__().read_text()) > 0
    server = serve(tmp_path) if how == "http" else None
    url = f"http://127.0.0.1:{server.server_address[1]}/explorer.html" if server else f"file://{path}"
    requested = []
    try:
        with browser_page() as bp:
            bp.page.on("request", lambda r: requested.append(r.url))
            bp.page.goto(url)
            _switch_and_check(bp.page)
            assert bp.blocked == [] and bp.console_errors == []
    finally:
        if server:
            server.shutdown()
            server.server_close()
    shards = [u for u in requested if "/baked/gw-" in u]
    assert shards and len(shards) < 16  # fetched on demand (with neighbours), not the whole grid


@pytest.mark.browser
def test_a_missing_shard_is_a_status_line_and_a_console_error_not_a_silent_plot(tmp_path):
    layout = make().static(shards=tmp_path / "baked", base="baked/")
    path = save_html(layout, str(tmp_path / "explorer.html"))
    for shard in (tmp_path / "baked").glob("*.js"):
        shard.unlink()
    with browser_page() as bp:
        bp.page.goto(f"file://{path}")
        bp.page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
        bp.page.get_by_role("button", name="sigmoid").click()
        bp.page.wait_for_function(
            f"() => ({MODEL_ATTR_JS})(['test:status', 'text']).includes('could not be loaded')"
        )
        assert any("unreadable" in e for e in bp.console_errors)


def test_a_setting_whose_computation_failed_is_computed_again_on_a_rebuild(tmp_path, monkeypatch):
    calls = []
    real = flow_module._mlp_profile

    def flaky(cfg, *a, **kw):
        calls.append(cfg["depth"])
        if cfg["depth"] == 3 and calls.count(3) == 1:
            raise MemoryError("out of memory, once")
        return real(cfg, *a, **kw)

    monkeypatch.setattr(flow_module, "_mlp_profile", flaky)
    ex = gradient_flow(
        depths=(2, 3),
        activations=("tanh",),
        inits=("xavier_normal",),
        norms=(None,),
        residual=(False,),
        depth=2,
    )
    first = _callback(ex.static(shards=tmp_path)).args["index"]
    assert "could not compute" in unpack(read_script(tmp_path / f"{first['1']}.js"))["status"]
    again = _callback(ex.static(shards=tmp_path)).args["index"]
    assert calls == [2, 3, 3] and again["0"] == first["0"] and again["1"] != first["1"]
    assert "could not compute" not in unpack(read_script(tmp_path / f"{again['1']}.js"))["status"]
