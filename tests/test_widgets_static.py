"""The static face: precomputed results switched by Bokeh widgets in the browser, no kernel."""

import numpy as np
import pytest
from _browser import MODEL_ATTR_JS, SOURCE_COLUMN_JS, browser_page
from bokeh.embed import json_item
from bokeh.models import ColumnDataSource, CustomJS
from test_widgets_explorer import _compute, make

from gradwidgets.widgets.static import compact, pack, save_html, unpack


def test_compact_stores_float32_and_text():
    out = compact({"a": np.arange(3.0), "b": np.array(["x", "y", "z"]), "c": np.arange(3)})
    assert out["a"].dtype == np.float32 and out["c"].dtype == np.int32 and out["b"] == ["x", "y", "z"]


def test_compact_keeps_float64_where_float32_would_show_inf_or_zero():
    out = compact(
        {
            "big": np.array([1.0, 1e45]),
            "tiny": np.array([1.0, 1e-42]),
            "bad": np.array([np.nan, np.inf, 0.0, 2.0]),
        }
    )
    assert out["big"].dtype == np.float64 and np.isfinite(out["big"]).all()
    assert out["tiny"].dtype == np.float64 and out["tiny"][1] == 1e-42
    assert out["bad"].dtype == np.float32  # non-finite values and zeros are what they are


def test_bake_precomputes_every_grid_point():
    layout = make().static()
    callbacks = [m for m in layout.references() if isinstance(m, CustomJS)]
    assert len(callbacks) == 1
    # one string, which BokehJS does not decode before drawing (the callback parses it)
    assert isinstance(callbacks[0].args["baked"], str)
    baked = unpack(callbacks[0].args["baked"])
    store, tables = baked["store"], baked["tables"]
    assert len(store) == 12  # 16 grid points minus the 4 'boom' ones, which carry only a status
    assert set(baked["statuses"]) == {f"{d}-{a}" for d in range(4) for a in range(4)}
    baked = tables[store["3-1"]["g"]]["value"]
    expected = _compute({"depth": 16, "activation": "sigmoid"}, None).data["g"]["value"]
    np.testing.assert_array_equal(baked, expected.astype(np.float32))
    # plain data, not Bokeh sources (three models each for BokehJS to build), stored once each
    assert all(isinstance(t, dict) for t in tables)
    assert len({str({k: v.tolist() for k, v in t.items()}) for t in tables}) == len(tables)
    assert sum(isinstance(m, ColumnDataSource) for m in layout.references()) == 1


def test_pack_keeps_dtypes_and_text():
    columns = compact(
        {"f": np.array([1.0, 1e45]), "g": np.arange(3.0), "i": np.arange(3), "t": np.array(["a"])}
    )
    back = unpack(pack({"0": {"s": 0}}, [columns], {"0": "ok"}, {"0": False}))["tables"][0]
    assert back["f"].dtype == np.float64 and back["f"][1] == 1e45
    assert back["g"].dtype == np.float32 and back["i"].dtype == np.int32 and back["t"] == ["a"]
    np.testing.assert_array_equal(back["g"], [0, 1, 2])


def test_baked_size_is_small():
    assert len(str(json_item(make().static()))) < 1_000_000


@pytest.mark.browser
def test_static_face_switches_data_in_chromium_offline(tmp_path):
    path = save_html(make().static(), str(tmp_path / "explorer.html"))
    with browser_page() as bp:
        page = bp.page
        page.goto(f"file://{path}")
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
        before = page.evaluate(SOURCE_COLUMN_JS, ["test:g", "value"])
        expected = _compute({"depth": 4, "activation": "tanh"}, None).data["g"]["value"]
        np.testing.assert_allclose(before, expected.astype(np.float32), rtol=1e-6)
        page.get_by_role("button", name="16").click()
        page.get_by_role("button", name="sigmoid").click()
        page.wait_for_function(f"() => ({SOURCE_COLUMN_JS})(['test:g', 'value']).length === 16")
        after = page.evaluate(SOURCE_COLUMN_JS, ["test:g", "value"])
        expected = _compute({"depth": 16, "activation": "sigmoid"}, None).data["g"]["value"]
        np.testing.assert_allclose(after, expected.astype(np.float32), rtol=1e-6)
        assert "first/last" in page.evaluate(MODEL_ATTR_JS, ["test:status", "text"])
        page.get_by_role("button", name="boom").click()
        page.wait_for_function(f"() => ({MODEL_ATTR_JS})(['test:status', 'text']).includes('kaboom')")
        assert bp.blocked == [] and bp.console_errors == []
