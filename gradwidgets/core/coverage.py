"""What a profile covers: the share of a model's trainable parameters held by its reported layers."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .layers import Layer, is_probed, module_names

__all__ = ["Coverage", "coverage"]


@dataclass(frozen=True)
class Coverage:
    """Which of a model's trainable parameters the reported layers hold, and which they don't.

    ``missing`` lists, per module type, the modules holding trainable parameters outside the
    reported layers (norm scales, biases of unreported modules, a custom module's vectors):
    ``(type name, number of modules, parameters, first module names)``. ``not_run`` names the
    layers of a reportable kind that did not run in the pass (so nothing was measured there).
    """

    layers: int
    reported: int
    total: int
    missing: tuple[tuple[str, int, int, tuple[str, ...]], ...] = ()
    not_run: tuple[str, ...] = ()

    @property
    def fraction(self) -> float:
        """The share of trainable parameters held by the reported layers (1.0 when there are none)."""
        return self.reported / self.total if self.total else 1.0

    def __str__(self) -> str:
        text = f"reported {self.layers} layers holding {_share(self.fraction)} of trainable parameters"
        if self.missing:
            parts = []
            for kind, count, params, names in self.missing:
                shown = ", ".join(names) + (", ..." if count > len(names) else "")
                parts.append(f"{count} {kind} ({params:,} parameters: {shown})")
            text += "; not reported: " + "; ".join(parts)
        if self.not_run:
            shown = ", ".join(self.not_run[:3]) + (", ..." if len(self.not_run) > 3 else "")
            text += f"; did not run in this pass: {len(self.not_run)} layers ({shown})"
        return text

    def __repr__(self) -> str:
        return f"Coverage({self})"


def _share(fraction: float) -> str:
    """99.7%, but never 100.0% for a share below one, nor 0.0% for one above zero."""
    pct = 100 * fraction
    if 99.95 <= pct < 100:
        return ">99.9%"
    if 0 < pct < 0.05:
        return "<0.1%"
    return f"{pct:.1f}%" if pct % 1 else f"{pct:.0f}%"


def coverage(model: nn.Module, layers: tuple[Layer, ...], chosen: bool = False) -> Coverage:
    """The :class:`Coverage` of ``layers`` (a profile's reported layers) in ``model``.

    A reported layer holds its own parameters (weights and biases; an attention layer also
    those of its ``out_proj``). Tied parameters count once; frozen ones not at all. Unless the
    layers were ``chosen`` (by the caller, or by the model's ``hidden_linears``), a layer of a
    reportable kind that is not among them did not run.
    """
    names = module_names(model)
    held: set[int] = set()
    for lr in layers:
        held.update(id(w) for w in lr.weights)
        for m in lr.module.modules() if isinstance(lr.module, nn.MultiheadAttention) else (lr.module,):
            held.update(id(p) for p in m.parameters(recurse=False))
    total = reported = 0
    seen: set[int] = set()
    by_type: dict[str, list] = {}
    for module, name in names.items():
        own = [p for p in module.parameters(recurse=False) if p.requires_grad and id(p) not in seen]
        seen.update(id(p) for p in own)
        count = sum(p.numel() for p in own)
        total += count
        outside = sum(p.numel() for p in own if id(p) not in held)
        reported += count - outside
        if outside:
            entry = by_type.setdefault(type(module).__name__, [0, 0, []])
            entry[0] += 1
            entry[1] += outside
            entry[2].append(name or "(the model itself)")
    missing = sorted(((k, n, p, tuple(ns[:3])) for k, (n, p, ns) in by_type.items()), key=lambda e: -e[2])
    ran = {lr.module for lr in layers}
    not_run = (
        ()
        if chosen
        else tuple(
            name
            for module, name in names.items()
            if is_probed(module) and module not in ran and not _inside_attention(module, layers)
        )
    )
    return Coverage(len(layers), reported, total, tuple(missing), not_run)


def _inside_attention(module: nn.Module, layers: tuple[Layer, ...]) -> bool:
    """True for an attention layer's ``out_proj``: reported as part of it."""
    return any(
        isinstance(lr.module, nn.MultiheadAttention) and module in lr.module.modules() for lr in layers
    )
