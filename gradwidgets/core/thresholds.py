"""The thresholds behind diagnose's flags (and the plots' shaded zones), with their reasons."""

from __future__ import annotations

from .activations import ACTIVATIONS

__all__ = [
    "COLLAPSE_RELATIVE",
    "DEAD_FRACTION",
    "EXPLODING_ABSOLUTE",
    "EXPLODING_FLOOR",
    "EXPLODING_RELATIVE",
    "FLAGS",
    "SATURATED_FRACTION",
    "SATURATING_ACTIVATIONS",
    "SATURATION_THRESHOLD",
    "THRESHOLDS",
    "VANISHING_ABSOLUTE",
    "VANISHING_RELATIVE",
    "ZERO_SCALE",
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
COLLAPSE_RELATIVE = 1e-3
"""Vanishing, forward: a layer's output scale (root mean square) below this times the largest
before it. The signal that reaches the layers after it is 1000 times weaker; their weight
gradients (input times backward signal) are all equally tiny, so no layer stands out from
the others, yet nothing learns. A 30-layer ReLU MLP with Xavier init loses a factor of
about 2 in variance per layer: 2**-15 ~ 3e-5 of its first layer's scale at the last."""
EXPLODING_FLOOR = 1.0
"""Exploding by the relative rule needs a gradient norm above this too: a layer far above the
others' median but below 1 is not large, the others are small (a model initialised at a tiny
scale, whose embeddings and head alone get the usual gradient)."""
ZERO_SCALE = 1e-4
"""A scale (a vector or a single number: a norm's weight, ReZero's alpha, a layer scale) whose
every entry is at most this is zero-initialised on purpose (ConvNeXt's and CaiT's layer scale
start at 1e-6 or 1e-5): the gradients behind it are that small at the first step by design,
and are not flagged vanishing."""
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
"""Dead: more than this fraction of units output exactly 0 on every example of the batch, after
an activation that can die (ReLU; as a module, or as a function: then seen in the next layer's
input). Not for a layer with no activation: a zero-initialised head outputs 0 by design.
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
        f"(toward the output), or < {VANISHING_ABSOLUTE:g} (not when exactly 0 behind a "
        f"zero-initialised parameter); the output's scale < {COLLAPSE_RELATIVE:g} x the largest "
        f"before it; a recurrent layer's |dL/dh_t| at the first step < {VANISHING_RELATIVE:g} x "
        "the largest later step's",
    ),
    (
        "exploding",
        f"|dL/dW| > {EXPLODING_RELATIVE:g} x the median |dL/dW| at this layer or after it (and > "
        f"{EXPLODING_FLOOR:g}), "
        f"or > {EXPLODING_ABSOLUTE:g}; a recurrent layer's |dL/dh_t| at the first step > "
        f"{EXPLODING_RELATIVE:g} x the median of the later steps'",
    ),
    (
        "saturated",
        f"> {SATURATED_FRACTION:.0%} of (example, unit) entries with f'(z) < "
        f"{SATURATION_THRESHOLD:.0%} of max f' "
        f"({', '.join(SATURATING_ACTIVATIONS)} layers)",
    ),
    (
        "dead",
        f"> {DEAD_FRACTION:.0%} of units output 0 on every example of the batch, after a ReLU "
        "(a module, or a function seen in the next layer's input)",
    ),
    ("non-finite", "NaN or inf in the layer's gradients or activations (or in the loss)"),
)
