"""Overhead of recording: gradient_profile and train(record_every=1) against the bare step.

Prints JSON. Times are medians over interleaved repeats in one run (the machine is noisy, so
only the ratios within a run are meaningful; ``ratio_of_fastest`` compares the least
disturbed run of each). A guard, not a target: it exits with status 1 when gradient_profile's
or train's ratio exceeds GUARD (1.35). The full-statistics gradient_profile is a one-shot
call, and in eager torch its statistics alone cost 1.07-1.25x the bare step (the ``floor``),
so the old 1.10 target is retired; the in-loop budget belongs to ``watch``
(benchmarks/bench_watch.py). Besides the
``build_mlp`` model (whose layers gradient_profile reads off its blocks), the same layers as
an ``nn.Sequential`` measure the general tracer, and ``floor`` is the least the profile's
statistics cost in eager torch: the same tensor operations written out for this one model,
with no bookkeeping at all. ``breakdown_ms`` times gradient_profile's parts in a second
interleaved loop; ``minor_faults_per_call`` counts the pages the kernel had to map (a heap
that grew and was trimmed again costs ~1-3 us a page).
"""

from __future__ import annotations

import json
import resource
import statistics
import time

import torch

import gradwidgets as gw
from gradwidgets.core.actstats import activation_stats
from gradwidgets.core.blocktrace import mlp_trace
from gradwidgets.core.hooknorms import GradNorms
from gradwidgets.core.norms import norms
from gradwidgets.core.outputs import run_forward
from gradwidgets.core.tracing import trace_forward

CONFIGS = [(20, 64, 256), (50, 128, 256)]
GUARD = 1.35
"""The largest ratio to the bare step that gradient_profile and train(record_every=1) may cost."""
STEPS = 20  # training steps per timed train() call
REPEATS = 25


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

    layers = list(model.hidden_linears)
    general = torch.nn.Sequential(*[m for b in model.blocks for m in (b.linear, b.act)], model.head)
    cases = {
        "bare_step": bare_step,
        "gradient_profile": lambda: gw.gradient_profile(model, X, y),
        "gradient_profile_general_tracer": lambda: gw.gradient_profile(general, X, y, layers=layers),
        "floor": lambda: floor(model, X, y),
        "bare_training": bare_training,
        "train_record_every_1": lambda: gw.train(model, X, y, steps=STEPS, lr=1e-4, record_every=1),
    }
    for fn in cases.values():  # warm up
        fn()
    times: dict[str, list[float]] = {k: [] for k in cases}
    faults: dict[str, list[int]] = {k: [] for k in cases}
    for _ in range(REPEATS):
        for name, fn in cases.items():
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            times[name].append(_timer(fn))
            faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    med = {k: statistics.median(v) for k, v in times.items()}
    fastest = {k: min(v) for k, v in times.items()}  # the least disturbed run of each
    return {
        "config": {"depth": depth, "width": width, "batch": batch, "threads": torch.get_num_threads()},
        "median_ms": {
            "bare_step": 1e3 * med["bare_step"],
            "gradient_profile": 1e3 * med["gradient_profile"],
            "gradient_profile_general_tracer": 1e3 * med["gradient_profile_general_tracer"],
            "floor": 1e3 * med["floor"],
            "bare_train_step": 1e3 * med["bare_training"] / STEPS,
            "train_step_record_every_1": 1e3 * med["train_record_every_1"] / STEPS,
        },
        "ratio": {
            "gradient_profile_vs_bare_step": med["gradient_profile"] / med["bare_step"],
            "general_tracer_vs_bare_step": med["gradient_profile_general_tracer"] / med["bare_step"],
            "floor_vs_bare_step": med["floor"] / med["bare_step"],
            "train_record_every_1_vs_bare_train": med["train_record_every_1"] / med["bare_training"],
        },
        "ratio_of_fastest": {
            "gradient_profile_vs_bare_step": fastest["gradient_profile"] / fastest["bare_step"],
            "floor_vs_bare_step": fastest["floor"] / fastest["bare_step"],
            "train_record_every_1_vs_bare_train": fastest["train_record_every_1"] / fastest["bare_training"],
        },
        "minor_faults_per_call": {
            "bare_step": statistics.median(faults["bare_step"]),
            "gradient_profile": statistics.median(faults["gradient_profile"]),
        },
        "breakdown_ms": breakdown(model, X, y),
    }


_FLOOR_BUFFERS: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def floor(model, X, y) -> None:
    """The profile's tensor work for a tanh MLP, and nothing else: every h stacked into a kept
    buffer, then the sum per unit (mean, dead units), the sum of squares (std) and the
    saturated count (h*h over the cut) over the stack; the norm of dL/dh in a hook per layer;
    every weight's and weight gradient's norm in one call."""
    hs, x = [], X
    for b in model.blocks:
        x = b.act(b.linear(x))
        hs.append(x)
    loss = torch.nn.functional.mse_loss(model.head(x), y)
    shape = (len(hs), *hs[0].shape)
    if shape not in _FLOOR_BUFFERS:
        _FLOOR_BUFFERS[shape] = torch.empty(shape), torch.empty(shape)
    stack, sq = _FLOOR_BUFFERS[shape]
    with torch.no_grad():
        torch.stack(hs, out=stack)
        stack.sum(1), torch.mul(stack, stack, out=sq).sum((1, 2))
        torch.threshold(sq, 0.95, 0.0, out=sq).sign_().sum((1, 2))
    dh = []
    for h in hs:
        h.register_hook(lambda g: dh.append(torch.linalg.vector_norm(g)))
    weights = [b.linear.weight for b in model.blocks]
    grads = torch.autograd.grad(loss, weights)
    with torch.no_grad():
        torch._foreach_norm(list(grads) + weights)


def breakdown(model, X, y) -> dict:
    """gradient_profile's parts (medians, ms): the plain forward against the block-by-block one
    gradient_profile runs for this model and the general tracer's, the activation statistics,
    the backward pass with and without the dL/dh hooks, the norms."""
    loss_fn = torch.nn.functional.mse_loss
    weights = [lin.weight for lin in model.hidden_linears]
    times: dict[str, list[float]] = {}

    def timed(name, fn, *args):
        t = time.perf_counter()
        out = fn(*args)
        times.setdefault(name, []).append(time.perf_counter() - t)
        return out

    def backward_with_hooks(loss, traces):
        hooks = GradNorms(traces)  # a norm of dL/dh taken as each goes by
        grads = torch.autograd.grad(loss, weights)
        hooks.remove()
        return grads

    for _ in range(REPEATS + 2):
        timed("forward", model, X)
        timed("block_forward", mlp_trace, model, X, run_forward, None)
        hidden = model.hidden_linears
        out, traces = timed("general_traced_forward", trace_forward, model, X, run_forward, hidden)
        timed("activation_stats", activation_stats, traces)
        timed("backward_weights_and_dl_dh", backward_with_hooks, loss_fn(out, y), traces)
        del out, traces
        grads = timed("backward_weights_only", torch.autograd.grad, loss_fn(model(X), y), weights)
        timed("weight_norms", norms, [[g] for g in grads] + [[w] for w in weights])
        timed("gradient_profile", gw.gradient_profile, model, X, y)
    return {k: 1e3 * statistics.median(v[2:]) for k, v in times.items()}


def main() -> None:
    results = [measure(*c) for c in CONFIGS]
    product = ("gradient_profile_vs_bare_step", "train_record_every_1_vs_bare_train")
    worst = max(res["ratio"][k] for res in results for k in product)
    print(json.dumps({"guard_ratio": GUARD, "worst_ratio": worst, "results": results}, indent=2))
    if worst > GUARD:
        raise SystemExit(f"over the guard: worst ratio {worst:.2f} > {GUARD}")


if __name__ == "__main__":
    main()
