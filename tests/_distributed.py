"""Run a case in two processes of a gloo process group on 127.0.0.1, and always end them.

``run_ranks(case)`` starts ``python tests/_distributed.py <case> <port> <out>`` once per rank;
each process joins the group, runs ``CASES[case]`` and writes what it returns as JSON. The
processes are killed (with their children) when they overrun ``timeout`` or the test fails;
``run_ranks`` returns every rank's result, exit code and stderr tail.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORLD = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(case: str, tmp: Path, timeout: float = 120.0, world: int = WORLD) -> list[dict]:
    """Every rank's {"rc", "result", "stderr"}; no process outlives this call."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLD_SIZE": str(world), "PYTHONPATH": str(HERE.parent)}
    procs, outs = [], []
    try:
        for rank in range(world):
            out = tmp / f"{case}-{rank}.json"
            outs.append(out)
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(Path(__file__)), case, str(port), str(out)],
                    env={**env, "RANK": str(rank)},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,  # its own process group: killed with its children
                )
            )
        errs = []
        for p in procs:
            try:
                errs.append(p.communicate(timeout=timeout)[1])
            except subprocess.TimeoutExpired:
                errs.append("timed out")
                break
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    errs += ["killed"] * (world - len(errs))
    return [
        {
            "rc": p.returncode,
            "result": json.loads(out.read_text()) if out.exists() else None,
            "stderr": err[-3000:],
            "pid": p.pid,
        }
        for p, out, err in zip(procs, outs, errs, strict=True)
    ]


# --- the cases (run inside the rank processes) ---------------------------------------------------

BATCH, STEPS = 8, 3


def data():
    import torch

    g = torch.Generator().manual_seed(1)
    X = torch.randn(BATCH, 2, generator=g)
    return X, torch.sin(2 * X[:, :1]) + 0.1 * torch.randn(BATCH, 1, generator=g)


def model():
    import torch

    import gradwidgets as gw

    torch.manual_seed(0)
    return gw.build_mlp(4, width=16, activation="tanh")


def train(net, watched, X, y, steps=STEPS):
    """SGD steps under ``watched`` (a Watch); the loss is each process's own."""
    import torch

    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(X), y)
        loss.backward()
        watched.log_loss(loss)
        opt.step()


def _shard(rank, world):
    X, y = data()
    n = BATCH // world
    return X[rank * n : (rank + 1) * n], y[rank * n : (rank + 1) * n]


def _summary(w, net):
    h = w.history()
    return {
        "names": list(h.layer_names),
        "norms": h.layer_grad_norm.tolist(),
        "total": h.total_norm_before.tolist(),
        "updates": h.update_ratio.tolist(),
        "hooks": sum(len(p._post_accumulate_grad_hooks or {}) for p in net.parameters()),
    }


def case_ddp(rank, world):
    from torch.nn.parallel import DistributedDataParallel

    import gradwidgets as gw
    from gradwidgets.core.trainsetup import is_rank_zero

    net = model()
    ddp = DistributedDataParallel(net)
    X, y = _shard(rank, world)
    with gw.watch(ddp, updates=True) as w:
        train(ddp, w, X, y)
    return _summary(w, net) | {"rank_zero": is_rank_zero(), "live": hasattr(w, "view")}


def case_fsdp(rank, world):
    from torch.distributed.fsdp import fully_shard

    import gradwidgets as gw

    net = model()
    reference = copy.deepcopy(net)
    for block in net.blocks:
        fully_shard(block)
    fully_shard(net)
    X, y = _shard(rank, world)
    with gw.watch(net, updates=True) as w:
        train(net, w, X, y)
    out = _summary(w, net)
    out["shard_rows"] = [int(p.to_local().shape[0]) for p in net.parameters()][:1]
    out["full_rows"] = [int(p.shape[0]) for p in reference.parameters()][:1]
    return out


def case_raises(rank, world):
    """Rank 1's step raises; rank 0 then waits for it in the next all-reduce."""
    from torch.nn.parallel import DistributedDataParallel

    import gradwidgets as gw

    net = model()
    ddp = DistributedDataParallel(net)
    X, y = _shard(rank, world)
    w = gw.watch(ddp)
    try:
        if rank == 1:
            raise RuntimeError("a failing step")
        train(ddp, w, X, y)
    finally:
        w.close()
    return {}


CASES = {"ddp": case_ddp, "fsdp": case_fsdp, "raises": case_raises}


def main(case: str, port: str, out: str) -> None:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        result = CASES[case](rank, world)
        Path(out).write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
