"""Per-layer Jacobians of a deep MLP at one input, and the singular values of their products.

Backpropagation carries ``dL/dh_D`` down to layer ``l`` by multiplying it with the transposed
Jacobians ``J_D, ..., J_{l+1}``, where ``J_l = dh_l/dh_{l-1} = diag(f'(z_l)) W_l`` (plus the
identity with a skip connection). The singular values of the product say how much any
gradient can grow or shrink on the way: ``sigma_min |g| <= |P^T g| <= sigma_max |g|``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core._util import fmt, format_table
from ..core.activations import activation_of_module

Tensor = torch.Tensor


def layer_jacobians(model: nn.Module, x: Tensor) -> list[Tensor]:
    """The Jacobian ``J_l = dh_l/dh_{l-1}`` of every hidden layer at one input, by the formula.

    Parameters
    ----------
    model : MLP
        A model from :func:`gradwidgets.build_mlp` without normalization (a normalization
        layer makes ``J_l`` depend on the whole batch, not on one input).
    x : torch.Tensor
        One input, shape ``(in_features,)`` or ``(1, in_features)``.

    Returns
    -------
    list of torch.Tensor
        ``J_1, ..., J_D`` in float64, input to output; ``J_l`` has shape
        ``(width, fan_in)``: ``diag(f'(z_l)) W_l``, plus the identity for a residual block.
    """
    blocks = getattr(model, "blocks", None)
    if blocks is None:
        raise ValueError("model must be a gradwidgets MLP (from build_mlp): it has no .blocks")
    h = x.detach().double().reshape(-1)
    jacobians = []
    with torch.no_grad():
        for i, block in enumerate(blocks):
            if not isinstance(block.norm, nn.Identity):
                raise ValueError(
                    f"block {i} has {type(block.norm).__name__}: with normalization the Jacobian "
                    "depends on the whole batch; use a model built with norm=None"
                )
            act = activation_of_module(block.act)
            if act is None:
                raise ValueError(f"block {i}: unknown activation {type(block.act).__name__}")
            W = block.linear.weight.double()
            if W.shape[1] != h.numel():
                raise ValueError(f"x has {h.numel()} features but layer 1 expects {W.shape[1]}")
            z = W @ h + block.linear.bias.double()
            J = act.derivative(z)[:, None] * W  # diag(f'(z)) W: row i scaled by f'(z_i)
            out = act.make().double()(z)
            if block.residual:
                J = J + torch.eye(J.shape[0], dtype=J.dtype)
                out = h + out
            jacobians.append(J)
            h = out
    return jacobians


def autograd_layer_jacobians(model: nn.Module, x: Tensor) -> list[Tensor]:
    """The same Jacobians as :func:`layer_jacobians`, computed by autograd instead of the formula.

    Each hidden block is differentiated as a function of its input with
    ``torch.autograd.functional.jacobian``, on a float64 copy of the model.
    """
    blocks = getattr(model, "blocks", None)
    if blocks is None:
        raise ValueError("model must be a gradwidgets MLP (from build_mlp): it has no .blocks")
    h = x.detach().double().reshape(1, -1)
    jacobians = []
    for block in blocks:
        block = copy.deepcopy(block).double().eval()
        J = torch.autograd.functional.jacobian(lambda v, b=block: b(v[None])[0], h[0])
        jacobians.append(J)
        with torch.no_grad():
            h = block(h)
    return jacobians


def _singular_values(A: np.ndarray, error_scale: float | None = None) -> np.ndarray:
    """Singular values, largest first; those within rounding error of zero become 0.

    The rounding error is ``max(A.shape) * eps * error_scale``, with ``error_scale`` the
    largest singular value by default (numpy's rank tolerance). For a product computed in
    float64 it must be larger: the product of its factors' largest singular values times
    their number, which bounds the error of forming the product.
    """
    s = np.linalg.svd(A, compute_uv=False)
    scale = (s[0] if s.size else 0.0) if error_scale is None else max(error_scale, s[0] if s.size else 0.0)
    return np.where(s > scale * max(A.shape) * np.finfo(np.float64).eps, s, 0.0)


@dataclass(frozen=True, repr=False)
class JacobianSpectrum:
    """Singular values of each Jacobian ``J_l`` and of each product ``P_l = J_D ⋯ J_l``.

    ``P_l`` maps a change of ``h_{l-1}`` to the change of ``h_D``; its transpose carries
    ``dL/dh_D`` back to ``dL/dh_{l-1}``. Entry ``i`` of every array belongs to layer
    ``first_layer + i``, input to output. Singular values within float64 rounding error of
    zero are reported as 0: for a product of ``m`` Jacobians, those below
    ``max(shape) * eps * m * prod_k sigma_max(J_k)``. ``gradient_gain`` is ``|P_l^T g| / |g|``
    for the top gradient ``g`` given to :func:`jacobian_singular_values`, else None.
    """

    layer_values: tuple[np.ndarray, ...]
    product_values: tuple[np.ndarray, ...]
    gradient_gain: np.ndarray | None = None
    first_layer: int = 1

    @property
    def layers(self) -> np.ndarray:
        """The layer number ``l`` of each entry."""
        return np.arange(self.first_layer, self.first_layer + len(self))

    @property
    def layer_sigma_max(self) -> np.ndarray:
        """Largest singular value of each ``J_l``."""
        return np.array([s[0] for s in self.layer_values])

    @property
    def layer_sigma_min(self) -> np.ndarray:
        """Smallest singular value of each ``J_l`` (of its ``min(shape)`` values)."""
        return np.array([s[-1] for s in self.layer_values])

    @property
    def sigma_max(self) -> np.ndarray:
        """Largest singular value of each product ``J_D ⋯ J_l``: the most a gradient can grow."""
        return np.array([s[0] for s in self.product_values])

    @property
    def sigma_min(self) -> np.ndarray:
        """Smallest singular value of each product: the least a gradient can be multiplied by."""
        return np.array([s[-1] for s in self.product_values])

    @property
    def sigma_rms(self) -> np.ndarray:
        """Root-mean-square singular value of each product: what a random direction gets on average."""
        return np.array([np.sqrt(np.mean(s**2)) for s in self.product_values])

    def __len__(self) -> int:
        return len(self.layer_values)

    def __repr__(self) -> str:
        header = ["layer", "σmax(J_l)", "σmin(J_l)", "σmax(J_D⋯J_l)", "σrms(J_D⋯J_l)", "σmin(J_D⋯J_l)"]
        cols = [self.layer_sigma_max, self.layer_sigma_min, self.sigma_max, self.sigma_rms, self.sigma_min]
        if self.gradient_gain is not None:
            header.append("|dL/dh_l-1| / |dL/dh_D|")
            cols.append(self.gradient_gain)
        rows = [[str(n), *(fmt(float(c[i])) for c in cols)] for i, n in enumerate(self.layers)]
        return f"JacobianSpectrum({len(self)} layers)\n" + format_table(header, rows)


def jacobian_singular_values(
    jacobians: Sequence[Tensor], grad: Tensor | None = None, first_layer: int = 1
) -> JacobianSpectrum:
    """Singular values of each Jacobian and of the products ``J_D ⋯ J_l`` for ``l = D, ..., 1``.

    Parameters
    ----------
    jacobians : sequence of torch.Tensor
        ``J_1, ..., J_D``, input to output, as :func:`layer_jacobians` returns them.
    grad : torch.Tensor, optional
        A gradient ``dL/dh_D`` (shape ``(width,)``) to carry back through the products; its
        growth ``|P_l^T g| / |g|`` is stored as ``gradient_gain``.
    first_layer : int
        The layer number of ``jacobians[0]`` (2 when ``J_1`` is left out), for labels only.

    Returns
    -------
    JacobianSpectrum
    """
    if not jacobians:
        raise ValueError("jacobians must hold at least one matrix")
    # numpy for the products and SVDs: at this size torch's thread pool costs more than it saves
    mats = [J.detach().double().numpy() for J in jacobians]
    products: list[np.ndarray] = []
    P = None
    for J in reversed(mats):  # P_D = J_D, then P_l = P_{l+1} J_l
        P = J if P is None else P @ J
        products.append(P)
    products.reverse()
    gain = None
    if grad is not None:
        g = grad.detach().double().numpy().reshape(-1)
        gain = np.array([np.linalg.norm(P.T @ g) / np.linalg.norm(g) for P in products])
    layer_values = tuple(_singular_values(J) for J in mats)
    bounds = np.cumprod([s[0] for s in layer_values][::-1])[::-1]  # prod of sigma_max(J_k), k >= l
    counts = np.arange(len(mats), 0, -1)
    return JacobianSpectrum(
        layer_values=layer_values,
        product_values=tuple(
            _singular_values(P, b * m) for P, b, m in zip(products, bounds, counts, strict=True)
        ),
        gradient_gain=gain,
        first_layer=int(first_layer),
    )
