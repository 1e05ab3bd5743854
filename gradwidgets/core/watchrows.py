"""The rows of a watch: one per reported layer, or, for a large model, one per block of layers
sharing a module path (``layer4.1``, ``transformer.h.3``), so its heatmap stays readable."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .checks import check_int
from .layers import reported_layers
from .trainsetup import unwrap

__all__ = ["MAX_ROWS", "Rows", "auto_blocks", "block_name", "check_blocks", "watch_rows", "watched_layers"]

MAX_ROWS = 64
"""The most rows ``blocks="auto"`` keeps: a heatmap row each still reads on a laptop screen."""


def watched_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers a watch reports, as (name, module): :func:`.layers.reported_layers` of the
    module a wrapper (``torch.compile``, DistributedDataParallel) holds (:func:`.trainsetup.unwrap`)."""
    return [(lr.name, lr.module) for lr in reported_layers(unwrap(model))]


@dataclass(frozen=True)
class Rows:
    """What each row of a watch adds up.

    ``names[r]`` is the row's name (a layer's, or the module path its layers share);
    ``params[r]`` the positions, among the watched parameters, of the weights it adds up (the
    row's norm is the norm of those gradients taken together); ``modules[r]`` its layers'
    modules (whose outputs activation statistics read); ``frozen[r]`` is True when none of
    its weights is trainable (its norms are NaN).
    """

    names: tuple[str, ...]
    params: tuple[tuple[int, ...], ...]
    modules: tuple[tuple[nn.Module, ...], ...]
    frozen: tuple[bool, ...]


def check_blocks(blocks: object) -> str | int:
    """``blocks`` as watch takes it: "auto", "layers" or a module-path depth from 1 to 32."""
    if isinstance(blocks, str) and blocks in ("auto", "layers"):
        return blocks
    try:
        return check_int("blocks", blocks, 1, 32)
    except ValueError:
        raise ValueError(
            f'blocks={blocks!r} is not allowed; it must be "auto", "layers" or a module-path depth '
            "(an int from 1 to 32)"
        ) from None


def block_name(name: str, depth: int) -> str:
    """The first ``depth`` parts of a dotted module path (the whole path when it is shorter)."""
    return ".".join(name.split(".")[:depth])


def auto_blocks(names: list[str], limit: int = MAX_ROWS) -> list[str]:
    """Each layer's row for ``blocks="auto"``: the most detail in at most ``limit`` rows.

    The layers' own names when there are at most ``limit``; else the deepest module-path depth
    ``d`` whose blocks number at most ``limit``, refined where depth ``d + 1`` has more: inside
    each depth-``d`` block, its depth-``d + 1`` blocks in runs of ``k`` consecutive ones (the
    smallest ``k`` that fits), a run named ``parent.[first-last]`` after its first and last
    block's last name parts (``transformer.h.[0-2]``); a run of all of them is the parent.
    """
    if len(names) <= limit:
        return list(names)
    deepest = max(n.count(".") + 1 for n in names)
    depth = 0  # the deepest depth that fits (0: one block, the whole model)
    while depth < deepest and len({block_name(n, depth + 1) for n in names}) <= limit:
        depth += 1
    if depth == deepest:
        return [block_name(n, depth) for n in names]
    fine = [block_name(n, depth + 1) for n in names]
    children: dict[str, list[str]] = {}
    for key in dict.fromkeys(fine):
        children.setdefault(block_name(key, depth) if depth else "", []).append(key)
    k = 1
    while sum(-(-len(c) // k) for c in children.values()) > limit:
        k += 1
    row = {}
    for parent, keys in children.items():
        for start in range(0, len(keys), k):
            run = keys[start : start + k]
            first, last = run[0].rsplit(".", 1)[-1], run[-1].rsplit(".", 1)[-1]
            if len(run) == 1 or (parent and len(run) == len(keys)):  # one block, or the parent whole
                name = run[0] if len(run) == 1 else parent
            else:
                name = (f"{parent}." if parent else "") + f"[{first}-{last}]"
            row.update(dict.fromkeys(run, name))
    return [row[f] for f in fine]


def watch_rows(model: nn.Module, params: list[torch.Tensor], blocks: str | int) -> Rows:
    """The rows of a watch on ``model`` whose watched parameters are ``params``.

    Parameters
    ----------
    model : nn.Module
        The (unwrapped) model.
    params : list of torch.Tensor
        Its trainable parameters, in the order the watch numbers them.
    blocks : "auto", "layers" or int
        "layers": a row per reported layer (:func:`.layers.reported_layers`). An int: a row per
        block, the layers whose names share their first ``blocks`` dotted parts, in the order
        of each block's first layer. "auto": "layers" up to :data:`MAX_ROWS` layers, else
        :func:`auto_blocks`.

    Returns
    -------
    Rows
    """
    layers = reported_layers(model)
    position = {id(p): i for i, p in enumerate(params)}
    names = [lr.name for lr in layers]
    if blocks == "auto":
        keys = auto_blocks(names)
    else:
        keys = names if blocks == "layers" else [block_name(n, int(blocks)) for n in names]
    order = list(dict.fromkeys(keys))
    found: dict[str, list[int]] = {k: [] for k in order}
    modules: dict[str, list[nn.Module]] = {k: [] for k in order}
    for key, lr in zip(keys, layers, strict=True):
        found[key] += [position[id(w)] for w in lr.weights if id(w) in position]
        modules[key].append(lr.module)
    params_ = tuple(tuple(dict.fromkeys(found[k])) for k in order)  # a weight shared by two layers: once
    return Rows(tuple(order), params_, tuple(tuple(modules[k]) for k in order), tuple(not g for g in params_))
