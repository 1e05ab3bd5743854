"""What a normalization layer divides by, and a way to shake its output on purpose.

Batch norm divides each unit's pre-activation by its spread over the examples of the batch;
layer norm divides each example's pre-activations by their spread over the units. Backprop
multiplies the gradient by the reciprocal of the same spread, so these two numbers say how much
each kind of normalization rescales a layer's gradient. :func:`inject_shift` adds a fresh random
gain and shift after every normalization at every training step: the "covariate shift" that
batch norm was said to remove, put back in (Santurkar et al., 2018). :func:`activation_drift`
measures how far the distribution that each activation sees moves from one step to the next.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core._util import fmt, format_table
from ..core.checks import check_positive
from ..core.history import History
from ..core.training import train


@dataclass(frozen=True, repr=False)
class InputScales:
    """Per hidden layer, the size of its input ``h_{l-1}`` and the spread of ``z_l = W_l h_{l-1} + b_l``.

    ``batch_std``: each unit's standard deviation over the examples of the batch, averaged over
    the units (what batch norm divides by). ``feature_std``: each example's standard deviation
    over the units, averaged over the examples (what layer norm divides by). Both are measured
    before the normalization, with the biased (1/n) variance that the normalization layers use.
    ``input_rms``: the root mean square of the entries of the layer's input ``h_{l-1}`` (with skip
    connections, the running sum that every block adds to).
    """

    batch_std: np.ndarray
    feature_std: np.ndarray
    input_rms: np.ndarray

    def __len__(self) -> int:
        return len(self.batch_std)

    def __repr__(self) -> str:
        header = ["layer", "rms of input", "std of z over the batch", "std of z over the units"]
        cols = zip(self.input_rms, self.batch_std, self.feature_std, strict=True)
        rows = [[str(i + 1), *map(fmt, c)] for i, c in enumerate(cols)]
        return f"InputScales({len(self)} layers)\n" + format_table(header, rows)


def _blocks(model: nn.Module) -> nn.ModuleList:
    blocks = getattr(model, "blocks", None)
    if blocks is None:
        raise ValueError("model must be a gradwidgets MLP (from build_mlp): it has no .blocks")
    return blocks


@torch.no_grad()
def input_scales(model: nn.Module, X: torch.Tensor) -> InputScales:
    """Measure every hidden layer's input size and its pre-activation's spread (batch, units).

    The model runs forward once on ``X`` as it is (its own training or evaluation mode); batch
    norm's running statistics are restored afterwards, so the model is left unchanged.

    Parameters
    ----------
    model : MLP
        A model from :func:`gradwidgets.build_mlp`.
    X : torch.Tensor
        A batch of inputs, shape ``(n, in_features)`` with ``n >= 2``.

    Returns
    -------
    InputScales
    """
    blocks = _blocks(model)
    if X.dim() != 2 or X.shape[0] < 2:
        raise ValueError(f"X has shape {tuple(X.shape)}; need (n, features) with n >= 2")
    saved = [(b, b.clone()) for b in model.buffers()]
    batch, feature, rms = [], [], []
    try:
        h = X
        for block in blocks:
            rms.append(float(h.pow(2).mean().sqrt()))
            z = block.linear(h)
            batch.append(float(z.std(0, correction=0).mean()))
            feature.append(float(z.std(1, correction=0).mean()))
            h = block(h)
    finally:
        for buf, copy in saved:
            buf.copy_(copy)
    return InputScales(np.array(batch), np.array(feature), np.array(rms))


class ShiftedNorm(nn.Module):
    """A normalization followed, in training mode, by a random gain and shift drawn per call.

    Every unit ``j`` gets ``exp(scale * a_j) * y_j + scale * b_j`` with fresh standard normal
    ``a_j, b_j`` at every forward pass: one training step of :func:`gradwidgets.train`, so the
    distribution that the next activation sees changes at every step. In evaluation mode it is
    the normalization alone.
    """

    def __init__(self, norm: nn.Module, scale: float, generator: torch.Generator):
        super().__init__()
        self.norm = norm
        self.scale = scale
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = self.norm(z)
        if not self.training or self.scale == 0:
            return y
        noise = torch.randn(2, y.shape[-1], generator=self.generator).to(y)
        return torch.exp(self.scale * noise[0]) * y + self.scale * noise[1]

    def extra_repr(self) -> str:
        return f"scale={self.scale:g}"


def inject_shift(model: nn.Module, scale: float, seed: int = 0) -> nn.Module:
    """Wrap every hidden block's normalization in a :class:`ShiftedNorm`, in place.

    Parameters
    ----------
    model : MLP
        A model from :func:`gradwidgets.build_mlp` (any ``norm``; with ``norm=None`` the noise
        follows the plain linear layer).
    scale : float
        Standard deviation of the log-gain and of the shift, >= 0.
    seed : int
        Seed of the noise; the same seed gives the same noise sequence.

    Returns
    -------
    nn.Module
        The same model, for chaining.
    """
    scale = check_positive("scale", scale, allow_zero=True)
    generator = torch.Generator().manual_seed(int(seed))
    for block in _blocks(model):
        if isinstance(block.norm, ShiftedNorm):
            raise ValueError("model already has injected shift; build a fresh model")
        block.norm = ShiftedNorm(block.norm, scale, generator)
    return model


@dataclass(frozen=True, repr=False)
class Drift:
    """How far each hidden activation's input distribution moved between consecutive training steps.

    For every unit, its mean ``m`` and standard deviation ``s`` over the batch are taken at
    every step; ``mean_shift[t, l]`` is the median over layer ``l``'s units of
    ``|m_{t+1} - m_t| / s_t`` (the mean's move, in units of the spread) and ``scale_shift[t, l]``
    the median of ``|log s_{t+1} - log s_t|`` (the spread's relative change). ``history`` is the
    training run, as :func:`gradwidgets.train` returns it. A step whose statistics are not finite
    (a run that diverged) counts as NaN.
    """

    mean_shift: np.ndarray
    scale_shift: np.ndarray
    history: History

    @property
    def typical(self) -> tuple[float, float]:
        """The medians of ``mean_shift`` and ``scale_shift`` over all steps and layers (finite ones)."""
        return float(np.nanmedian(self.mean_shift)), float(np.nanmedian(self.scale_shift))

    def __repr__(self) -> str:
        mean, scale = self.typical
        steps, layers = self.mean_shift.shape
        moves = f"per step: mean {fmt(mean)} spreads, log spread {fmt(scale)}"
        return f"Drift({steps + 1} steps, {layers} layers; {moves})"


def activation_drift(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, steps: int, lr: float, **train_kwargs
) -> Drift:
    """Train ``model`` with :func:`gradwidgets.train` and measure the drift of every activation's input.

    Parameters
    ----------
    model : MLP
        A model from :func:`gradwidgets.build_mlp`, trained in place.
    X, y : torch.Tensor
        The training batch.
    steps, lr, **train_kwargs
        As for :func:`gradwidgets.train` (``momentum``, ``loss``...).

    Returns
    -------
    Drift
    """
    blocks = _blocks(model)
    seen: list[list[tuple[torch.Tensor, torch.Tensor]]] = []

    def record(module: nn.Module, args: tuple) -> None:
        z = args[0].detach().double()
        if not seen or len(seen[-1]) == len(blocks):
            seen.append([])
        seen[-1].append((z.mean(0), z.std(0, correction=0)))

    hooks = [block.act.register_forward_pre_hook(record) for block in blocks]
    try:
        history = train(model, X, y, steps, lr, **train_kwargs)
    finally:
        for hook in hooks:
            hook.remove()
    seen = [step for step in seen if len(step) == len(blocks)]
    tiny = torch.finfo(torch.float64).tiny

    def moves(before, after) -> tuple[list[float], list[float]]:
        mean, scale = [], []
        for (m0, s0), (m1, s1) in zip(before, after, strict=True):
            s0, s1 = s0.clamp_min(tiny), s1.clamp_min(tiny)
            mean.append(float(((m1 - m0).abs() / s0).median()))
            scale.append(float((s1.log() - s0.log()).abs().median()))
        return mean, scale

    shifts = [moves(a, b) for a, b in itertools.pairwise(seen)]
    mean_shift = np.array([m for m, _ in shifts]).reshape(-1, len(blocks))
    scale_shift = np.array([s for _, s in shifts]).reshape(-1, len(blocks))
    mean_shift[~np.isfinite(mean_shift)] = np.nan
    scale_shift[~np.isfinite(scale_shift)] = np.nan
    return Drift(mean_shift, scale_shift, history)
