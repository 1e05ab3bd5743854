"""Overhead of watching a training loop: gw.watch(every=1) against the bare loop, and others.

Prints JSON. Two models, each in its own group of interleaved repeats (the machine is noisy,
so only the ratios within a group are meaningful; times are medians):

- ``mlp``: 20 Linear(64) + Tanh layers and a head (:func:`mlp`), batch 256, SGD lr 1e-3, 100
  steps; beside the bare loop and ``gw.watch``: ``wandb.watch(log="gradients", log_freq=1)``
  (offline), a TensorBoard histogram per layer per step, and Cockpit's "economy"
  configuration, each where installed
  (``pip install -e ".[bench]" cockpit-for-pytorch``);
- ``cnn``: a small ResNet-style CNN (16 and 32 channels, 4 residual blocks with batch norm),
  batch 32 of 3 x 32 x 32, cross-entropy, 30 steps;
- ``compiled``: the MLP under ``torch.compile`` (inductor), bare and watched, after warm-up.

Targets: watch/bare <= 1.05 on ``mlp`` and ``cnn``. ``benchmarks/bench_watch_ddp.py`` times the
same under DistributedDataParallel in two processes.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

import gradwidgets as gw
from gradwidgets.core.watcher import watched_layers

REPEATS = 15


class Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


def small_resnet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        Block(16), Block(16),
        nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        Block(32), Block(32),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )  # fmt: skip


class Task:
    """A model, a batch, a loss and a number of SGD steps."""

    def __init__(self, model, X, y, loss, steps, lr=1e-3):
        self.model, self.X, self.y, self.loss, self.steps, self.lr = model, X, y, loss, steps, lr

    def loop(self, after_backward=None, step_context=None, backward_kwargs=None) -> None:
        opt = torch.optim.SGD(self.model.parameters(), lr=self.lr)
        for i in range(self.steps):
            opt.zero_grad(set_to_none=True)
            out = self.model(self.X)
            loss = self.loss(out, self.y)
            if step_context is None:
                loss.backward()
            else:
                with step_context(i, out, loss, opt):
                    loss.backward(**(backward_kwargs(i) if backward_kwargs else {}))
            if after_backward is not None:
                after_backward(loss)
            opt.step()


def bare(task: Task) -> None:
    task.loop()


def watched(task: Task) -> None:
    with gw.watch(task.model, every=1, live=False) as w:
        task.loop(w.log_loss)
    w.history()


def with_wandb(task: Task) -> None:
    import wandb

    with tempfile.TemporaryDirectory() as logdir:
        run = wandb.init(mode="offline", project="gradwidgets-bench", dir=logdir)
        wandb.watch(task.model, log="gradients", log_freq=1)
        task.loop(lambda loss: wandb.log({"loss": float(loss.detach())}))
        wandb.unwatch(task.model)
        run.finish()


def with_tensorboard(task: Task) -> None:
    from torch.utils.tensorboard import SummaryWriter

    layers = watched_layers(task.model)
    step = iter(range(10**9))
    with tempfile.TemporaryDirectory() as logdir, SummaryWriter(logdir) as writer:

        def log(loss):
            i = next(step)
            for name, m in layers:
                writer.add_histogram(name, m.weight.grad, i)

        task.loop(log)


def with_cockpit(task: Task) -> None:
    from backpack import extend
    from cockpit import Cockpit
    from cockpit.utils.configuration import configuration

    model = extend(copy.deepcopy(task.model))  # BackPACK's hooks stay: not on the shared model
    cockpit = Cockpit(model.parameters(), quantities=configuration("economy"))
    losses = nn.MSELoss(reduction="none")
    base = Task(model, task.X, task.y, extend(nn.MSELoss()), task.steps, task.lr)

    def context(i, out, loss, opt):
        individual = losses(out, task.y).mean(1)
        info = {"batch_size": len(task.X), "individual_losses": individual, "loss": loss, "optimizer": opt}
        return cockpit(i, info=info)

    base.loop(step_context=context, backward_kwargs=lambda i: {"create_graph": cockpit.create_graph(i)})


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _time(cases: dict, task: Task) -> dict:
    for fn in cases.values():  # warm up
        fn(task)
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(REPEATS):
        for name, fn in cases.items():
            t = time.perf_counter()
            fn(task)
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "median_ms": {k: round(1e3 * v, 2) for k, v in med.items()},
        "ratio_to_bare": {k: round(v / med["bare"], 3) for k, v in med.items() if k != "bare"},
    }


def mlp(depth: int = 20, width: int = 64) -> nn.Sequential:
    """``depth`` Linear + Tanh layers and a linear head, as ``build_mlp(depth, width)`` is, in a
    plain ``nn.Sequential`` (which BackPACK, under Cockpit, can extend)."""
    layers = [nn.Linear(2, width), nn.Tanh()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(width, 1))


def mlp_task() -> Task:
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(256, 2, generator=g), torch.randn(256, 1, generator=g)
    torch.manual_seed(0)
    return Task(mlp(), X, y, F.mse_loss, steps=100)


def cnn_task() -> Task:
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(32, 3, 32, 32, generator=g), torch.randint(0, 10, (32,), generator=g)
    torch.manual_seed(0)
    return Task(small_resnet(), X, y, F.cross_entropy, steps=30, lr=1e-2)


def main() -> dict:
    torch.set_num_threads(1)
    out: dict = {"threads": 1, "repeats": REPEATS, "skipped": {}}
    cases = {"bare": bare, "gw_watch_every_1": watched}
    others = {"wandb": with_wandb, "tensorboard": with_tensorboard, "cockpit": with_cockpit}
    for name, fn in others.items():
        if _available(name):
            cases[name] = fn
        else:
            out["skipped"][name] = "not installed"
    os.environ.setdefault("WANDB_SILENT", "true")
    out["mlp"] = _time(cases, mlp_task())
    out["cnn"] = _time({"bare": bare, "gw_watch_every_1": watched}, cnn_task())
    if "--no-compile" not in sys.argv:
        task = mlp_task()
        task.model = torch.compile(task.model)
        out["compiled"] = _time({"bare": bare, "gw_watch_every_1": watched}, task)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
