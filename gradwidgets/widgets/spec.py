"""What an explorer is: controls, a result, and the declaration the live and static faces read."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.checks import same_choice

FAILED = "could not compute this setting"
"""How the status of a setting whose computation raised begins."""
Columns = dict[str, np.ndarray]
"""One data source's columns: equal-length numpy arrays by name."""


@dataclass(frozen=True)
class Control:
    """One control: a label and a finite list of choices (the grid the static face bakes).

    Without a ``default``, the first option is the default. The options are distinct; a value
    matches an option as :func:`~gradwidgets.core.checks.same_choice` says (a bool only a
    bool, an int option only an int).
    """

    name: str
    label: str
    options: tuple
    default: Any = ...
    option_labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.options:
            raise ValueError(f"options of control {self.name!r} must not be empty")
        for i, option in enumerate(self.options):
            if any(same_choice(option, o) or same_choice(o, option) for o in self.options[:i]):
                raise ValueError(f"options of control {self.name!r} offer {option!r} twice: {self.options!r}")
        if self.default is ...:  # no default given: the first option
            object.__setattr__(self, "default", self.options[0])
        if not any(same_choice(self.default, o) for o in self.options):
            raise ValueError(
                f"default={self.default!r} of control {self.name!r} is not one of {self.options!r}"
            )
        if self.option_labels is None:
            object.__setattr__(self, "option_labels", tuple(_label(o) for o in self.options))
        if len(self.option_labels) != len(self.options):
            raise ValueError(f"option_labels of control {self.name!r} must match its options one to one")

    @property
    def numeric(self) -> bool:
        """True when every choice is a number (shown as a slider)."""
        return all(isinstance(o, (int, float)) and not isinstance(o, bool) for o in self.options)

    def index(self, value: Any) -> int:
        """Position of ``value`` among the options."""
        for i, option in enumerate(self.options):
            if same_choice(value, option):
                return i
        shown = ", ".join(map(repr, self.options))
        raise ValueError(f"{self.name}={value!r} is not allowed; allowed: {shown}")


def _never_stop(result: Result) -> bool:
    return False


def _label(option: Any) -> str:
    if option is None:
        return "none"
    if isinstance(option, bool):
        return "on" if option else "off"
    if isinstance(option, float):
        return f"{option:g}"
    return str(option)


@dataclass(frozen=True)
class Result:
    """What one configuration computed: columns per named source and a status line.

    ``progress`` is the fraction done for a streamed (training) result, None otherwise;
    ``problem`` is True when the status reports divergence or an invalid combination.
    """

    data: dict[str, Columns]
    status: str = ""
    progress: float | None = None
    problem: bool = False

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(next(iter(v.values()), ()))} rows" for k, v in self.data.items())
        return f"Result({sizes}; status={self.status!r})"


Emit = Callable[[Result], bool]
"""Receives a partial result of a streamed run; returns True when the run should stop."""
ComputeFn = Callable[[Mapping[str, Any], Emit], Result]
FiguresFn = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True, eq=False)
class Spec:
    """An explorer's declaration: its grid, its computation and its figures, with no face.

    The live and static faces read only this; :class:`~gradwidgets.Explorer` adds the faces
    and documents the fields.
    """

    name: str
    title: str
    controls: tuple[Control, ...]
    compute: ComputeFn = field(repr=False)
    figures: FiguresFn = field(repr=False)
    invalid: Callable[[Mapping[str, Any]], str | None] | None = field(default=None, repr=False)
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "controls", tuple(self.controls))
        names = [c.name for c in self.controls]
        if len(set(names)) != len(names):
            raise ValueError(f"controls of explorer {self.name!r} have duplicate names: {names}")

    @property
    def default_config(self) -> dict[str, Any]:
        """Every control at its default."""
        return {c.name: c.default for c in self.controls}

    def config(self, **values: Any) -> dict[str, Any]:
        """A full configuration: defaults overridden by ``values`` (checked against the grid)."""
        known = {c.name: c for c in self.controls}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"{key!r} is not a control of {self.name!r}; controls: {', '.join(known)}")
            known[key].index(value)
        return {**self.default_config, **values}

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every configuration of the grid, in a fixed order."""
        for combo in itertools.product(*(c.options for c in self.controls)):
            yield dict(zip((c.name for c in self.controls), combo, strict=True))

    @property
    def grid_size(self) -> int:
        """Number of configurations in the grid."""
        return int(np.prod([len(c.options) for c in self.controls]))

    def key(self, config: Mapping[str, Any]) -> str:
        """The grid position of a configuration, as the static face names it."""
        return "-".join(str(c.index(config[c.name])) for c in self.controls)

    def run(self, config: Mapping[str, Any], emit: Emit | None = None) -> Result:
        """Compute one configuration; problems become a status line, never an exception."""
        reason = self.invalid(config) if self.invalid else None
        if reason:
            return Result({}, status=reason, problem=True)
        try:
            return self.compute(config, emit or _never_stop)
        except Exception as err:  # shown to the learner as a status line, not a traceback
            return Result({}, status=f"{FAILED}: {type(err).__name__}: {err}", problem=True)
