"""Which layers are reported, and with which weights: the one rule of profile, train, watch and diagnose."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["ATTENTION_TYPES", "PROBED_TYPES", "Layer", "is_probed", "layer_weights", "reported_layers"]

PROBED_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase, nn.RNNCellBase)
"""Layers that are reported: those with a weight matrix (or kernel) that gradients flow into."""

ATTENTION_TYPES = (nn.MultiheadAttention,)
"""Layers reported as a whole: they use their projection weights functionally, so the hooks of
their child ``out_proj`` never fire. ``out_proj`` is reported as part of its attention layer."""

_REPORTABLE = PROBED_TYPES + ATTENTION_TYPES


@dataclass(frozen=True, eq=False)
class Layer:
    """One reported layer: its name in the model, the module, and its weight tensors."""

    name: str
    module: nn.Module
    weights: tuple[torch.Tensor, ...]

    def __repr__(self) -> str:
        return f"Layer({self.name!r}, {type(self.module).__name__}, {len(self.weights)} weights)"


def is_probed(module: nn.Module) -> bool:
    """True for a module of a reported type: Linear, Conv, RNN (cell) or attention."""
    return isinstance(module, _REPORTABLE)


def layer_weights(module: nn.Module) -> list[torch.Tensor]:
    """A reported layer's weight matrices: its ``weight*`` parameters; attention's projections.

    A parametrized weight (``spectral_norm``, ``orthogonal``) is represented by the parameters
    it is computed from, which are what receives the gradient.
    """
    if isinstance(module, nn.MultiheadAttention):
        names = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")
        own = [w for n in names if isinstance(w := getattr(module, n, None), nn.Parameter)]
        return [*own, *layer_weights(module.out_proj)]
    seen: set[int] = set()  # as named_parameters(recurse=False): a tensor registered twice counts once
    weights = []
    for n, p in module._parameters.items():
        if p is not None and id(p) not in seen:
            seen.add(id(p))
            if n.startswith("weight"):
                weights.append(p)
    if "parametrizations" in module._modules and parametrize.is_parametrized(module):
        for name, plist in module.parametrizations.items():
            if name.startswith("weight"):
                weights += [p for n, p in plist.named_parameters(recurse=False) if n.startswith("original")]
    return weights


def reported_layers(model: nn.Module, names: dict[nn.Module, str] | None = None) -> list[Layer]:
    """The layers of ``model`` that profile, train, watch and diagnose report, with their weights.

    Parameters
    ----------
    model : nn.Module
        Any model.
    names : dict, optional
        Each submodule's name, as :func:`.tracing.module_names` gives them, when the caller
        has it already.

    Returns
    -------
    list of Layer
        ``model.hidden_linears`` when the model has it (as :func:`build_mlp` models do), in
        that order. Otherwise every Linear, Conv, RNN and attention layer in registration
        order, except a layer all of whose weights belong to an attention layer (an
        attention's ``out_proj``): it is reported once, as part of the attention.
        :func:`gradient_profile` reports those of them that ran, in call order.
    """
    if names is None:
        names = {m: n for n, m in model.named_modules()}
    declared = getattr(model, "hidden_linears", None)
    if declared is not None:
        return [Layer(names[m], m, tuple(layer_weights(m))) for m in declared]
    layers = [Layer(names[m], m, tuple(layer_weights(m))) for m in names if is_probed(m)]
    covered = {id(w) for lr in layers if isinstance(lr.module, ATTENTION_TYPES) for w in lr.weights}
    return [lr for lr in layers if not _covered(lr, covered)]


def _covered(layer: Layer, covered: set[int]) -> bool:
    """True for a non-attention layer all of whose weights belong to an attention layer."""
    ids = {id(w) for w in layer.weights}
    return not isinstance(layer.module, ATTENTION_TYPES) and bool(ids) and ids <= covered
