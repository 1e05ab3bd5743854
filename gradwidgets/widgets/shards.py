"""The static face's results as shards: one small file per setting, loaded when a reader picks it.

A shard holds one setting's result (its columns per source, its status line and whether it
shows a problem) as gzipped JSON in base64. On disk it is a script that registers that string
under the shard's name, ``window.gradwidgetsShards[name] = "..."``: a ``<script>`` element loads
it both from a web server and from a site opened from disk (``file://``, where Chromium blocks
``fetch()``). Numeric columns are ``{"dtype", "bytes"}`` (float32, float64 or int32; base64 of
their little-endian bytes), text columns plain lists.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from .spec import Columns, Result

_F32 = np.finfo(np.float32)
NAME = re.compile(r"^gw-[0-9a-f]{32}$")
"""What a shard's name looks like: a page's index and the site's files use only such names."""
_SCRIPT = re.compile(
    r'\(window\.gradwidgetsShards = window\.gradwidgetsShards \|\| \{\}\)\["(gw-[0-9a-f]{32})"\] = '
    r'"([A-Za-z0-9+/=]*)";\n'
)


def _fits_float32(arr: np.ndarray) -> bool:
    """True when no finite non-zero value would become inf or 0 (or lose all precision) in float32."""
    with np.errstate(invalid="ignore"):
        mags = np.abs(arr[np.isfinite(arr) & (arr != 0)])
    return mags.size == 0 or (mags.max() <= _F32.max and mags.min() >= _F32.smallest_normal)


def compact(columns: Columns) -> dict[str, Any]:
    """Columns as the page stores them: floats as float32, integers as int32, text as lists.

    A float column with a value outside float32's normal range (an exploding gradient of
    1e45, a vanishing one of 1e-42) stays float64: float32 would show it as inf or 0.
    """
    out: dict[str, Any] = {}
    for name, values in columns.items():
        arr = np.asarray(values)
        if arr.dtype.kind == "f":
            out[name] = arr.astype(np.float32) if _fits_float32(arr) else arr.astype(np.float64)
        elif arr.dtype.kind in "iub":
            out[name] = arr.astype(np.int32)
        else:
            out[name] = [str(v) for v in arr.tolist()]
    return out


def _packed_column(values: Any) -> Any:
    if isinstance(values, np.ndarray):
        little = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
        return {"dtype": values.dtype.name, "bytes": base64.b64encode(little.tobytes()).decode("ascii")}
    return list(values)


def pack(result: Result) -> str:
    """One setting's result as a shard's string: gzipped JSON, base64 (the status as plain text:
    the page sets it as text, never as HTML)."""
    payload = {
        "status": result.status,
        "problem": bool(result.problem),
        "data": {
            source: {name: _packed_column(v) for name, v in compact(cols).items()}
            for source, cols in result.data.items()
        },
    }
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return base64.b64encode(gzip.compress(text.encode("utf8"), mtime=0)).decode("ascii")


def unpack(packed: str) -> dict[str, Any]:
    """`pack`'s string back as Python data, numeric columns as numpy arrays (for tests)."""
    data = json.loads(gzip.decompress(base64.b64decode(packed)))
    data["data"] = {
        source: {
            name: v if isinstance(v, list) else np.frombuffer(base64.b64decode(v["bytes"]), dtype=v["dtype"])
            for name, v in cols.items()
        }
        for source, cols in data["data"].items()
    }
    return data


def script_text(name: str, packed: str) -> str:
    """A shard file's text: a script registering ``packed`` under ``name``."""
    if not NAME.match(name):
        raise ValueError(f"name={name!r} is not a shard name (gw- and 32 hex digits)")
    return f'(window.gradwidgetsShards = window.gradwidgetsShards || {{}})["{name}"] = "{packed}";\n'


def read_script(path: str | Path) -> str:
    """The packed string a shard file registers (raises ``ValueError`` on anything else)."""
    text = Path(path).read_text(encoding="ascii")
    found = _SCRIPT.fullmatch(text)
    if found is None:
        raise ValueError(f"{path} is not a gradwidgets shard")
    return found.group(2)


def write_script(directory: str | Path, name: str, packed: str) -> Path:
    """Write a shard file ``<directory>/<name>.js`` atomically (a reader never sees half a file)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.js"
    partial = path.with_suffix(f".{id(packed)}.tmp")
    partial.write_text(script_text(name, packed), encoding="ascii")
    partial.replace(path)
    return path
