"""A diagnosis as a result: per-layer table, flags, the thresholds behind them and remedies."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np

from ._util import fmt, format_table
from .profile import GradientProfile
from .report_html import report_html

CHAPTERS = {
    "backprop": "backprop",
    "vanishing": "vanishing-exploding",
    "activations": "activations",
    "init": "initialization",
    "norm": "normalization-skips",
    "clipping": "clipping-regularization",
    "diagnose": "diagnose",
}
"""Book chapters a remedy can point to: key -> document name (``book/<name>.md``)."""

BOOK_URL = ""
"""Prefix of chapter links. Empty: relative to a page of the book (``initialization.html``);
set it to the published book's address for reports shown elsewhere."""


def chapter_url(key: str) -> str:
    """The link to a chapter of the book, by its key in :data:`CHAPTERS`."""
    return f"{BOOK_URL}{CHAPTERS[key]}.html"


@dataclass(frozen=True)
class Remedy:
    """What to try for one flag, the layers it was raised on, and the chapters that explain why."""

    flag: str
    layers: tuple[str, ...]
    advice: str
    chapters: tuple[str, ...]

    @property
    def links(self) -> tuple[str, ...]:
        """The chapters as links (see :data:`BOOK_URL`)."""
        return tuple(chapter_url(k) for k in self.chapters)

    @property
    def where(self) -> str:
        """The flagged layers, abbreviated when there are many."""
        n = len(self.layers)
        return ", ".join(self.layers) if n <= 3 else f"{self.layers[0]} ... {self.layers[-1]} ({n} layers)"

    def __repr__(self) -> str:
        return f"Remedy({self.flag}: {self.where})"


@dataclass(frozen=True, repr=False)
class Report:
    """What :func:`gradwidgets.diagnose` found: one row per probed layer, input to output.

    ``flags[i]`` holds the problems found at layer i (a subset of :data:`FLAGS` in
    :mod:`gradwidgets.diagnose`); ``thresholds`` says, per flag, the rule that raises it;
    ``frozen[i]`` is True when layer i has no trainable weight (it is never flagged vanishing
    or exploding). ``profile`` holds the measurements themselves; ``notes`` what the pass
    covered (:attr:`coverage`) and what explains the unusual flags (a zero-initialised layer,
    the gradient through time, where the first NaN or inf appeared).
    """

    profile: GradientProfile
    layer_types: tuple[str, ...]
    flags: tuple[tuple[str, ...], ...]
    frozen: tuple[bool, ...]
    thresholds: tuple[tuple[str, str], ...]
    remedies: tuple[Remedy, ...]
    model_name: str = "model"
    loss_name: str = "mse"
    notes: tuple[str, ...] = ()

    @property
    def layer_names(self) -> tuple[str, ...]:
        """The probed layers' names in the model."""
        return self.profile.layer_names

    @property
    def coverage(self):
        """The share of trainable parameters the reported layers hold (:class:`.coverage.Coverage`)."""
        return self.profile.coverage

    @property
    def finite(self) -> bool:
        """True when the loss and every gradient norm are finite."""
        return self.profile.finite

    @property
    def healthy(self) -> bool:
        """True when no layer is flagged and the loss is finite."""
        return self.finite and not any(self.flags)

    def flagged(self, flag: str) -> tuple[str, ...]:
        """The names of the layers that carry ``flag``, input to output."""
        return tuple(n for n, f in zip(self.layer_names, self.flags, strict=True) if flag in f)

    def __len__(self) -> int:
        return len(self.layer_names)

    def rows(self) -> list[dict]:
        """One dict per layer: the table's columns, with raw numbers."""
        p = self.profile
        return [
            {
                "layer": p.layer_names[i],
                "type": self.layer_types[i],
                "activation": p.activations[i],
                "weight_grad_norm": float(p.weight_grad_norm[i]),
                "act_grad_norm": float(p.act_grad_norm[i]),
                "grad_to_weight": float(p.grad_to_weight[i]),
                "act_mean": float(p.act_mean[i]),
                "act_std": float(p.act_std[i]),
                "saturation": float(p.saturation[i]),
                "dead_fraction": float(p.dead_fraction[i]),
                "frozen": self.frozen[i],
                "flags": list(self.flags[i]),
            }
            for i in range(len(self))
        ]

    def summary(self) -> str:
        """One line: model, loss, number of layers and what was flagged."""
        counts = {f: len(self.flagged(f)) for f, _ in self.thresholds}
        found = ", ".join(f"{f} ({n})" for f, n in counts.items() if n) or "no flags"
        loss = fmt(self.profile.loss) + ("" if math.isfinite(self.profile.loss) else " (non-finite)")
        return f"{self.model_name}: loss {self.loss_name} = {loss}, {len(self)} layers; {found}"

    _HEADER = (
        "layer",
        "type",
        "act",
        "|dL/dW|",
        "|dL/dh|",
        "grad/weight",
        "h mean",
        "h std",
        "saturated",
        "dead",
    )

    def _cells(self, row: dict) -> list[str]:
        nums = [
            fmt(row[k])
            for k in ("weight_grad_norm", "act_grad_norm", "grad_to_weight", "act_mean", "act_std")
        ]
        return [
            row["layer"],
            row["type"],
            row["activation"],
            *nums,
            _pct(row["saturation"]),
            _pct(row["dead_fraction"]),
        ]

    def __repr__(self) -> str:
        rows = [[*self._cells(r), _flag_text(r)] for r in self.rows()]
        lines = [
            f"Report({self.summary()})",
            format_table([*self._HEADER, "flags"], rows),
            "",
            *(textwrap.fill(n, 100, subsequent_indent="  ") for n in self.notes),
            *([""] if self.notes else []),
            "Flags and their thresholds:",
        ]
        width = max(len(f) for f, _ in self.thresholds)
        lines += [f"  {f.ljust(width)}  {rule}" for f, rule in self.thresholds]
        if self.remedies:
            lines += ["", "Remedies:"]
            for r in self.remedies:
                lines.append(
                    textwrap.fill(
                        f"{r.flag} in {r.where}: {r.advice}",
                        100,
                        initial_indent="  - ",
                        subsequent_indent="    ",
                    )
                )
                lines.append(f"    see: {', '.join(r.links)}")
        lines += ["", f"How to read this report: {chapter_url('diagnose')}"]
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return report_html(self, CHAPTERS, chapter_url("diagnose"))

    def to_dict(self) -> dict:
        """The report as plain JSON-ready types; NaN and infinite numbers become None."""
        return {
            "model": self.model_name,
            "loss_name": self.loss_name,
            "loss": _json_float(self.profile.loss),
            "finite": self.finite,
            "layers": [{k: _json_float(v) for k, v in r.items()} for r in self.rows()],
            "thresholds": dict(self.thresholds),
            "notes": list(self.notes),
            "coverage": None if self.coverage is None else self.coverage.fraction,
            "remedies": [
                {"flag": r.flag, "layers": list(r.layers), "advice": r.advice, "links": list(r.links)}
                for r in self.remedies
            ],
        }


def _flag_text(row: dict) -> str:
    text = " ".join(row["flags"]) or "-"
    return f"{text} (frozen)" if row["frozen"] else text


def _pct(x: float) -> str:
    return "n/a" if np.isnan(x) else f"{100 * x:.0f}%"


def _json_float(x: object) -> object:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
