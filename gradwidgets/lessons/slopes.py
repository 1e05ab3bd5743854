"""How much each layer scales the gradient on its way back: predicted from slopes, and measured."""

from __future__ import annotations

import numpy as np
import torch

from ..core.activations import get_activation
from ..core.checks import check_positive
from ..core.models import MLP
from ..core.profile import GradientProfile


def _plain(model: MLP) -> None:
    if not isinstance(model, MLP):
        raise ValueError(f"model must be an MLP from build_mlp, got {type(model).__name__}")
    if model.config.get("norm") is not None or model.config.get("residual"):
        raise ValueError("model: the slope argument is for plain stacks, without norm layers or skips")


def slope_rms(model: MLP, X: torch.Tensor) -> np.ndarray:
    """The root mean square of f'(z_l) over the batch and the units, for each hidden layer.

    Parameters
    ----------
    model : MLP
        A plain network from :func:`gradwidgets.build_mlp` (no norm layers, no skips).
    X : torch.Tensor
        The batch whose pre-activations are used.

    Returns
    -------
    numpy.ndarray
        One value per hidden layer, input to output.
    """
    _plain(model)
    act = get_activation(model.config["activation"])
    with torch.no_grad():
        slopes = [act.derivative(z.double()) for z in model.preactivations(X)]
    return np.array([float(s.pow(2).mean().sqrt()) for s in slopes])


def predicted_backward_factors(model: MLP, X: torch.Tensor) -> np.ndarray:
    """For layers 2..L: ``||W_l|| / sqrt(n_out)`` times the RMS of ``f'(z_l)``.

    Going back through layer l, the gradient is multiplied by ``f'(z_l)`` entry by entry and
    then by ``W_l`` transposed. For random weights the first step scales its norm by about the
    RMS slope and the second by the root mean square row norm of ``W_l``, ``||W_l|| / sqrt(n_out)``
    (which is the gain ``g`` when ``Var(W) = g^2 / n_in`` and the layer is square).

    Returns
    -------
    numpy.ndarray
        L - 1 predicted ratios ``||dL/dh_{l-1}|| / ||dL/dh_l||``, for l = 2..L.
    """
    rms = slope_rms(model, X)
    scale = [
        float(lin.weight.detach().double().norm()) / lin.weight.shape[0] ** 0.5
        for lin in model.hidden_linears
    ]
    return (np.array(scale) * rms)[1:]


def predicted_backward_factor(model: MLP, X: torch.Tensor) -> float:
    """The geometric mean of :func:`predicted_backward_factors`: the typical factor per layer."""
    return float(np.exp(np.mean(np.log(predicted_backward_factors(model, X)))))


def measured_backward_factor(profile: GradientProfile) -> float:
    """``(||dL/dh_1|| / ||dL/dh_L||) ** (1 / (L - 1))``: the measured factor per layer, on average."""
    g = np.asarray(profile.act_grad_norm, dtype=np.float64)
    if len(g) < 2:
        raise ValueError("profile: need at least two layers to measure a factor between them")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((g[0] / g[-1]) ** (1.0 / (len(g) - 1)))


def gaussian_slope_rms(activation: str, variance: float) -> float:
    """``sqrt(E[f'(z)^2])`` for ``z ~ N(0, variance)``: the RMS slope of a wide layer at that scale.

    It is the slope factor of :func:`predicted_backward_factors` in the limit of many units, for
    pre-activations of mean 0 and the given variance; the integral is a midpoint sum on a fine
    grid, in float64.

    Parameters
    ----------
    activation : str
        One of :data:`gradwidgets.ACTIVATIONS`.
    variance : float
        The variance of the pre-activations, > 0.

    Returns
    -------
    float
    """
    act = get_activation(activation)
    variance = check_positive("variance", variance)
    std = variance**0.5
    n, half_width = 240_000, 12 * std  # midpoints of equal cells, so z = 0 is a cell boundary
    z = (torch.arange(n, dtype=torch.float64) + 0.5) * (2 * half_width / n) - half_width
    density = torch.exp(-0.5 * (z / std) ** 2) / (std * (2 * torch.pi) ** 0.5)
    return float((act.derivative(z).pow(2) * density).sum().mul(2 * half_width / n).sqrt())
