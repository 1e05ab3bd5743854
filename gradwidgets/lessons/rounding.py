"""When float32 rounds a gradient step away: the weights that an update of a given size cannot move.

A float32 number ``w`` with ``2**e <= |w| < 2**(e + 1)`` is ``2**(e - 23)`` away from its
neighbours. Adding an update ``u`` with ``|u|`` below half that gap, ``2**(e - 24)``, rounds back
to ``w``: the weight does not change by a single bit. (At ``|w| = 2**e`` exactly, the gap
towards zero is half as large.) So an update leaves alone every weight above a certain size,
and can still move the smaller ones.
"""

from __future__ import annotations

import math

import torch

from ..core.checks import check_positive


def unmoved_above(update: float) -> float:
    """The power of two above which no float32 weight changes when ``update`` is added to it.

    Parameters
    ----------
    update : float
        The size of the update, ``lr`` times a gradient entry, > 0.

    Returns
    -------
    float
        ``2**(floor(log2 |update|) + 25)``: every weight larger than this in size stays as it
        is; from half this size on down, weights move.
    """
    update = check_positive("update", abs(update))
    return 2.0 ** (math.floor(math.log2(update)) + 25)


def unmoved_share(weights: torch.Tensor, update: torch.Tensor | float) -> float:
    """The share of ``weights`` that ``weights + update``, computed in float32, leaves unchanged.

    Parameters
    ----------
    weights : torch.Tensor
        The weights, cast to float32.
    update : torch.Tensor or float
        The update of each weight (broadcast), cast to float32.

    Returns
    -------
    float
        From 0 (every weight moves) to 1 (none does).
    """
    w = weights.detach().float()
    u = torch.as_tensor(update).detach().float()
    return float((w + u == w).double().mean())
