"""Overhead of recording: gradient_profile and train(record_every=1) against the bare step.

Prints JSON. Times are medians over interleaved repeats in one run (the machine is noisy, so
only the ratios within a run are meaningful). Target: every ratio <= 1.10.
"""

from __future__ import annotations

import json
import statistics
import time

import torch

import gradwidgets as gw

CONFIGS = [(20, 64, 256), (50, 128, 256)]
STEPS = 20  # training steps per timed train() call
REPEATS = 15


def _timer(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(depth: int, width: int, batch: int) -> dict:
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(batch, 2, generator=g), torch.randn(batch, 1, generator=g)
    model = gw.build_mlp(depth, width=width)
    loss_fn = torch.nn.functional.mse_loss

    def bare_step():
        model.zero_grad(set_to_none=True)
        loss_fn(model(X), y).backward()

    def bare_training():
        opt = torch.optim.SGD(model.parameters(), lr=1e-4)
        for _ in range(STEPS):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(X), y).backward()
            opt.step()

    cases = {
        "bare_step": bare_step,
        "gradient_profile": lambda: gw.gradient_profile(model, X, y),
        "bare_training": bare_training,
        "train_record_every_1": lambda: gw.train(model, X, y, steps=STEPS, lr=1e-4, record_every=1),
    }
    for fn in cases.values():  # warm up
        fn()
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(REPEATS):
        for name, fn in cases.items():
            times[name].append(_timer(fn))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "config": {"depth": depth, "width": width, "batch": batch, "threads": torch.get_num_threads()},
        "median_ms": {
            "bare_step": 1e3 * med["bare_step"],
            "gradient_profile": 1e3 * med["gradient_profile"],
            "bare_train_step": 1e3 * med["bare_training"] / STEPS,
            "train_step_record_every_1": 1e3 * med["train_record_every_1"] / STEPS,
        },
        "ratio": {
            "gradient_profile_vs_bare_step": med["gradient_profile"] / med["bare_step"],
            "train_record_every_1_vs_bare_train": med["train_record_every_1"] / med["bare_training"],
        },
    }


def main() -> None:
    results = [measure(*c) for c in CONFIGS]
    worst = max(r for res in results for r in res["ratio"].values())
    print(json.dumps({"target_ratio": 1.10, "worst_ratio": worst, "results": results}, indent=2))


if __name__ == "__main__":
    main()
