"""What diagnose costs on a 12-layer GPT-2 from a small config, against one bare forward+backward.

The issue's target: under 2x, with the accurate norms included. Times are medians over
interleaved repeats in one run, on one torch thread (the machine is noisy: only the ratios
within a run mean anything). ``find_nonfinite`` (which diagnose runs only when something is not
finite) and ``gradient_profile`` are timed beside it. Run: ``python benchmarks/bench_diagnose_speed.py``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import _realmodels  # noqa: F401 (registers torchvision's operator schemas before transformers imports it)

import gradwidgets as gw

REPEATS = 7


def gpt2(layers: int = 12, width: int = 128, vocab: int = 1000, tokens: int = 64, batch: int = 8):
    """A GPT-2 language model with random weights, and a batch of token ids (its own labels)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=layers,
        n_embd=width,
        n_head=4,
        vocab_size=vocab,
        n_positions=tokens,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config)
    X = torch.randint(0, vocab, (batch, tokens), generator=torch.Generator().manual_seed(1))
    return model, X


def main() -> dict:
    torch.set_num_threads(1)
    model, X = gpt2()

    def bare():
        model(X, labels=X).loss.backward()
        model.zero_grad(set_to_none=True)

    calls = {
        "bare_forward_backward": bare,
        "diagnose": lambda: gw.diagnose(model, X, X),
        "gradient_profile": lambda: gw.gradient_profile(model, X, X),
        "find_nonfinite": lambda: gw.find_nonfinite(model, X, X),
    }
    for call in calls.values():  # warm up: allocator, caches, lazy imports
        call()
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(REPEATS):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    median = {k: statistics.median(v) for k, v in times.items()}
    base = median["bare_forward_backward"]
    report = gw.diagnose(model, X, X)
    result = {
        "model": "GPT2LMHeadModel(n_layer=12, n_embd=128, n_head=4, vocab=1000), batch 8 x 64 tokens",
        "layers_reported": len(report),
        "coverage": report.coverage.fraction,
        "median_ms": {k: round(1e3 * v, 1) for k, v in median.items()},
        "ratio_to_bare": {k: round(v / base, 2) for k, v in median.items() if k != "bare_forward_backward"},
        "target": "diagnose < 2x",
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
