"""Overhead of watching a training loop: gw.watch(every=1) against the bare loop, and others.

Prints JSON. A 20 x 64 MLP (``build_mlp(20, width=64)``), batch 256, SGD lr 1e-3, 100 steps;
times are medians over interleaved repeats in one run (the machine is noisy, so only the
ratios within a run are meaningful). Target: watch/bare <= 1.15. wandb.watch (offline) and a
TensorBoard histogram per layer per step are measured only where they are installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import tempfile
import time

import torch

import gradwidgets as gw
from gradwidgets.core.watcher import watched_layers

STEPS, BATCH, REPEATS = 100, 256, 15


def _loop(model, X, y, after_backward=None) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(X), y)
        loss.backward()
        if after_backward is not None:
            after_backward(loss)
        opt.step()


def _watched(model, X, y) -> None:
    with gw.watch(model, every=1, live=False) as w:
        _loop(model, X, y, w.log_loss)
    w.history()


def _wandb(model, X, y) -> None:
    import wandb

    run = wandb.init(mode="offline", project="gradwidgets-bench")
    wandb.watch(model, log="gradients", log_freq=1)
    _loop(model, X, y, lambda loss: wandb.log({"loss": float(loss.detach())}))
    wandb.unwatch(model)
    run.finish()


def _tensorboard(model, X, y) -> None:
    from torch.utils.tensorboard import SummaryWriter

    layers = watched_layers(model)
    step = iter(range(10**9))
    with tempfile.TemporaryDirectory() as logdir, SummaryWriter(logdir) as writer:

        def log(loss):
            i = next(step)
            for name, m in layers:
                writer.add_histogram(name, m.weight.grad, i)

        _loop(model, X, y, log)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def main() -> dict:
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(BATCH, 2, generator=g), torch.randn(BATCH, 1, generator=g)
    model = gw.build_mlp(20, width=64)
    cases = {"bare": _loop, "gw_watch_every_1": _watched}
    skipped = {}
    if _available("wandb"):
        os.environ.setdefault("WANDB_SILENT", "true")
        cases["wandb_watch_gradients"] = _wandb
    else:
        skipped["wandb_watch_gradients"] = "not installed"
    if _available("tensorboard"):
        cases["tensorboard_add_histogram"] = _tensorboard
    else:
        skipped["tensorboard_add_histogram"] = "not installed"
    for fn in cases.values():  # warm up
        fn(model, X, y)
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(REPEATS):
        for name, fn in cases.items():
            t = time.perf_counter()
            fn(model, X, y)
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "config": {"depth": 20, "width": 64, "batch": BATCH, "steps": STEPS, "repeats": REPEATS},
        "threads": torch.get_num_threads(),
        "median_ms": {k: round(1e3 * v, 2) for k, v in med.items()},
        "ratio_to_bare": {k: round(v / med["bare"], 3) for k, v in med.items() if k != "bare"} | skipped,
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
