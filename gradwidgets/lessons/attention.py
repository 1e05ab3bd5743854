"""Scaled dot-product attention's softmax, with and without the 1/sqrt(d_k), as d_k grows.

Queries and keys with independent standard normal entries give dot products of variance
``d_k``; Vaswani et al. (2017) divide them by ``sqrt(d_k)`` so the logits keep variance 1.
:func:`softmax_saturation` measures, for one ``d_k``, how peaked the softmax is (its largest
probability and its entropy) and how much gradient gets back through it to the logits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..core._util import fmt
from ..core.checks import check_bool, check_int, check_seed


@dataclass(frozen=True)
class SoftmaxSaturation:
    """What one softmax over ``keys`` logits did, averaged over the queries.

    ``logit_std``: standard deviation of the logits; ``max_prob``: mean largest probability
    (``1 / keys`` when uniform, 1 when saturated); ``entropy``: mean entropy in nats (from
    ``ln(keys)`` down to 0); ``saturated``: fraction of queries whose largest probability is
    above 0.99; ``grad_logits``: median over the queries of ``||dL/dlogits||`` (one query's
    row) for a loss ``sum(softmax(logits) * u)`` with a fixed standard normal ``u``.
    """

    d_k: int
    scaled: bool
    keys: int
    logit_std: float
    max_prob: float
    entropy: float
    saturated: float
    grad_logits: float

    def __repr__(self) -> str:
        return (
            f"SoftmaxSaturation(d_k={self.d_k}, scaled={self.scaled}: logit std {fmt(self.logit_std)}, "
            f"max p {self.max_prob:.3f}, entropy {self.entropy:.3f} of {math.log(self.keys):.3f}, "
            f"{self.saturated:.0%} saturated, median |dL/dlogits| {fmt(self.grad_logits)})"
        )


def softmax_saturation(
    d_k: int, scaled: bool, queries: int = 512, keys: int = 16, seed: int = 0
) -> SoftmaxSaturation:
    """Softmax attention of ``queries`` standard normal queries over ``keys`` keys of dimension ``d_k``.

    Parameters
    ----------
    d_k : int
        Dimension of queries and keys, 1 to 65536.
    scaled : bool
        Divide the dot products by ``sqrt(d_k)``.
    queries, keys : int
        How many of each.
    seed : int
        Seed of the queries, keys and ``u``.

    Returns
    -------
    SoftmaxSaturation
    """
    d_k = check_int("d_k", d_k, 1, 65536)
    scaled = check_bool("scaled", scaled)
    queries, keys = check_int("queries", queries, 1, 100_000), check_int("keys", keys, 2, 100_000)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    q = torch.randn(queries, d_k, generator=gen, dtype=torch.float64, requires_grad=True)
    k = torch.randn(keys, d_k, generator=gen, dtype=torch.float64)
    u = torch.randn(queries, keys, generator=gen, dtype=torch.float64)
    with torch.enable_grad():
        logits = q @ k.T / (math.sqrt(d_k) if scaled else 1.0)
        logits.retain_grad()
        p = torch.softmax(logits, dim=-1)
        (p * u).sum().backward()
    p = p.detach()
    entropy = -(p * torch.log(p.clamp_min(1e-300))).sum(-1)

    top = p.max(-1).values
    return SoftmaxSaturation(
        d_k,
        scaled,
        keys,
        float(logits.detach().std()),
        float(top.mean()),
        float(entropy.mean()),
        float((top > 0.99).double().mean()),
        float(logits.grad.norm(dim=-1).median()),
    )
