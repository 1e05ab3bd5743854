"""The thresholds behind diagnose's flags (and the plots' shaded zones), with their reasons."""

from __future__ import annotations

from .activations import ACTIVATIONS

__all__ = [
    "DEAD_FRACTION",
    "EXPLODING_ABSOLUTE",
    "EXPLODING_RELATIVE",
    "FLAGS",
    "SATURATED_FRACTION",
    "SATURATING_ACTIVATIONS",
    "SATURATION_THRESHOLD",
    "THRESHOLDS",
    "VANISHING_ABSOLUTE",
    "VANISHING_RELATIVE",
]

SATURATION_THRESHOLD = 0.05
"""A unit counts as saturated when its local derivative is below this fraction of the maximum."""

FLAGS = ("vanishing", "exploding", "saturated", "dead", "non-finite")

VANISHING_RELATIVE = 1e-4
"""Vanishing: ||dL/dW|| below this times the largest layer's at or after it (toward the output).
With one learning rate, SGD moves such a layer 10^4 times slower than that one: frozen for a
run of thousands of steps. Only layers nearer the output count, because gradients flow back
from the output: in an exploding network the healthy last layers must not look "vanishing"."""
VANISHING_ABSOLUTE = 1e-6
"""Vanishing: ||dL/dW|| below this. For a 64 x 64 layer (|w| ~ 0.1) and lr <= 0.1, a typical
entry's SGD update is below half a float32 step at the weight: it rounds away to nothing.
The plots' shaded vanishing zone (``plots.VANISHING_BELOW`` is this object)."""
EXPLODING_RELATIVE = 1e3
"""Exploding: ||dL/dW|| above this times the median layer's at or after it (toward the
output). The median, so that a few exploding layers cannot hide themselves; such a layer
dominates the total norm, and clipping by norm would shrink every other layer's step as much.
Not the median of all layers: in a vanishing network that median is tiny and the healthy last
layers would look "exploding"."""
EXPLODING_ABSOLUTE = 1e3
"""Exploding: ||dL/dW|| above this. At lr = 1e-2 one SGD step would move the layer by 10,
more than the norm of a whole initialised 64 x 64 layer (about 8).
The plots' shaded exploding zone (``plots.EXPLODING_ABOVE`` is this object)."""
SATURATED_FRACTION = 0.5
"""Saturated: more than this fraction of (example, unit) entries have f'(z) below
``SATURATION_THRESHOLD`` (5%) of the activation's largest slope: most of the layer passes
almost no gradient back."""
DEAD_FRACTION = 0.5
"""Dead: more than this fraction of units output exactly 0 on every example of the batch.
Not lower: a Kaiming-initialised 6-layer ReLU MLP on 2-D spirals has up to 30% of a layer's
units silent on a 256-example batch at init, and still fits the data exactly (measured)."""
SATURATING_ACTIVATIONS = tuple(name for name, act in ACTIVATIONS.items() if act.saturates)
"""Activations flagged "saturated": those whose registry entry says ``saturates``. ReLU, leaky
ReLU and GELU are flat on their negative half by design (about 50% of entries at any healthy
init); for them "dead" is the signal."""

THRESHOLDS = (
    (
        "vanishing",
        f"|dL/dW| < {VANISHING_RELATIVE:g} x the largest |dL/dW| at this layer or after it "
        f"(toward the output), or < {VANISHING_ABSOLUTE:g}",
    ),
    (
        "exploding",
        f"|dL/dW| > {EXPLODING_RELATIVE:g} x the median |dL/dW| at this layer or after it, "
        f"or > {EXPLODING_ABSOLUTE:g}",
    ),
    (
        "saturated",
        f"> {SATURATED_FRACTION:.0%} of (example, unit) entries with f'(z) < "
        f"{SATURATION_THRESHOLD:.0%} of max f' "
        f"({', '.join(SATURATING_ACTIVATIONS)} layers)",
    ),
    ("dead", f"> {DEAD_FRACTION:.0%} of units output 0 on every example of the batch"),
    ("non-finite", "NaN or inf in the layer's gradients or activations (or in the loss)"),
)
