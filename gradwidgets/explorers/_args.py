"""Argument checks of the explorer factories, at the call: never later, when an explorer is shown.

A factory's choice tuples must be non-empty sequences of distinct allowed values, its scalars
in range, its ``**defaults`` control names with a value among that control's choices. Every
error is a ``ValueError`` that starts with the factory's name (``gradient_flow(): ...``); the
checks themselves are :mod:`gradwidgets.core.checks`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.checks import check_bool, check_choice, check_int, check_keywords, check_positive
from ..core.limits import MAX_RATE

MAX_DEPTH = 200
"""The deepest network an explorer builds: a live setting must compute in well under a second."""
MAX_WIDTH = 1024
"""The most units (channels, hidden units) per layer an explorer builds."""
MAX_BATCH = 4096
"""The most samples (images, sequences) in an explorer's batch."""
MAX_SEQ_LEN = 1000
"""The longest sequence an explorer runs a recurrent network over."""
MAX_STEPS = 10_000
"""The most training steps of a streamed explorer."""
MAX_SCALE = MAX_RATE
"""The largest learning rate, decay, gain, clipping threshold or radius an explorer takes: the
core's bound on rates, so a setting the factory accepts is one the computation accepts."""

Check = Callable[[str, Any], Any]
"""``check(arg, value)``: returns the value, or raises a ``ValueError`` naming ``arg``."""


def one_of(allowed: Iterable[Any]) -> Check:
    """A check that a value is one of ``allowed`` (with a "did you mean")."""
    allowed = tuple(allowed)
    return lambda arg, value: check_choice(arg, value, allowed)


def ints(minimum: int, maximum: int | None = None) -> Check:
    """A check that a value is an int (not a bool) from ``minimum`` to ``maximum``."""
    return lambda arg, value: check_int(arg, value, minimum, maximum)


def positives(allow_zero: bool = False, maximum: float = MAX_SCALE) -> Check:
    """A check that a value is a finite real number > 0 (>= 0 with ``allow_zero``), at most ``maximum``."""
    return lambda arg, value: check_positive(arg, value, allow_zero, maximum)


def bools(arg: str, value: Any) -> bool:
    """Check that a value is True or False."""
    return check_bool(arg, value)


def finite(arg: str, value: Any) -> float:
    """Check that a value is a finite real number of either sign (not a bool)."""
    try:
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    except OverflowError:  # an int beyond float's range
        ok = False
    if not ok:
        raise ValueError(f"{arg}={value!r} is not allowed; it must be a finite number")
    return value


def optional(check: Check) -> Check:
    """``check``, or None."""
    return lambda arg, value: None if value is None else check(arg, value)


class FactoryArgs:
    """The checks of one factory's arguments; each error starts with ``factory()``.

    Parameters
    ----------
    factory : callable
        The explorer factory whose arguments are checked (its name and signature are used).
    """

    def __init__(self, factory: Callable[..., Any]):
        self.where = f"{factory.__name__}()"
        params = inspect.signature(factory).parameters.values()
        self.arguments = [p.name for p in params if p.kind is not p.VAR_KEYWORD]

    def _run(self, check: Check, arg: str, value: Any) -> Any:
        try:
            return check(arg, value)
        except ValueError as err:
            raise ValueError(f"{self.where}: {err}") from None

    def value(self, arg: str, value: Any, check: Check) -> Any:
        """Check one scalar argument; return it."""
        return self._run(check, arg, value)

    def choices(self, arg: str, options: Any, check: Check) -> tuple:
        """Check a choice tuple: a non-empty sequence of distinct values each passing ``check``."""
        given = options
        try:
            if isinstance(options, (str, bytes, Mapping)) or not isinstance(options, Iterable):
                raise TypeError
            options = tuple(options)  # a 0-d tensor or array is Iterable by its type and raises here
        except TypeError:
            raise ValueError(
                f"{self.where}: {arg}={given!r} must be a sequence of choices, e.g. ({given!r},)"
            ) from None
        if not options:
            raise ValueError(f"{self.where}: {arg}=() offers no choice; give at least one")
        checked = tuple(self._run(check, f"{arg}[{i}]", option) for i, option in enumerate(options))
        for i, option in enumerate(checked):  # as checked: np.int64(5) is 5, a 0-d tensor its number
            if option in checked[:i]:
                raise ValueError(f"{self.where}: {arg}={options!r} offers {option!r} twice")
        return checked

    def defaults(self, defaults: Mapping[str, Any], **grid: tuple) -> None:
        """Check ``**defaults``: each a control's name (``grid``'s keys) with one of its choices."""
        check_keywords(self.where, defaults, [*self.arguments, *grid])
        for name, value in defaults.items():
            self._run(one_of(grid[name]), name, value)
