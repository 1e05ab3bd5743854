"""Loss functions by name and the checks a batch must pass before it reaches a model."""

from __future__ import annotations

import dataclasses
import os
import re
import traceback
from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .checks import check_choice

LossSpec = str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES = ("mse", "cross_entropy")


def check_loss(arg: str, loss: object) -> None:
    """Raise ValueError unless ``loss`` is callable or one of :data:`LOSSES` (at a public entry)."""
    if not callable(loss):
        check_choice(arg, loss, LOSSES)


def prepare_batch(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Check a batch against a model; return X in the model's dtype and device."""
    if not isinstance(X, torch.Tensor):
        raise ValueError(f"X must be a torch.Tensor, got {type(X).__name__}")
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if X.dim() == 0 or y.dim() == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same number of examples (first dimension); "
            f"got X {tuple(X.shape)} and y {tuple(y.shape)}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"X has no examples (shape {tuple(X.shape)}); pass a batch of at least one example")
    param = next(model.parameters(), None)
    if param is None:
        raise ValueError("model has no parameters; there is no gradient to measure")
    if X.device != param.device:
        raise ValueError(f"X is on {X.device} but the model's parameters are on {param.device}")
    if X.shape[0] < 2 and any(isinstance(m, _BatchNorm) and m.training for m in model.modules()):
        raise ValueError(
            "X has a batch of 1, but the model has batch norm in training mode, which needs at least "
            "2 examples per batch; pass a larger batch or call model.eval()"
        )
    if X.is_floating_point():
        X = X.to(param.dtype)
    return X, y


# torch reports a mismatched input in words like these (RuntimeError, ValueError or AssertionError)
_MISFIT = re.compile(r"shape|size|dimension|channels|device|dtype|\b\d+D\b", re.IGNORECASE)


def run_forward(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """``model(X)``, with a shape, device or dtype mismatch reported as a ValueError that names X."""
    try:
        return model(X)
    except (RuntimeError, ValueError, AssertionError) as err:
        if _MISFIT.search(str(err)) and _raised_by_torch(err):
            raise ValueError(f"X of shape {tuple(X.shape)} does not fit the model: {err}") from err
        raise  # the user's own error, with its own type


def _raised_by_torch(err: BaseException) -> bool:
    """True when the innermost Python frame of ``err`` is in torch (a layer rejecting X), not in
    the user's own code (which may mention a size for reasons of its own)."""
    frames = traceback.extract_tb(err.__traceback__)
    return bool(frames) and f"{os.sep}torch{os.sep}" in frames[-1].filename


def compute_loss(loss: LossSpec, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Evaluate a named (checked by :func:`check_loss`) or callable loss; check that it is a scalar."""
    if callable(loss):
        value = loss(output, y)
    elif loss == "mse":
        if y.shape != output.shape and y.numel() == output.numel():
            y = y.reshape(output.shape)
        if y.shape != output.shape:
            raise ValueError(f"y has shape {tuple(y.shape)} but the model outputs {tuple(output.shape)}")
        value = nn.functional.mse_loss(output, y.to(output.dtype))
    elif loss == "cross_entropy":
        if y.is_floating_point() or y.dim() != 1:
            raise ValueError(
                "y must hold integer class labels of shape (n,) for cross_entropy; "
                f"got {y.dtype} {tuple(y.shape)}"
            )
        if output.dim() != 2 or int(y.max()) >= output.shape[1] or int(y.min()) < 0:
            raise ValueError(
                f"y holds labels {int(y.min())}..{int(y.max())} but the model outputs "
                f"{tuple(output.shape)}; cross_entropy needs labels in 0..num_outputs-1"
            )
        value = nn.functional.cross_entropy(output, y.long())  # int32, uint8, bool labels too
    else:  # reached only from a caller that did not run check_loss at its entry
        check_loss("loss", loss)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"loss must return a scalar tensor; got {shape}")
    return value if value.dim() == 0 else value.reshape(())  # a view would add a backward node


def split_output(output: object) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """What a model returned, as (the tensor a named loss compares with y, the model's own loss).

    The one rule of profile, train, diagnose and watch:

    - a tensor: itself;
    - a tuple or list (``nn.LSTM``'s ``(output, state)``, ``return_dict=False`` models): its
      first element, which must be a tensor;
    - a dict or a dataclass (a Hugging Face ``ModelOutput`` is both): its ``"logits"`` entry,
      else its only tensor entry other than ``"loss"``; a scalar tensor ``"loss"`` entry is the
      model's own loss (used by ``diagnose`` when no ``loss_fn`` is given, and by ``Watch.log_loss``).

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


class Loss:
    """A loss given to a public entry (as ``arg``), as one callable ``(output, y) -> scalar``.

    A callable receives the model's output as it was returned; a named loss the tensor that
    :func:`split_output` picks. ``None`` (``diagnose``'s default) takes the model's own loss if
    it returns one, else cross-entropy for integer labels and (n, classes > 1) outputs, else
    MSE; ``name`` tells which. The result must be a scalar tensor connected to the model.
    """

    def __init__(self, spec: LossSpec | None, arg: str = "loss"):
        self.spec, self.arg = spec, arg
        self.name = str(getattr(spec, "__name__", spec) or "?")

    def __call__(self, output: object, y: torch.Tensor) -> torch.Tensor:
        if callable(self.spec):
            value = self.spec(output, y)
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                raise ValueError(f"{self.arg} must return a scalar tensor; got {got}")
            value = value if value.dim() == 0 else value.reshape(())
        else:
            tensor, own = split_output(output)
            if self.spec is None and own is not None:
                self.name, value = "the model's own loss", own.reshape(())
            elif tensor is None:
                raise ValueError(
                    f"model returned only a 'loss' entry; {self.arg}={self.spec!r} needs its output"
                )
            else:
                if self.spec is None:
                    labels = not y.is_floating_point() and y.dim() == 1 and tensor.dim() == 2
                    self.name = "cross_entropy" if labels and tensor.shape[1] > 1 else "mse"
                value = compute_loss(self.spec or self.name, tensor, y)
        if not value.requires_grad:
            raise ValueError(
                f"{self.arg}: the loss ({float(value.detach()):.4g}) does not depend on any trainable "
                "parameter of the model (it has no grad_fn); compute it from the model's output, "
                "not detached and not under torch.no_grad()"
            )
        return value
