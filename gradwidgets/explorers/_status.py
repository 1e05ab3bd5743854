"""The words of the explorers' status lines for a ratio of gradients: vanishing, exploding,
uneven or a similar scale, with the number.

One vocabulary for every explorer. The limits are diagnose's
(:mod:`gradwidgets.core.thresholds`): a gradient that falls below
:data:`~gradwidgets.core.thresholds.VANISHING_RELATIVE` (10⁻⁴) of another's is vanishing, one
that rises above :data:`~gradwidgets.core.thresholds.EXPLODING_RELATIVE` (10³) of it is
exploding; between those, a spread over :data:`SIMILAR_WITHIN` is uneven and only one within
it is called a similar scale.
"""

from __future__ import annotations

import numpy as np

from ..core.thresholds import (
    EXPLODING_ABSOLUTE,
    EXPLODING_RELATIVE,
    VANISHING_ABSOLUTE,
    VANISHING_RELATIVE,
)

SIMILAR_WITHIN = 10.0
"""Gradients within this factor of each other (largest over smallest) are "a similar scale"."""


def times(ratio: float) -> str:
    """A ratio as readers say it: ``23× smaller``, ``1.0e+13× smaller``, ``4.2× larger``."""
    if not np.isfinite(ratio) or ratio <= 0:
        return f"{ratio:g}×"
    big = 1 / ratio if ratio < 1 else ratio
    return f"{factor(big)}× {'smaller' if ratio < 1 else 'larger'}"


def factor(x: float) -> str:
    """A factor of at least 1: ``2.5``, ``23``, ``480``, ``1.0e+13``."""
    return f"{x:.2g}" if x < 10 else (f"{x:.0f}" if x < 1e4 else f"{x:.1e}")


KIND_WORDS = {
    "vanishing": "vanishing",
    "exploding": "exploding",
    "uneven": "uneven",
    "similar": "a similar scale",
    "non-finite": "not finite",
}
"""How a status line names each :func:`ratio_kind`."""


def number(x: float) -> str:
    """``0.043``, ``2.5`` or ``1.0e-13``: plain from 0.001 to 10⁴, else scientific."""
    return f"{x:.2g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.1e}"


def ratio_kind(ratio: float) -> str:
    """``"vanishing"``, ``"exploding"``, ``"uneven"``, ``"similar"`` (or ``"non-finite"``) for a ratio."""
    if np.isnan(ratio):
        return "non-finite"
    if ratio < VANISHING_RELATIVE:
        return "vanishing"
    if ratio > EXPLODING_RELATIVE:
        return "exploding"
    return "similar" if 1 / SIMILAR_WITHIN <= ratio <= SIMILAR_WITHIN else "uneven"


def ratio_phrase(ratio: float, first: str, last: str) -> tuple[str, bool]:
    """A clause on ``first``'s gradient over ``last``'s, and whether it shows a problem.

    ``ratio_phrase(1e-13, "the first layer", "the last")`` is
    ``("vanishing: the first layer's gradient is 1.0e+13× smaller than the last's", True)``.
    """
    kind = ratio_kind(ratio)
    compared = f"{first}'s gradient is {times(ratio)} than {last}'s"
    if 0.9 <= ratio <= 1.1:
        compared = f"{first}'s gradient is about {last}'s"
    if kind == "non-finite":
        return f"not finite: {first}'s gradient over {last}'s is NaN", True
    if kind in ("vanishing", "exploding"):
        return f"{kind}: {compared}", True
    if kind == "uneven":
        limit = "vanishing below 10⁻⁴×" if ratio < 1 else "exploding above 10³×"
        return f"uneven: {compared} (not yet {limit})", False
    return f"a similar scale: {compared}", False


def ratio_sentence(name: str, ratio: float, first: str, last: str) -> tuple[str, bool]:
    """``"{name} 1e-13, vanishing: {first}'s gradient is 1.0e+13× smaller than {last}'s."``"""
    phrase, problem = ratio_phrase(ratio, first, last)
    return f"{name} {number(ratio)}, {phrase}.", problem


def describe_norms(norms) -> tuple[str, bool]:
    """One status line about per-layer ‖dL/dW‖ (input first), and whether it shows a problem.

    Names the first/last ratio and what it means (:func:`ratio_phrase`), the layers past the
    absolute limits, and calls the layers a similar scale only when all of them (not just the
    first and last) lie within :data:`SIMILAR_WITHIN` of each other.
    """
    g = np.asarray(norms, dtype=np.float64).reshape(-1)
    if not np.isfinite(g).all():
        return "A gradient is not finite (NaN or ∞): this network cannot train as it is.", True
    if np.any(g == 0):
        zero = int(np.sum(g == 0))
        text = f"{zero} of {g.size} layers get a gradient of exactly 0: their weights will never change."
        return text, True
    ratio = float(g[0] / g[-1])
    text, problem = ratio_sentence("First/last ‖dL/dW‖ ratio", ratio, "the first layer", "the last")
    low, high = int(np.sum(g < VANISHING_ABSOLUTE)), int(np.sum(g > EXPLODING_ABSOLUTE))
    but = "" if problem else "But "
    if low:
        text += f" {but}{low} of {g.size} layers are below {VANISHING_ABSOLUTE:g}" + (
            "." if ratio_kind(ratio) == "vanishing" else ": vanishing."
        )
    if high:
        text += f" {but}{high} of {g.size} layers are above {EXPLODING_ABSOLUTE:g}" + (
            "." if ratio_kind(ratio) == "exploding" else ": exploding."
        )
    spread = float(g.max() / g.min())
    if not (problem or low or high) and spread > SIMILAR_WITHIN:
        if ratio_kind(ratio) == "similar":  # first and last alike, the layers between are not
            text = f"First/last ‖dL/dW‖ ratio {number(ratio)}, but the layers span {factor(spread)}×: uneven."
        elif spread > 1.5 / min(ratio, 1 / ratio):
            text += f" All layers span {factor(spread)}×."
    return text, bool(problem or low or high)
