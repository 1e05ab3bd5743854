"""Accuracy and cost of the core's norms (gradwidgets/core/norms.py) against the float32 norm they replace.

Prints JSON. For each size, a random tensor (``randn``) and a worst case for float32 sums (every
entry of one magnitude with a little noise, as in Adam's first update): the relative error
against float64 (``torch.linalg.vector_norm(t.double())``) of the old float32 computation
(``torch._foreach_norm``, as ``tensor_norms`` took it) and of the new ``tensor_norms``; then the
time ratio new/old of the batched call (``tensor_norms`` against the old one) and of the single
tensor a backward hook takes (``single_norm`` against ``float(vector_norm(t))``). Then the same for
whole models' parameters, batched: a ~100-tensor transformer, and the 50 x 128 MLP of
bench_core.py, whose 16384-entry weights are the new code's worst case (above LIMIT, too small
for the chunked norm's per-call cost to vanish). Times are medians over interleaved repeats in one
run (the machine is noisy: only the ratios within a run mean much). Target: error <= 1e-5 and
ratio <= 1.3 everywhere.
"""

from __future__ import annotations

import json
import math
import statistics
import time

import numpy as np
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.norms import single_norm, tensor_norms

SIZES = [10**4, 10**6, 2_400_000, 10**7, 10**8]
TARGET_ERROR, TARGET_RATIO = 1e-5, 1.3


def old_tensor_norms(tensors):
    """The float32 computation the new code replaces (with its float64 fallback for 0 and inf)."""
    with torch.no_grad():
        values = torch.stack(torch._foreach_norm(tensors)).double().cpu().numpy()
        for i in np.flatnonzero((values == 0) | ~np.isfinite(values)):
            values[i] = float(torch.linalg.vector_norm(tensors[i].double()))
    return values


def old_norm(t):
    """The old hook's single norm."""
    value = float(torch.linalg.vector_norm(t))
    if value == 0 or not math.isfinite(value):
        value = float(torch.linalg.vector_norm(t.double()))
    return value


def reference(tensors) -> float:
    """The float64 norm of the tensors taken together."""
    return float(np.sqrt(sum(float(torch.linalg.vector_norm(t.double())) ** 2 for t in tensors)))


def error(got: float, ref: float) -> float:
    return abs(got - ref) / ref


def ratios(cases: dict, repeats: int) -> dict:
    """Median time of each case over interleaved repeats (one round runs every case once)."""
    for fn in cases.values():  # warm up
        fn()
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    return med


def repeats_for(numel: int) -> int:
    return max(7, min(400, int(3e8 / max(numel, 1) ** 1.1)))


def tensors_of(n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(n, generator=g)
    worst = torch.where(t < 0, -1e-3, 1e-3) * (1 + 1e-6 * torch.rand(n, generator=g))
    return {"random": t, "one_magnitude": worst}


def measure_size(n: int) -> dict:
    ts = tensors_of(n)
    out: dict = {"entries": n}
    for name, t in ts.items():
        ref = reference([t])
        out[f"error_old_{name}"] = error(float(old_tensor_norms([t])[0]), ref)
        out[f"error_new_{name}"] = error(float(tensor_norms([t])[0]), ref)
        out[f"error_new_hook_{name}"] = error(single_norm(t), ref)
    t = ts["random"]
    del ts
    med = ratios(
        {
            "old": lambda: old_tensor_norms([t]),
            "new": lambda: tensor_norms([t]),
            "old_hook": lambda: old_norm(t),
            "new_hook": lambda: single_norm(t),
        },
        repeats_for(n),
    )
    out["old_ms"] = 1e3 * med["old"]
    out["ratio"] = med["new"] / med["old"]
    out["ratio_hook"] = med["new_hook"] / med["old_hook"]
    return out


def transformer() -> nn.Module:
    """About 100 parameter tensors from 32 to 2.56M entries."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=256, nhead=8, dim_feedforward=1024)
    return nn.Sequential(nn.Embedding(10000, 256), nn.TransformerEncoder(layer, num_layers=8))


def measure_model(name: str, model: nn.Module) -> dict:
    params = [p.detach() for p in model.parameters()]
    ref = reference(params)
    sizes = [p.numel() for p in params]
    med = ratios(
        {"old": lambda: old_tensor_norms(params), "new": lambda: tensor_norms(params)},
        repeats_for(sum(sizes) // 4),
    )
    return {
        "model": name,
        "tensors": len(params),
        "entries": sum(sizes),
        "largest": max(sizes),
        "error_old": error(float(np.linalg.norm(old_tensor_norms(params))), ref),
        "error_new": error(float(np.linalg.norm(tensor_norms(params))), ref),
        "old_ms": 1e3 * med["old"],
        "ratio": med["new"] / med["old"],
    }


def main() -> None:
    sizes = [measure_size(n) for n in SIZES]
    models = [
        measure_model("transformer, 8 layers of 256 + embedding", transformer()),
        measure_model("build_mlp(50, width=128)", gw.build_mlp(50, width=128)),
    ]
    errors = [v for row in sizes for k, v in row.items() if k.startswith("error_new")]
    errors += [row["error_new"] for row in models]
    worst_ratio = max(
        [r for row in sizes for r in (row["ratio"], row["ratio_hook"])] + [m["ratio"] for m in models]
    )
    print(
        json.dumps(
            {
                "threads": torch.get_num_threads(),
                "target": {"error": TARGET_ERROR, "ratio": TARGET_RATIO},
                "worst_error_new": max(errors),
                "worst_ratio": worst_ratio,
                "sizes": sizes,
                "models": models,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
