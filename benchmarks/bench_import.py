"""Import time: ``import gradwidgets`` against ``import torch`` alone, in fresh interpreters: prints JSON.

Each case runs ``python -c CODE`` in a new subprocess (the wall time includes starting Python),
the cases interleaved round by round so that machine noise falls on all of them alike; the
medians and their ratios are reported. ``import gradwidgets`` is meant to cost little more than
torch, which it needs (the plotting and widget stacks load only when used);
``gradwidgets.plots`` (Bokeh) is timed for reference, and ``python -c pass`` for the start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPEATS = 15
CASES = {
    "python": "pass",
    "torch": "import torch",
    "gradwidgets": "import gradwidgets",
    "gradwidgets.plots": "import gradwidgets; gradwidgets.plots",
}


def _time_once(code: str, cwd: Path) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    return 1e3 * (time.perf_counter() - t)


def measure(repeats: int = REPEATS, cases: dict[str, str] = CASES) -> dict:
    """Median wall time (ms) of each case over ``repeats`` interleaved rounds, one warm-up first."""
    cwd = Path(__file__).resolve().parent  # not the repository root: its gradwidgets/ is not on the path
    for code in cases.values():  # warm the OS file cache
        _time_once(code, cwd)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, code in cases.items():
            times[name].append(_time_once(code, cwd))
    median = {name: statistics.median(t) for name, t in times.items()}
    return {
        "repeats": repeats,
        "median_ms": {name: round(m, 1) for name, m in median.items()},
        "ratio_gradwidgets_to_torch": round(median["gradwidgets"] / median["torch"], 3),
        "ratio_plots_to_torch": round(median["gradwidgets.plots"] / median["torch"], 3),
        "gradwidgets_over_torch_ms": round(median["gradwidgets"] - median["torch"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    print(json.dumps(measure(parser.parse_args().repeats), indent=2))


if __name__ == "__main__":
    main()
