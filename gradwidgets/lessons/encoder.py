"""A small pre-norm Transformer encoder from ``torch.nn`` with a regression head, for diagnosing."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..core.checks import check_int


class EncoderRegressor(nn.Module):
    """``depth`` pre-norm ``nn.TransformerEncoderLayer`` blocks, averaged over positions, then a
    linear layer with one output."""

    def __init__(self, encoder: nn.TransformerEncoder, head: nn.Linear):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x).mean(dim=1))


def build_encoder(depth: int = 6, d: int = 32, seed: int = 0) -> EncoderRegressor:
    """The diagnose chapter's Transformer: width ``d``, 4 heads, feed-forward width ``2 d``, no dropout.

    Parameters
    ----------
    depth : int
        Encoder blocks, >= 1.
    d : int
        Width of the tokens, a multiple of 4 (the heads).
    seed : int
        Modules are created under ``torch.manual_seed(seed)`` in a forked random state (the
        global one is untouched).

    Returns
    -------
    EncoderRegressor
        Maps ``(batch, positions, d)`` to ``(batch, 1)``.
    """
    depth = check_int("depth", depth, 1)
    d = check_int("d", d, 4)
    if d % 4:
        raise ValueError(f"d must be a multiple of 4 (the heads), got {d}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        block = nn.TransformerEncoderLayer(
            d, nhead=4, dim_feedforward=2 * d, dropout=0.0, batch_first=True, norm_first=True
        )
        encoder = nn.TransformerEncoder(block, depth, enable_nested_tensor=False)
        head = nn.Linear(d, 1)
    return EncoderRegressor(encoder, head)


def init_matrices(model: EncoderRegressor, init: Callable, seed: int = 0) -> EncoderRegressor:
    """Apply ``init`` (e.g. ``nn.init.normal_``) to every weight matrix of the encoder, in place.

    The loop ``for p in model.parameters(): if p.dim() > 1: init(p)``, under
    ``torch.manual_seed(seed)`` in a forked random state. Returns ``model``.
    """
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(int(seed))
        for p in model.encoder.parameters():
            if p.dim() > 1:
                init(p)
    return model


def random_tokens(n: int = 64, positions: int = 16, d: int = 32, seed: int = 0):
    """``n`` sequences of ``positions`` standard-normal token vectors, and standard-normal targets."""
    g = torch.Generator().manual_seed(int(seed))
    tokens = torch.randn(n, positions, d, generator=g)
    return tokens, torch.randn(n, 1, generator=g)
