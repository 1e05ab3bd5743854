"""Explorer latency, streaming and baking: prints JSON.

- latency: control change -> new ``source.data`` in the live panel of the gradient-flow
  explorer at depth 20 x width 64 x batch 256, against the bare forward+backward step of the
  same network in the same run (targets: median <= 3x, p95 <= 5x); cycling through four
  settings (revisits, whose networks are remembered) and with every setting a first visit;
- first streamed update of a training run (target: <= 150 ms);
- baking every catalog explorer as the book does: seconds and stored size (targets: <= 1 MB
  each, <= 3 min in all).
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time

import torch

import gradwidgets as gw
from gradwidgets.explorers import CATALOG, flow, gradient_flow, norm_training
from gradwidgets.widgets import static_html


def _bare_step_ms(depth: int, width: int, activation: str, init: str, repeats: int = 30) -> float:
    data = gw.make_dataset("spirals", 256)
    model = gw.build_mlp(depth, width=width, activation=activation, init=init)
    y = data.y.float()
    times = []
    for _ in range(repeats + 3):
        t = time.perf_counter()
        model.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(data.X), y.reshape(-1, 1)).backward()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times[3:])


def latency(changes: int = 40, first_visit: bool = False) -> dict:
    """Cycling through four activations: each setting is a revisit (its network is remembered)
    after the first round; with ``first_visit``, the remembered networks are forgotten first."""
    ex = gradient_flow(depths=(20,), activations=("sigmoid", "tanh", "relu", "gelu"))
    panel = ex.live()
    changed = threading.Event()
    panel.sources["grads"].on_change("data", lambda attr, old, new: changed.set())
    acts = ("tanh", "relu", "gelu", "sigmoid")
    lat, bare = [], []
    for i in range(changes):
        act = acts[i % len(acts)]
        if first_visit:
            flow._network.cache_clear()
        changed.clear()
        t = time.perf_counter()
        panel.set(activation=act)
        changed.wait(30)
        lat.append(1e3 * (time.perf_counter() - t))
        panel.wait()
        bare.append(_bare_step_ms(20, 64, act, "xavier_normal", repeats=5))
    q = statistics.quantiles(lat, n=20)
    bare_ms = statistics.median(bare)
    return {
        "bare_step_ms": bare_ms,
        "median_ms": statistics.median(lat),
        "p95_ms": q[-1],
        "median_ratio": statistics.median(lat) / bare_ms,
        "p95_ratio": q[-1] / bare_ms,
    }


def first_streamed_update(runs: int = 5) -> dict:
    panel = norm_training(steps=150).live()
    first = threading.Event()
    panel.sources["loss"].on_change("data", lambda attr, old, new: first.set())
    times = []
    for i in range(runs):
        first.clear()
        t = time.perf_counter()
        panel.set(activation=("tanh", "relu", "sigmoid")[i % 3])
        first.wait(30)
        times.append(1e3 * (time.perf_counter() - t))
        panel.stop_button.click()
        panel.wait()
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


def baking() -> dict:
    out, total = {}, 0.0
    for name, factory in CATALOG.items():
        ex = factory()
        t = time.perf_counter()
        face = ex.static()
        seconds = time.perf_counter() - t
        total += seconds
        out[name] = {
            "grid": ex.grid_size,
            "seconds": round(seconds, 2),
            "bytes": len(static_html(face)),
        }
    return {
        "explorers": out,
        "total_seconds": round(total, 1),
        "max_bytes": max(v["bytes"] for v in out.values()),
    }


def main() -> None:
    which = set(sys.argv[1:]) or {"latency", "stream", "bake"}
    report = {"threads": torch.get_num_threads()}
    if "latency" in which:
        report["latency"] = latency()
        report["latency_first_visit"] = latency(first_visit=True)
    if "stream" in which:
        report["first_streamed_update"] = first_streamed_update()
    if "bake" in which:
        report["baking"] = baking()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
