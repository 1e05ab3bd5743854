"""Overhead of gw.watch(every=1) under DistributedDataParallel: two processes (gloo, 127.0.0.1),
each training ``build_mlp(20, width=64)`` on its half of a batch of 256 (SGD, 100 steps, one
thread each), bare and watched, interleaved; rank 0 prints JSON (medians of its times, and the
ratio). Both processes are always ended, also when one fails or the run overruns 15 minutes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

REPEATS, STEPS, TIMEOUT = 11, 100, 900


def _rank_main(port: str) -> None:
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F  # noqa: N812
    from torch.nn.parallel import DistributedDataParallel

    import gradwidgets as gw

    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        g = torch.Generator().manual_seed(0)
        X, y = torch.randn(256, 2, generator=g), torch.randn(256, 1, generator=g)
        X, y = X[rank * 128 : (rank + 1) * 128], y[rank * 128 : (rank + 1) * 128]
        torch.manual_seed(0)
        model = DistributedDataParallel(gw.build_mlp(20, width=64))

        def loop(after=None):
            opt = torch.optim.SGD(model.parameters(), lr=1e-3)
            for _ in range(STEPS):
                opt.zero_grad(set_to_none=True)
                loss = F.mse_loss(model(X), y)
                loss.backward()
                if after is not None:
                    after(loss)
                opt.step()

        def watched():
            with gw.watch(model, live=False) as w:
                loop(w.log_loss)

        cases = {"bare": loop, "gw_watch_every_1": watched}
        times: dict[str, list[float]] = {k: [] for k in cases}
        for repeat in range(REPEATS + 1):
            for name, fn in cases.items():
                dist.barrier()
                t = time.perf_counter()
                fn()
                if repeat:  # the first round warms up
                    times[name].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        if rank == 0:
            out = {
                "config": {"processes": 2, "depth": 20, "width": 64, "batch": 256, "steps": STEPS},
                "median_ms": {k: round(1e3 * v, 2) for k, v in med.items()},
                "ratio_to_bare": round(med["gw_watch_every_1"] / med["bare"], 3),
            }
            print(json.dumps(out, indent=2))
    finally:
        dist.destroy_process_group()


def main() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--rank", str(port)],
            env={**env, "RANK": str(r)},
            start_new_session=True,  # its own process group, killed with its children
        )
        for r in range(2)
    ]
    try:
        deadline = time.monotonic() + TIMEOUT
        for p in procs:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    return max(p.returncode for p in procs)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rank":
        _rank_main(sys.argv[2])
    else:
        sys.exit(main())
