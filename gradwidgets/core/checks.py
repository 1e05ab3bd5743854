"""Argument checks for every public entry: each error names the argument and what is allowed.

One module, so that every function and explorer factory says the same thing the same way:
types (a bool is not an int, an int is not a bool), ranges (with an upper bound derived from
memory: :func:`check_memory`), choices (with a "did you mean"), unknown keywords (by name).
Every check raises ``ValueError``; the message starts with ``name=value``.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from torch import nn

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_BYTES_ENV",
    "MAX_SEED",
    "check_bool",
    "check_choice",
    "check_int",
    "check_keywords",
    "check_memory",
    "check_model",
    "check_positive",
    "check_seed",
    "check_submodules",
    "check_trainable",
    "max_bytes",
    "renamed",
    "same_choice",
]

MAX_BYTES_ENV = "GRADWIDGETS_MAX_BYTES"
"""Environment variable that raises (or lowers) the memory bound of :func:`check_memory`."""
DEFAULT_MAX_BYTES = 4 * 2**30
"""4 GiB: what one request may allocate by default. A course machine (Binder, a 2-core 24 GiB
box) runs a kernel, a browser and the book beside it; a request above this is almost always a
typo (``10**6`` layers), and would otherwise end minutes later in the allocator's error."""
MAX_SEED = 2**63 - 1
"""The largest seed torch's generators take as a non-negative int64."""


def _is_int(value: Any) -> bool:
    """An integer of Python or numpy (``np.int64`` from ``np.arange``), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def same_choice(value: Any, option: Any) -> bool:
    """``value == option``, except that a bool matches only a bool (True is not 1) and an int
    option only an int (a depth of 5.0 is refused; a learning rate of 1 matches 1.0)."""
    bools = (bool, np.bool_)
    if isinstance(value, bools) or isinstance(option, bools):
        return isinstance(value, bools) and isinstance(option, bools) and bool(value) == bool(option)
    if _is_int(option) and not _is_int(value):
        return False
    try:
        return bool(value == option)
    except Exception:  # an array, or a type that cannot be compared: not a choice
        return False


def _show(allowed: list[Any]) -> str:
    return ", ".join(repr(a) for a in allowed)


def check_choice(arg: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``; else raise, suggesting the nearest name."""
    allowed = list(allowed)
    if not any(same_choice(value, a) for a in allowed):
        hint = ""
        if isinstance(value, str):
            near = difflib.get_close_matches(value, [a for a in allowed if isinstance(a, str)], n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ValueError(f"{arg}={value!r} is not supported{hint}; allowed: {_show(allowed)}")
    return value


def check_int(arg: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer (Python's or numpy's, not a bool) in
    ``[minimum, maximum]``; else raise."""
    if not _is_int(value) or value < minimum:
        bound = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ValueError(f"{arg}={value!r} is not allowed; it must be an integer {bound}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{arg}={value!r} is not allowed; it must be an integer from {minimum} to {maximum}")
    return int(value)


def check_positive(arg: str, value: Any, allow_zero: bool = False, maximum: float | None = None) -> float:
    """Return ``value`` as a float if it is a finite real > 0 (>= 0 with ``allow_zero``), at most
    ``maximum``; a bool, a string or a complex number is refused."""
    ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok_type and hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # a 0-d tensor or array
        ok_type, value = True, value.item()
    try:
        v = float(value) if ok_type and not isinstance(value, complex) else math.nan
    except OverflowError:  # an int beyond float's range (10**400)
        v = math.nan
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0) and (maximum is None or v <= maximum)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        top = "" if maximum is None else f" and <= {maximum:g}"
        raise ValueError(f"{arg}={value!r} is not allowed; it must be a finite number {bound}{top}")
    return v


def check_bool(arg: str, value: Any) -> bool:
    """Return ``value`` if it is True or False (numpy's too; not 0, 1 or a string); else raise."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{arg}={value!r} is not allowed; it must be True or False")
    return bool(value)


def check_seed(arg: str, value: Any) -> int:
    """Return ``value`` if it is an int seed from 0 to 2**63 - 1; else raise (None, 1.5, "abc")."""
    return check_int(arg, value, 0, MAX_SEED)


def check_keywords(where: str, given: Mapping[str, Any], known: Iterable[str]) -> None:
    """Raise if ``given`` holds a keyword ``where`` does not take, naming it and the nearest one."""
    known = sorted(set(known))
    for key in given:
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ValueError(f"{key}= is not an argument of {where}{hint}; its arguments: {', '.join(known)}")


def renamed(old: str, old_value: Any, new: str, new_value: Any) -> Any:
    """The value of an argument renamed from ``old`` to ``new``: ``new_value``, or ``old_value``
    with a DeprecationWarning when only the old name was given; both is a ValueError."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise ValueError(f"{old}= is the former name of {new}=; pass only {new}=")
    warnings.warn(f"{old}= is renamed {new}=; {old}= will be removed", DeprecationWarning, stacklevel=3)
    return old_value


def check_model(arg: str, model: Any) -> nn.Module:
    """Return ``model`` if it is an ``nn.Module`` with real (not ``meta``) parameters; else raise."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"{arg} must be a torch.nn.Module, got {type(model).__name__}")
    for p in model.parameters():
        if isinstance(p, nn.parameter.UninitializedParameter):
            raise ValueError(
                f"{arg} ({type(model).__name__}) has lazy parameters not yet initialised; "
                "run it once on a batch first (e.g. model(X)) so that they get their shapes"
            )
        if p.is_meta:
            raise ValueError(
                f"{arg} ({type(model).__name__}) has parameters on the 'meta' device, which hold no "
                "values; materialise it first (e.g. model.to_empty(device='cpu') and initialise it)"
            )
    return model


def check_trainable(arg: str, model: nn.Module) -> nn.Module:
    """Return ``model`` if it has a parameter with ``requires_grad=True``; else raise: with every
    parameter frozen (or none at all) there is no gradient to measure or train."""
    params = list(model.parameters())
    if not any(p.requires_grad for p in params):
        what = "no parameters" if not params else "no parameter with requires_grad=True"
        raise ValueError(f"{arg} ({type(model).__name__}) has {what}; there is no gradient to measure")
    return model


def check_submodules(arg: str, value: Any, model: nn.Module) -> list[nn.Module]:
    """Return ``value`` as a list if it is a non-empty list, tuple or ``nn.ModuleList`` of
    submodules of ``model``; else raise, naming the first element that is not one."""
    if not isinstance(value, (list, tuple, nn.ModuleList)) or len(value) == 0:
        raise ValueError(
            f"{arg}={value!r} is not allowed; it must be a non-empty list of modules of the model "
            "(e.g. [model.fc1, model.fc2])"
        )
    own = {id(m) for m in model.modules()}
    for i, m in enumerate(value):
        if not isinstance(m, nn.Module) or id(m) not in own:
            what = "not a module" if not isinstance(m, nn.Module) else "not a module of the model"
            raise ValueError(f"{arg}[{i}]={m!r} is {what}; {arg} must list modules of the model")
    return list(value)


def max_bytes(limit: int | None = None) -> int:
    """The memory bound in bytes: ``limit`` if given, else ``$GRADWIDGETS_MAX_BYTES``, else 4 GiB."""
    if limit is not None:
        return check_int("max_bytes", limit, 1)
    raw = os.environ.get(MAX_BYTES_ENV, "")
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        return check_int(MAX_BYTES_ENV, int(float(raw)), 1)
    except (ValueError, OverflowError) as err:
        raise ValueError(
            f"{MAX_BYTES_ENV}={raw!r} is not allowed; it must be a number of bytes >= 1"
        ) from err


def _human(nbytes: float) -> str:
    nbytes = float(min(nbytes, 2**100))  # an int of any size; past 2**100 the count says enough
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"  # pragma: no cover (the loop returns)


def check_memory(what: str, nbytes: float, limit: int | None = None) -> None:
    """Raise before allocating when ``what`` needs more than the memory bound (:func:`max_bytes`).

    Parameters
    ----------
    what : str
        The request, with the arguments that make it large, e.g. ``"build_mlp(num_layers=1000000)"``.
    nbytes : float
        The estimated bytes the request needs.
    limit : int, optional
        The bound; default ``$GRADWIDGETS_MAX_BYTES`` or 4 GiB.
    """
    bound = max_bytes(limit)
    if nbytes > bound:
        raise ValueError(
            f"{what} needs about {_human(nbytes)}, above the limit of {_human(bound)}; "
            f"raise it with the {MAX_BYTES_ENV} environment variable (a byte count)"
        )
