"""Which layers are reported, and with which weights: the one rule of profile, train, watch and diagnose."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.conv import _ConvNd
from torch.nn.utils import parametrize

__all__ = [
    "ATTENTION_TYPES",
    "PROBED_TYPES",
    "Layer",
    "declares_layers",
    "is_probed",
    "layer_kind",
    "layer_weights",
    "module_names",
    "reported_layers",
]

PROBED_TYPES = (nn.Linear, _ConvNd, nn.RNNBase, nn.RNNCellBase, nn.Embedding, nn.EmbeddingBag, nn.Bilinear)
"""Torch's layers with a weight matrix (or kernel) that gradients flow into. Any other module
that owns a parameter of 2 or more dimensions (a Hugging Face ``Conv1D``, a custom linear) is
reported too: :func:`is_probed`."""

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

    @property
    def kind(self) -> str:
        """What sort of layer it is: see :func:`layer_kind`."""
        return layer_kind(self.module)

    def __repr__(self) -> str:
        return f"Layer({self.name!r}, {type(self.module).__name__}, {len(self.weights)} weights)"


def _matrices(module: nn.Module) -> bool:
    """True when ``module`` itself owns a parameter of 2+ dimensions (or a parametrized one).
    A parametrization's ``original`` belongs to the layer it parametrizes, not to its holder."""
    if isinstance(module, parametrize.ParametrizationList):
        return False
    if any(p is not None and p.dim() >= 2 for p in module._parameters.values()):
        return True
    if "parametrizations" in module._modules and parametrize.is_parametrized(module):
        return any(p.dim() >= 2 for p in module.parametrizations.parameters())
    return False


def is_probed(module: nn.Module) -> bool:
    """True for a reported layer: a module that owns a weight of 2 or more dimensions (Linear,
    Conv, embedding, RNN, a Hugging Face ``Conv1D``, your own linear), or an attention layer."""
    return isinstance(module, _REPORTABLE) or _matrices(module)


def layer_kind(module: nn.Module) -> str:
    """``"attention"``, ``"recurrent"``, ``"embedding"`` (a lookup table: no activation, and its
    gradient reaches only the rows looked up), ``"conv"`` or ``"linear"`` (any other weight)."""
    if isinstance(module, ATTENTION_TYPES):
        return "attention"
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return "recurrent"
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return "embedding"
    return "conv" if isinstance(module, _ConvNd) else "linear"


def layer_weights(module: nn.Module) -> list[torch.Tensor]:
    """A reported layer's weights: its parameters of 2+ dimensions; attention's projections.

    A parametrized weight (``spectral_norm``, ``orthogonal``) is represented by the parameters
    it is computed from, which are what receives the gradient. Biases, and the 1-D scales of
    norm layers, are not weights here.
    """
    if isinstance(module, nn.MultiheadAttention):
        names = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")
        own = [w for n in names if isinstance(w := getattr(module, n, None), nn.Parameter)]
        return [*own, *layer_weights(module.out_proj)]
    seen: set[int] = set()  # as named_parameters(recurse=False): a tensor registered twice counts once
    weights = []
    for p in module._parameters.values():
        if p is not None and id(p) not in seen:
            seen.add(id(p))
            if p.dim() >= 2:
                weights.append(p)
    if "parametrizations" in module._modules and parametrize.is_parametrized(module):
        for plist in module.parametrizations.values():
            weights += [p for n, p in plist.named_parameters(recurse=False) if n.startswith("original")]
    return weights


def module_names(model: nn.Module) -> dict[nn.Module, str]:
    """Every submodule with its name, as ``named_modules`` gives them (a shared one once)."""
    names: dict[nn.Module, str] = {}

    def visit(module: nn.Module, prefix: str) -> None:
        names[module] = prefix
        for key, child in module._modules.items():
            if child is not None and child not in names:
                visit(child, f"{prefix}.{key}" if prefix else key)

    visit(model, "")
    return names


def declares_layers(model: nn.Module) -> bool:
    """True when the model names the layers to report (``hidden_linears``, as :func:`build_mlp`
    models do): the others are left out by choice, not because they did not run."""
    return getattr(model, "hidden_linears", None) is not None


def reported_layers(model: nn.Module, names: dict[nn.Module, str] | None = None) -> list[Layer]:
    """The layers of ``model`` that profile, train, watch and diagnose report, with their weights.

    Parameters
    ----------
    model : nn.Module
        Any model.
    names : dict, optional
        Each submodule's name, as :func:`module_names` gives them, when the caller
        has it already.

    Returns
    -------
    list of Layer
        ``model.hidden_linears`` when the model has it (as :func:`build_mlp` models do), in
        that order. Otherwise every module :func:`is_probed` accepts, in registration order,
        except a layer all of whose weights belong to an attention layer (an attention's
        ``out_proj``): it is reported once, as part of the attention.
        :func:`gradient_profile` reports those of them that ran, in call order; what is not
        reported is listed by :func:`.coverage.coverage`.
    """
    if names is None:
        names = module_names(model)
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
