"""Which shard a setting's result goes in: named by the setting and the code that computes it.

A book build bakes every setting of every explorer. A setting's shard is named by a hash of
the package's computing code (``core``, ``lessons``, ``plots``, ``explorers``, and in
``widgets`` the explorer's run and the shard's format; torch's and numpy's versions), of the
explorer's computation (its code and the values it closes over: the fixed width, steps, seed
of the chapter's call) and of the setting. A rebuild finds the shard
already written and recomputes only what changed. A computation whose closed-over values have
no stable description (an object shown with its address, a tensor) is not cached: its shards
are named by their content and computed every time.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

_PACKAGE = Path(__file__).resolve().parents[1]
_COMPUTING = ("core", "lessons", "plots", "explorers", "widgets/spec.py", "widgets/shards.py")
"""What computes a shard and writes it (the explorer's run, the shard's format)."""
SHARDS_ENV = "GRADWIDGETS_SHARDS"
"""The environment variable naming the directory a book build writes shards into."""


def shard_directory() -> Path | None:
    """The directory named by ``GRADWIDGETS_SHARDS`` (None when unset or empty)."""
    value = os.environ.get(SHARDS_ENV, "")
    return Path(value) if value else None


@functools.cache
def code_hash() -> str:
    """A hash of the package's computing code and of torch's and numpy's versions."""
    import torch

    digest = hashlib.sha256(f"torch {torch.__version__} numpy {np.__version__}".encode())
    for sub in _COMPUTING:
        root = _PACKAGE / sub
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _code(code: types.CodeType) -> str:
    consts = [_code(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    qualname = getattr(code, "co_qualname", code.co_name)  # co_qualname: Python 3.11+
    return f"{qualname}:{code.co_code.hex()}:{consts}:{code.co_names}"


def describe(value: Any, depth: int = 0) -> str | None:
    """A stable text for ``value`` (same value, same text, in any process), or None.

    Numbers, text, None, containers of them, numpy arrays and tensors, dataclasses, and functions (by their
    code, defaults and closed-over values) have one; anything else does not.
    """
    if depth > 12:
        return None
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, (tuple, list, frozenset, set)):
        items = [describe(v, depth + 1) for v in value]
        if any(i is None for i in items):
            return None
        items = sorted(items) if isinstance(value, (set, frozenset)) else items
        return f"{type(value).__name__}[{','.join(items)}]"
    if isinstance(value, Mapping):
        pairs = [(describe(k, depth + 1), describe(v, depth + 1)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "dict{" + ",".join(sorted(f"{k}={v}" for k, v in pairs)) + "}"
    if isinstance(value, np.ndarray):
        return f"ndarray:{value.dtype.str}:{value.shape}:{hashlib.sha256(value.tobytes()).hexdigest()}"
    if type(value).__module__ == "torch" and type(value).__name__ == "Tensor":
        return describe(value.detach().cpu().numpy(), depth + 1)
    if isinstance(value, types.FunctionType):
        return _function(value, depth)
    if isinstance(value, functools.partial):
        parts = describe((value.func, value.args, value.keywords), depth + 1)
        return None if parts is None else f"partial({parts})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        inner = describe(fields, depth + 1)
        return None if inner is None else f"{type(value).__qualname__}({inner})"
    return None


def _function(fn: types.FunctionType, depth: int) -> str | None:
    module = fn.__module__ or ""
    if module != "gradwidgets" and not module.startswith("gradwidgets."):
        return None  # code outside the package may change without changing the code hash
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(describe(cell.cell_contents, depth + 1))
        except ValueError:  # an empty cell
            return None
    defaults = describe((fn.__defaults__ or (), fn.__kwdefaults__ or {}), depth + 1)
    if defaults is None or any(c is None for c in cells):
        return None
    return f"fn:{module}:{_code(fn.__code__)}:{defaults}:{cells}"


def stamp(explorer: Any) -> str | None:
    """What names an explorer's shards besides the setting, or None when it cannot be cached.

    Only explorers computed by the package's own code are cached: its hash covers them.
    """
    parts = [describe(explorer.compute), describe(explorer.invalid)]
    if any(p is None for p in parts) and not (parts[0] is not None and explorer.invalid is None):
        return None
    return hashlib.sha256("\n".join([code_hash(), explorer.name, *map(str, parts)]).encode()).hexdigest()


def shard_name(explorer_stamp: str, config: Mapping[str, Any]) -> str:
    """The shard name of one setting of an explorer with stamp ``explorer_stamp``."""
    setting = describe(dict(config))
    if setting is None:
        raise ValueError(f"config={dict(config)!r} holds a value with no stable description")
    return "gw-" + hashlib.sha256(f"{explorer_stamp}\n{setting}".encode()).hexdigest()[:32]


def content_name(packed: str) -> str:
    """The shard name of a result that is not cached: a hash of its content."""
    return "gw-" + hashlib.sha256(packed.encode("ascii")).hexdigest()[:32]
