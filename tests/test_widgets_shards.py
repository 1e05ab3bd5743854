"""gradwidgets.widgets.shards: one setting's result as a compact, gzipped script file."""

import numpy as np
import pytest

from gradwidgets.widgets.shards import compact, pack, read_script, script_text, unpack, write_script
from gradwidgets.widgets.spec import Result

NAME = "gw-" + "0123456789abcdef" * 2


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


def test_pack_keeps_dtypes_text_non_finite_values_and_the_status_as_text():
    cols = {
        "f": np.array([1.0, 1e45]),
        "g": np.array([0.0, np.nan, np.inf]),
        "i": np.arange(3),
        "t": np.array(["a"]),
    }
    back = unpack(pack(Result({"s": cols}, status="ratio <1e-3 & falling", problem=True)))
    data = back["data"]["s"]
    assert data["f"].dtype == np.float64 and data["f"][1] == 1e45
    assert data["g"].dtype == np.float32 and np.isnan(data["g"][1]) and np.isinf(data["g"][2])
    assert data["i"].dtype == np.int32 and data["t"] == ["a"]
    assert back["status"] == "ratio <1e-3 & falling" and back["problem"] is True


def test_a_result_with_no_data_is_a_status_alone():
    back = unpack(pack(Result({}, status="invalid combination", problem=True)))
    assert back == {"status": "invalid combination", "problem": True, "data": {}}


def test_a_shard_file_round_trips_and_anything_else_is_refused(tmp_path):
    packed = pack(Result({"s": {"x": np.arange(4.0)}}, status="ok"))
    path = write_script(tmp_path / "baked", NAME, packed)
    assert path.name == f"{NAME}.js" and read_script(path) == packed
    assert list((tmp_path / "baked").iterdir()) == [path]  # no partial file left behind
    assert script_text(NAME, packed).startswith("(window.gradwidgetsShards")
    (tmp_path / "evil.js").write_text(f"alert(1);{script_text(NAME, packed)}")
    with pytest.raises(ValueError, match="not a gradwidgets shard"):
        read_script(tmp_path / "evil.js")
    with pytest.raises(ValueError, match="name="):
        script_text("../x", packed)
