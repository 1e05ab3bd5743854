"""A small transformer, post-LN or pre-LN, and the gradient each layer gets at initialization.

The model is a stack of ``torch.nn.TransformerEncoderLayer`` (``norm_first`` chooses pre-LN)
on a token task that needs attention: output the input sequence reversed. With ``causal=True``
every layer gets a causal mask (a token attends only to itself and earlier ones): a small
decoder-only stack, as in GPT, trained to predict the next token of a sequence that repeats
its first half (:func:`copy_task`). Every weight matrix
inside the layers is drawn with Xavier's normal init and every bias there is zero, the setting of
Xiong et al. (2020)'s analysis. :func:`ffn_grad_norms` measures ``||dL/dW2||`` of each layer's
feed-forward output matrix (``linear2.weight``), the parameters that paper's Theorem 1 is about.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core._util import fmt
from ..core.checks import check_bool, check_int, check_seed

MAX_LAYERS = 64
"""The deepest stack built here: every measurement must stay a fraction of a second."""


class TinyTransformer(nn.Module):
    """Token and position embeddings, ``num_layers`` encoder layers, a final LayerNorm for pre-LN, a head."""

    def __init__(
        self,
        num_layers: int,
        norm_first: bool,
        d_model: int,
        nhead: int,
        vocab: int,
        seq_len: int,
        causal: bool = False,
    ):
        super().__init__()
        self.norm_first, self.vocab, self.causal = norm_first, vocab, causal
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(0.02 * torch.randn(seq_len, d_model))
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model, nhead, 4 * d_model, dropout=0.0, batch_first=True, norm_first=norm_first
            )
            for _ in range(num_layers)
        )
        # pre-LN leaves the residual stream unnormalized: a last LayerNorm before the head (as GPT-2)
        self.final_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens) + self.pos[: tokens.shape[1]]
        mask = nn.Transformer.generate_square_subsequent_mask(tokens.shape[1]) if self.causal else None
        for layer in self.layers:
            h = layer(h, src_mask=mask, is_causal=self.causal)
        return self.head(self.final_norm(h))

    def extra_repr(self) -> str:
        kind = ", causal (decoder-only)" if self.causal else ""
        return f"{'pre' if self.norm_first else 'post'}-LN, {len(self.layers)} layers{kind}"


def build_transformer(
    num_layers: int,
    norm_first: bool,
    d_model: int = 32,
    nhead: int = 4,
    vocab: int = 8,
    seq_len: int = 8,
    seed: int = 0,
    causal: bool = False,
) -> TinyTransformer:
    """A seeded :class:`TinyTransformer` with Xavier-normal weights and zero biases in its layers.

    Parameters
    ----------
    num_layers : int
        Encoder layers, 1 to :data:`MAX_LAYERS`.
    norm_first : bool
        False: post-LN (``x + F(x)`` then LayerNorm, the original transformer); True: pre-LN
        (``x + F(LayerNorm(x))``, with a final LayerNorm before the head).
    d_model, nhead : int
        Width of the residual stream and attention heads (``d_model`` divisible by ``nhead``);
        the feed-forward layer has ``4 * d_model`` units; no dropout.
    vocab, seq_len : int
        Tokens and the longest sequence.
    seed : int
        Seed of the initialization.
    causal : bool
        True: a causal mask in every layer (a decoder-only stack).

    Returns
    -------
    TinyTransformer
    """
    num_layers = check_int("num_layers", num_layers, 1, MAX_LAYERS)
    norm_first = check_bool("norm_first", norm_first)
    d_model = check_int("d_model", d_model, 1, 512)
    nhead = check_int("nhead", nhead, 1, d_model)
    if d_model % nhead:
        raise ValueError(f"d_model={d_model} is not allowed; it must be divisible by nhead={nhead}")
    vocab, seq_len = check_int("vocab", vocab, 2, 1024), check_int("seq_len", seq_len, 1, 1024)
    causal = check_bool("causal", causal)
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(check_seed("seed", seed))
    try:
        model = TinyTransformer(num_layers, norm_first, d_model, nhead, vocab, seq_len, causal)
        for name, p in model.layers.named_parameters():
            if p.dim() == 2:
                nn.init.xavier_normal_(p)
            elif name.endswith("bias") and "norm" not in name:
                nn.init.zeros_(p)
    finally:
        torch.random.set_rng_state(gen_state)
    return model


def reversal_task(
    n: int = 64, seq_len: int = 8, vocab: int = 8, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random token sequences and, as targets, the same sequences reversed.

    Returns
    -------
    (X, y) : tuple of torch.Tensor
        Integer tensors of shape ``(n, seq_len)``.
    """
    n, seq_len = check_int("n", n, 1, 100_000), check_int("seq_len", seq_len, 1, 1024)
    vocab = check_int("vocab", vocab, 2, 1024)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    X = torch.randint(0, vocab, (n, seq_len), generator=gen)
    return X, X.flip(1)


def copy_task(n: int = 64, half: int = 8, vocab: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token prediction on ``n`` random sequences of ``half`` tokens followed by themselves.

    Returns
    -------
    (X, y) : tuple of torch.Tensor
        Integer tensors of shape ``(n, 2 * half - 1)``: ``y`` is ``X`` shifted one token on. The
        second half is predictable only by attending back to the first.
    """
    n, half = check_int("n", n, 1, 100_000), check_int("half", half, 1, 512)
    vocab = check_int("vocab", vocab, 2, 1024)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    first = torch.randint(0, vocab, (n, half), generator=gen)
    tokens = torch.cat([first, first], dim=1)
    return tokens[:, :-1], tokens[:, 1:]


def token_loss(model: TinyTransformer, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every token of the batch."""
    out = model(X)
    return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


@dataclass(frozen=True, repr=False)
class LayerGrads:
    """``w2[l]``: ``||dL/dW2||`` (Frobenius) of layer ``l + 1``'s feed-forward output matrix."""

    norm_first: bool
    w2: np.ndarray
    loss: float

    def __repr__(self) -> str:
        kind = "pre-LN" if self.norm_first else "post-LN"
        return f"LayerGrads({kind}, loss={fmt(self.loss)}, |dL/dW2| by layer: {', '.join(map(fmt, self.w2))})"


def ffn_grad_norms(model: TinyTransformer, X: torch.Tensor, y: torch.Tensor) -> LayerGrads:
    """One forward and backward pass: ``||dL/dW2||`` of every layer (the model is not changed)."""
    if not isinstance(model, TinyTransformer):
        raise ValueError(
            f"model must be a TinyTransformer (from build_transformer), got {type(model).__name__}"
        )
    with torch.enable_grad():
        loss = token_loss(model, X, y)
        grads = torch.autograd.grad(loss, [layer.linear2.weight for layer in model.layers])
    return LayerGrads(model.norm_first, np.array([float(g.norm()) for g in grads]), float(loss.detach()))


def mean_ffn_grad_norms(
    num_layers: int, norm_first: bool, seeds: int = 4, causal: bool = False
) -> np.ndarray:
    """:func:`ffn_grad_norms` averaged over the initializations of seeds ``0 .. seeds - 1``, on
    :func:`reversal_task`'s default batch, or with ``causal`` a decoder-only stack on
    :func:`copy_task`'s (computed once per process and argument)."""
    seeds = check_int("seeds", seeds, 1, 64)
    return _mean_ffn_grad_norms(
        check_int("num_layers", num_layers, 1, MAX_LAYERS),
        check_bool("norm_first", norm_first),
        seeds,
        check_bool("causal", causal),
    ).copy()


@functools.cache
def _mean_ffn_grad_norms(num_layers: int, norm_first: bool, seeds: int, causal: bool) -> np.ndarray:
    X, y = copy_task() if causal else reversal_task()
    runs = [
        ffn_grad_norms(
            build_transformer(num_layers, norm_first, seed=s, seq_len=X.shape[1], causal=causal), X, y
        ).w2
        for s in range(seeds)
    ]
    return np.mean(runs, axis=0)
