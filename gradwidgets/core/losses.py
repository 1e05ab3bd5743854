"""Loss functions by name and the checks a batch must pass before it reaches a model."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .checks import check_choice
from .outputs import accepts_labels, run_forward, split_output

__all__ = ["IGNORE_INDEX", "LOSSES", "Loss", "LossSpec", "check_loss", "compute_loss", "prepare_batch"]

LossSpec = str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES = ("mse", "cross_entropy")


def check_loss(arg: str, loss: object) -> None:
    """Raise ValueError unless ``loss`` is None, callable or one of :data:`LOSSES` (at a public entry)."""
    if loss is not None and not callable(loss):
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
        value = nn.functional.cross_entropy(*_class_axis(output, y))
    else:  # reached only from a caller that did not run check_loss at its entry
        check_loss("loss", loss)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"loss must return a scalar tensor; got {shape}")
    return value if value.dim() == 0 else value.reshape(())  # a view would add a backward node


IGNORE_INDEX = -100
"""A label that cross-entropy skips (torch's default, and what Hugging Face puts on padding)."""


def _class_axis(output: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, labels) for ``F.cross_entropy``: labels (n, ...) against logits with one more axis,
    the classes on axis 1 (torch's convention) or last (a sequence model's (n, T, classes))."""
    if y.is_floating_point() or y.dim() + 1 != output.dim():
        raise ValueError(
            "y must hold integer class labels with one axis less than the output, (n,) for (n, classes) "
            f"or (n, T) for (n, T, classes), for cross_entropy; got y {y.dtype} {tuple(y.shape)} "
            f"against an output of shape {tuple(output.shape)}"
        )
    if output.shape[2:] != y.shape[1:] and output.shape[:-1] == y.shape:
        output = output.movedim(-1, 1)  # (n, T, classes) -> (n, classes, T)
    if output.shape[0] != y.shape[0] or output.shape[2:] != y.shape[1:]:
        raise ValueError(f"y has shape {tuple(y.shape)} but the model outputs {tuple(output.shape)}")
    used = y[y != IGNORE_INDEX]
    if used.numel() and (int(used.max()) >= output.shape[1] or int(used.min()) < 0):
        raise ValueError(
            f"y holds labels {int(used.min())}..{int(used.max())} but the model outputs "
            f"{output.shape[1]} {'class' if output.shape[1] == 1 else 'classes'} "
            f"({tuple(output.shape)}); cross_entropy needs labels in "
            f"0..{output.shape[1] - 1} (or {IGNORE_INDEX}, skipped)"
        )
    return output, y.long()  # int32, uint8, bool labels too


def _is_labels(tensor: torch.Tensor, y: torch.Tensor) -> bool:
    """True when y looks like class labels for ``tensor``: integers, one axis less, >1 class."""
    if y.is_floating_point() or tensor.dim() != y.dim() + 1 or tensor.dim() < 2:
        return False
    classes = tensor.shape[-1] if tensor.shape[:-1] == y.shape else tensor.shape[1]
    return classes > 1


class Loss:
    """A loss given to a public entry (as ``arg``), as one callable ``(output, y) -> scalar``.

    The one rule of profile, train, diagnose, find_nonfinite and the CLI (parameter ``loss``):

    - a callable receives the model's output as it was returned and ``y``;
    - ``"mse"`` or ``"cross_entropy"`` compare ``y`` with the tensor that
      :func:`.outputs.split_output` picks (cross-entropy: labels of shape (n,) for (n, classes),
      (n, T) for (n, T, classes) or torch's (n, classes, T); label -100 is skipped);
    - ``None`` (the default): a model whose ``forward`` takes ``labels`` (Hugging Face) is called
      with ``labels=y`` and measured on the loss it returns; any model returning a scalar ``loss``
      entry is measured on it; else cross-entropy when y holds integer labels for the output
      (more than one class), else MSE. ``name`` tells which.

    The result must be a scalar tensor connected to the model.
    """

    def __init__(self, spec: LossSpec | None, arg: str = "loss"):
        self.spec, self.arg = spec, arg
        self.name = str(getattr(spec, "__name__", spec) or "?")

    def forward(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> object:
        """Run the model on X as this loss needs it: with ``labels=y`` for the model's own loss."""
        if self.spec is None and accepts_labels(model):
            return run_forward(model, X, labels=y)
        return run_forward(model, X)

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
                    self.name = "cross_entropy" if _is_labels(tensor, y) else "mse"
                value = compute_loss(self.spec or self.name, tensor, y)
        if not value.requires_grad:
            raise ValueError(
                f"{self.arg}: the loss ({float(value.detach()):.4g}) does not depend on any trainable "
                "parameter of the model (it has no grad_fn); compute it from the model's output, "
                "not detached and not under torch.no_grad()"
            )
        return value
