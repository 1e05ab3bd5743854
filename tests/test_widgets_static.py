"""The static face: precomputed results switched by HTML controls in the browser, no kernel."""

import re
from pathlib import Path

import numpy as np
import pytest
from _browser import SOURCE_COLUMN_JS, browser_page, page_file, serve
from bokeh.models import ColumnDataSource
from bokeh.util.paths import bokehjs_path
from test_widgets_explorer import _compute, _figures, make

import gradwidgets.explorers.flow as flow_module
from gradwidgets.explorers import gradient_flow
from gradwidgets.widgets import Control, Explorer
from gradwidgets.widgets.shards import read_script, unpack
from gradwidgets.widgets.static import save_html, static_html

STATUS_JS = "() => document.querySelector('.gw-status').textContent"


def test_bake_precomputes_every_grid_point_into_the_page_without_a_directory(monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    face = make().static()
    index, inline = face.index, face.inline
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
    layout = make().static().layout
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

    face = Explorer("mixed", "Mixed", controls, compute, _figures).static(
        configs=[{"depth": d} for d in (2, 4)]
    )
    assert [c.kind for c in face.controls] == ["slider", "buttons", "none", "select"]
    assert face.controls[0].labels == ("2", "4", "8", "16") and face.controls[0].active == 1
    assert set(face.index) == {"0-0-0-0", "1-0-0-0"}  # the configs asked for, default included
    html = static_html(face)
    slider = re.search(r'<input type="range"[^>]*>', html).group(0)
    assert 'min="0"' in slider and 'max="3"' in slider and 'value="1"' in slider
    assert html.count('type="radio"') == 2 and re.search(r'value="0" checked>', html)
    assert html.count("<option") == 7 and "Width" not in html  # a single choice shows no control


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
    face = ex.static(shards=tmp_path)
    assert len(calls) == 4 and face.inline == {}
    files = sorted(p.stem for p in tmp_path.glob("*.js"))
    assert files == sorted(face.index.values()) and len(files) == 4
    shard = unpack(read_script(tmp_path / f"{face.index['1-1']}.js"))
    assert len(shard["data"]["grads"]["layer"]) == 3  # depth 3, ReLU: computed for that setting
    again = ex.static(shards=tmp_path)
    assert len(calls) == 4 and again.index == face.index
    wider = gradient_flow(
        depths=(2, 3),
        activations=("tanh", "relu"),
        inits=("xavier_normal",),
        norms=(None,),
        residual=(False,),
        width=32,
    )
    other = wider.static(shards=tmp_path)
    assert len(calls) == 8 and not set(other.index.values()) & set(face.index.values())


def test_baked_page_is_small(monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    assert len(static_html(make().static())) < 1_000_000


def _switch_and_check(page, explorer_name="test"):
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    before = page.evaluate(SOURCE_COLUMN_JS, [f"{explorer_name}:g", "value"])
    expected = _compute({"depth": 4, "activation": "tanh"}, None).data["g"]["value"]
    np.testing.assert_allclose(before, expected.astype(np.float32), rtol=1e-6)
    page.get_by_role("slider", name="Depth").fill("3")  # to 16
    assert page.get_by_role("slider", name="Depth").get_attribute("aria-valuetext") == "16"
    page.get_by_role("radio", name="sigmoid").check()
    wanted = _compute({"depth": 16, "activation": "sigmoid"}, None).status
    # the last change wins: wait for its status, not for any 16-layer result
    page.wait_for_function(f"(s) => ({STATUS_JS})() === s", arg=wanted)
    after = page.evaluate(SOURCE_COLUMN_JS, [f"{explorer_name}:g", "value"])
    expected = _compute({"depth": 16, "activation": "sigmoid"}, None).data["g"]["value"]
    np.testing.assert_allclose(after, expected.astype(np.float32), rtol=1e-6)
    page.get_by_role("radio", name="boom").check()
    page.wait_for_function(f"() => ({STATUS_JS})().includes('kaboom')")
    assert "not precomputed" not in page.evaluate(STATUS_JS)


@pytest.fixture
def inline_page(tmp_path, monkeypatch):
    """The small explorer's static face, every shard in the page, opened from disk."""
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    path = save_html(make().static(), str(tmp_path / "explorer.html"))
    with browser_page() as bp:
        bp.page.goto(f"file://{path}")
        yield bp


@pytest.mark.browser
def test_static_face_switches_data_in_chromium_offline(inline_page):
    _switch_and_check(inline_page.page)
    assert inline_page.blocked == [] and inline_page.console_errors == []


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
        bp.page.get_by_role("radio", name="sigmoid").check()
        bp.page.wait_for_function(f"() => ({STATUS_JS})().includes('could not be loaded')")
        assert any("could not be shown" in e and "could not load" in e for e in bp.console_errors)


@pytest.mark.browser
def test_a_face_whose_plots_cannot_be_drawn_says_so_and_does_not_wait_forever(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    path = Path(save_html(make().static(), str(tmp_path / "explorer.html")))
    text = path.read_text(encoding="utf8")
    broken = re.sub(r'(<script type="application/gzip" id="[^"]+">)[^<]+', r"\1AAAA", text, count=1)
    assert broken != text
    path.write_text(broken, encoding="utf8")
    with browser_page() as bp:
        bp.page.goto(f"file://{path}")
        bp.page.wait_for_load_state("load")
        bp.page.get_by_role("radio", name="sigmoid").check()
        bp.page.wait_for_function(f"() => ({STATUS_JS})().includes('could not be drawn')", timeout=10_000)
        assert any("failed to render" in e for e in bp.console_errors)
        assert any("were not drawn" in e for e in bp.console_errors)


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
    first = ex.static(shards=tmp_path).index
    assert "could not compute" in unpack(read_script(tmp_path / f"{first['1']}.js"))["status"]
    again = ex.static(shards=tmp_path).index
    assert calls == [2, 3, 3] and again["0"] == first["0"] and again["1"] != first["1"]
    assert "could not compute" not in unpack(read_script(tmp_path / f"{again['1']}.js"))["status"]


FACE_COLUMN_JS = """async ([n, column]) => {
  const face = Array.from(gradwidgetsFaces.faces.values())[n];
  const d = (await face.drawn()).get("g").data;
  return Array.from(d instanceof Map ? d.get(column) : d[column]);
}"""


@pytest.mark.browser
def test_two_faces_on_a_page_switch_apart_with_bokehjs_alone(tmp_path, monkeypatch):
    """The page loads only BokehJS's main bundle (no widgets bundle); a change in one face moves
    its own figures, not the other's, though both name their source ``test:g``."""
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    bokehjs = Path(bokehjs_path()) / "js" / "bokeh.min.js"
    body = static_html(make().static()) + static_html(make().static())
    url = page_file(tmp_path / "two.html", body, [bokehjs])
    four = _compute({"depth": 4, "activation": "tanh"}, None).data["g"]["value"].astype(np.float32)
    sixteen = _compute({"depth": 16, "activation": "tanh"}, None).data["g"]["value"].astype(np.float32)
    with browser_page() as bp:
        bp.page.goto(url)
        assert bp.page.evaluate("() => gradwidgetsFaces.faces.size") == 2
        bp.page.get_by_role("slider", name="Depth").nth(1).fill("3")
        bp.page.wait_for_function("() => Array.from(gradwidgetsFaces.faces.values())[1].applied > 0")
        np.testing.assert_allclose(bp.page.evaluate(FACE_COLUMN_JS, [1, "value"]), sixteen, rtol=1e-6)
        np.testing.assert_allclose(bp.page.evaluate(FACE_COLUMN_JS, [0, "value"]), four, rtol=1e-6)
        assert bp.page.get_by_role("slider", name="Depth").nth(0).get_attribute("aria-valuetext") == "4"
        assert bp.blocked == [] and bp.console_errors == []


@pytest.mark.browser
def test_the_controls_work_from_the_keyboard(inline_page):
    inline_page.page.get_by_role("slider", name="Depth").focus()
    inline_page.page.keyboard.press("ArrowRight")  # 4 -> 8 layers
    wanted = _compute({"depth": 8, "activation": "tanh"}, None).status
    inline_page.page.wait_for_function(f"(s) => ({STATUS_JS})() === s", arg=wanted)
    inline_page.page.get_by_role("radio", name="tanh").focus()
    inline_page.page.keyboard.press("ArrowRight")  # the next button: sigmoid
    wanted = _compute({"depth": 8, "activation": "sigmoid"}, None).status
    inline_page.page.wait_for_function(f"(s) => ({STATUS_JS})() === s", arg=wanted)
    values = inline_page.page.evaluate(SOURCE_COLUMN_JS, ["test:g", "value"])
    expected = _compute({"depth": 8, "activation": "sigmoid"}, None).data["g"]["value"]
    np.testing.assert_allclose(values, expected.astype(np.float32), rtol=1e-6)
    assert inline_page.console_errors == []
