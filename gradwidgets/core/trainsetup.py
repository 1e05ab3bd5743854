"""How a model is trained, as a watch sees it: the model inside a wrapper (``torch.compile``,
DistributedDataParallel), this process's rank, and the loss scaler of mixed precision."""

from __future__ import annotations

import math
import sys

from torch import nn

__all__ = ["check_scaler", "is_rank_zero", "unwrap"]


def unwrap(model: nn.Module) -> nn.Module:
    """The module that ``torch.compile`` (its ``_orig_mod``) or DistributedDataParallel (its
    ``module``) wraps, through any number of wrappers; else ``model`` itself.

    Neither wrapper owns a parameter of its own: hooks on the wrapped module's parameters
    see every gradient, and its submodules' names are the layers' names. A model holding the
    older ``FullyShardedDataParallel`` wrapper (FSDP1) is refused with a ValueError: it
    flattens parameters into shards whose layers and norms a watch cannot read.
    """
    fsdp1 = getattr(sys.modules.get("torch.distributed.fsdp"), "FullyShardedDataParallel", None)
    if fsdp1 is not None and any(isinstance(m, fsdp1) for m in model.modules()):
        raise ValueError(
            "model: FullyShardedDataParallel (FSDP1) flattens the parameters into shards, whose "
            "layers and norms a watch cannot read; shard with torch.distributed.fsdp.fully_shard "
            "(FSDP2), whose gradients the watch reduces across processes"
        )
    eval_frame = sys.modules.get("torch._dynamo.eval_frame")  # not imported: nothing was compiled
    compiled = getattr(eval_frame, "OptimizedModule", None)
    ddp = nn.parallel.DistributedDataParallel
    while True:
        if compiled is not None and isinstance(model, compiled):
            model = model._orig_mod
        elif isinstance(model, ddp):
            model = model.module
        else:
            return model


def is_rank_zero() -> bool:
    """True unless this process is one of several in a process group and not rank 0: the one
    process that shows and writes what a watch recorded."""
    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return True
    return dist.get_rank() == 0


def check_scaler(scaler: object) -> object:
    """Return ``scaler`` if it has a ``get_scale()`` giving a finite number > 0; None for None or
    a disabled one (``GradScaler(enabled=False)``: it skips no step); else raise."""
    allowed = "a torch.amp.GradScaler, or any object whose get_scale() returns the loss scale"
    if scaler is not None and not callable(getattr(scaler, "get_scale", None)):
        raise ValueError(f"scaler={scaler!r} is not allowed; it must be {allowed}")
    if scaler is None or not getattr(scaler, "is_enabled", lambda: True)():
        return None
    scale = scaler.get_scale()
    try:
        value = math.nan if isinstance(scale, bool) else float(scale)  # a float, or a 1-element tensor
    except (TypeError, ValueError, RuntimeError):
        value = math.nan
    if not 0 < value < math.inf:
        raise ValueError(f"scaler: its get_scale() returned {scale!r}; it must be {allowed} (> 0)")
    return scaler
