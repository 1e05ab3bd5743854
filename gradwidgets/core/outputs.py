"""What a model is given and what it returns: the one rule for reading any model's output."""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
import traceback
from collections.abc import Callable, Iterator, Mapping

import torch
from torch import nn

__all__ = ["accepts_labels", "floating_tensors", "run_forward", "split_output"]

# torch reports a mismatched input in words like these (RuntimeError, ValueError or AssertionError)
_MISFIT = re.compile(r"shape|size|dimension|channels|device|dtype|\b\d+D\b", re.IGNORECASE)


def run_forward(model: nn.Module, X: torch.Tensor, **kwargs: object) -> object:
    """``model(X, **kwargs)``. A shape, device or dtype mismatch is a ValueError that names X;
    any other error of the forward is a ValueError that names the model and is also of the
    error's own type (``except RuntimeError`` still catches a RuntimeError the model raised)."""
    try:
        return model(X, **kwargs)
    except Exception as err:
        if isinstance(err, (RuntimeError, ValueError, AssertionError)) and _MISFIT.search(str(err)):
            if _raised_by_torch(err):
                raise ValueError(f"X of shape {tuple(X.shape)} does not fit the model: {err}") from err
        message = (
            f"model: its forward raised {type(err).__name__}: {err} (on X of shape {tuple(X.shape)}; "
            "a model must take X and return a tensor, a tuple, a dict or a ModelOutput)"
        )
        raise _both(err, message) from err


def _both(err: Exception, message: str) -> Exception:
    """A ValueError carrying ``message`` that is also of ``err``'s type, when Python can make one
    (not for OSError's family, or a type whose constructor needs more than a message)."""
    if isinstance(err, ValueError) and type(err) is ValueError:
        return ValueError(message)
    try:
        kind = _BOTH.get(type(err)) or _BOTH.setdefault(
            type(err), type("ModelForwardError", (ValueError, type(err)), {})
        )
        return kind(message)
    except TypeError:
        return ValueError(message)


_BOTH: dict[type, type] = {}


def _raised_by_torch(err: BaseException) -> bool:
    """True when the innermost Python frame of ``err`` is in torch (a layer rejecting X), not in
    the user's own code (which may mention a size for reasons of its own)."""
    frames = traceback.extract_tb(err.__traceback__)
    return bool(frames) and f"{os.sep}torch{os.sep}" in frames[-1].filename


def accepts_labels(model: nn.Module | Callable) -> bool:
    """True when ``model.forward`` (or a plain function ``model``) takes a ``labels`` keyword, as
    Hugging Face models do: given the targets there, such a model computes its own loss (shifted
    for a causal language model)."""
    try:
        params = inspect.signature(getattr(model, "forward", model)).parameters
    except (TypeError, ValueError):  # a builtin or C-implemented forward: no signature to read
        return False
    label = params.get("labels")
    return label is not None and label.kind in (label.POSITIONAL_OR_KEYWORD, label.KEYWORD_ONLY)


def split_output(output: object) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """What a model returned, as (the tensor a named loss compares with y, the model's own loss).

    The one rule of profile, train, diagnose, find_nonfinite, watch and the CLI:

    - a tensor: itself;
    - a tuple or list (``nn.LSTM``'s ``(output, state)``, ``return_dict=False`` models): its
      first element, which must be a tensor;
    - a dict or a dataclass (a Hugging Face ``ModelOutput`` is both): its ``"logits"`` entry,
      else its only tensor entry other than ``"loss"``; a scalar tensor ``"loss"`` entry is the
      model's own loss (used when no ``loss`` is given, and by ``Watch.log_loss``).

    Anything else is a ValueError that says what was returned and what is accepted.
    """
    if isinstance(output, torch.Tensor):
        return output, None
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0], None
    entries = None
    if isinstance(output, Mapping):
        entries = dict(output.items())
    elif dataclasses.is_dataclass(output) and not isinstance(output, type):
        entries = {f.name: getattr(output, f.name) for f in dataclasses.fields(output)}
    if entries is not None:
        own = entries.get("loss")
        own = own if isinstance(own, torch.Tensor) and own.numel() == 1 else None
        tensors = [v for k, v in entries.items() if k != "loss" and isinstance(v, torch.Tensor)]
        logits = entries.get("logits")
        if isinstance(logits, torch.Tensor):
            return logits, own
        if len(tensors) == 1 or own is not None:
            return (tensors[0] if len(tensors) == 1 else None), own
    shown = type(output).__name__
    if isinstance(output, (tuple, list, Mapping)):
        shown += f" of {len(output)}"
    raise ValueError(
        f"model returned a {shown} this cannot measure; accepted: a tensor, a tuple or list whose "
        "first element is a tensor, or a dict/dataclass with a 'logits' tensor, a single tensor or "
        "a scalar 'loss'. Pass a callable loss to read the output yourself"
    )


def floating_tensors(obj: object, depth: int = 0) -> Iterator[torch.Tensor]:
    """Every dense floating tensor in ``obj``: a tensor, or nested tuples, lists, dicts, dataclasses."""
    if isinstance(obj, torch.Tensor):
        yield from (obj,) if obj.is_floating_point() and obj.layout == torch.strided else ()
        return
    items = obj if isinstance(obj, (tuple, list)) else obj.values() if isinstance(obj, Mapping) else ()
    if not items and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    for item in items if depth < 8 else ():
        yield from floating_tensors(item, depth + 1)
