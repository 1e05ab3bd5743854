"""Seeded synthetic datasets, made locally: no downloads."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .checks import check_choice, check_int, check_memory, check_seed
from .limits import dataset_bytes


@dataclass(frozen=True)
class Dataset:
    """Inputs ``X``, targets ``y`` and the loss that fits them."""

    name: str
    X: torch.Tensor
    y: torch.Tensor
    loss: str

    @property
    def num_classes(self) -> int:
        """Number of classes for a classification set, 0 for regression."""
        return int(self.y.max()) + 1 if self.loss == "cross_entropy" else 0

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, X={tuple(self.X.shape)}, y={tuple(self.y.shape)}, loss={self.loss!r})"


def _spirals(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.arange(n) % 2
    t = torch.rand(n, generator=g) * 3 * math.pi + 0.5
    angle = t + math.pi * y
    r = t / (3 * math.pi + 0.5)
    X = torch.stack([r * torch.cos(angle), r * torch.sin(angle)], 1)
    return X + 0.02 * torch.randn(n, 2, generator=g), y


def _moons(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.arange(n) % 2
    t = torch.rand(n, generator=g) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], 1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    X = torch.where(y[:, None] == 0, upper, lower) - torch.tensor([0.5, 0.25])
    return X + 0.1 * torch.randn(n, 2, generator=g), y


def _circles(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.arange(n) % 2
    t = torch.rand(n, generator=g) * 2 * math.pi
    r = torch.where(y == 0, 1.0, 0.5)
    X = torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)
    return X + 0.08 * torch.randn(n, 2, generator=g), y


def _xor(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.arange(n) % 2
    magnitude = torch.rand(n, 2, generator=g) * 0.95 + 0.05
    first = torch.randint(0, 2, (n,), generator=g) * 2 - 1
    second = torch.where(y == 1, -first, first)  # class 1: the signs differ
    return magnitude * torch.stack([first, second], 1), y


def _regression(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(n, 1, generator=g) * 4 - 2
    y = torch.sin(2 * x) + 0.3 * x + 0.05 * torch.randn(n, 1, generator=g)
    return x, y


def _adding(n: int, g: torch.Generator, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Hochreiter & Schmidhuber's adding problem: sum the two values whose marker is 1."""
    values = torch.rand(n, seq_len, generator=g)
    first = torch.randint(0, max(1, seq_len // 2), (n,), generator=g)
    second = torch.randint(seq_len // 2, seq_len, (n,), generator=g)
    markers = torch.zeros(n, seq_len)
    markers[torch.arange(n), first] = 1.0
    markers[torch.arange(n), second] = 1.0
    X = torch.stack([values, markers], 2)
    y = (values * markers).sum(1, keepdim=True)
    return X, y


DATASETS = ("spirals", "moons", "circles", "xor", "regression", "adding")


def make_dataset(name: str, n: int = 256, seed: int = 0, seq_len: int = 50) -> Dataset:
    """Make a seeded synthetic dataset.

    Parameters
    ----------
    name : str
        ``"spirals"``, ``"moons"``, ``"circles"``, ``"xor"`` (2-D inputs, two classes,
        cross-entropy), ``"regression"`` (1-D input, a wiggly curve, MSE) or ``"adding"``
        (the adding problem: ``(n, seq_len, 2)`` sequences for an RNN, MSE).
    n : int
        Number of examples, >= 1 (bounded by memory: :func:`.checks.check_memory`).
    seed : int
        From 0 to 2**63 - 1; the same seed gives the same tensors, bit for bit.
    seq_len : int
        Sequence length for ``"adding"``, >= 2.

    Returns
    -------
    Dataset
    """
    check_choice("name", name, DATASETS)
    n = check_int("n", n, 1)
    g = torch.Generator().manual_seed(check_seed("seed", seed))
    if name == "adding":
        seq_len = check_int("seq_len", seq_len, 2)
    shown = f", seq_len={seq_len}" if name == "adding" else ""
    check_memory(f"make_dataset({name!r}, n={n}{shown})", dataset_bytes(name, n, seq_len))
    if name == "adding":
        X, y = _adding(n, g, seq_len)
        return Dataset(name, X, y, "mse")
    make = {"spirals": _spirals, "moons": _moons, "circles": _circles, "xor": _xor, "regression": _regression}
    X, y = make[name](n, g)
    return Dataset(name, X.float(), y, "mse" if name == "regression" else "cross_entropy")
