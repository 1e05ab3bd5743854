"""What a watch reads of how a model is trained (core/trainsetup.py): wrappers, the rank, the
loss scaler; and DistributedDataParallel in two real processes."""

import os

import numpy as np
import pytest
import torch
from _distributed import STEPS, data, model, run_ranks, train

import gradwidgets as gw
from gradwidgets.core.trainsetup import check_scaler, is_rank_zero, unwrap


def test_unwrap_sees_through_ddp_and_compile(tmp_path):
    import torch.distributed as dist

    net = model()
    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/store", rank=0, world_size=1)
    try:
        ddp = torch.nn.parallel.DistributedDataParallel(net)
        assert unwrap(ddp) is net
        assert unwrap(torch.compile(ddp, backend="eager")) is net
        assert is_rank_zero()
    finally:
        dist.destroy_process_group()
    assert unwrap(net) is net


def test_fsdp1_is_refused_with_what_to_use_instead():
    from torch.distributed.fsdp import FullyShardedDataParallel

    wrapper = FullyShardedDataParallel.__new__(FullyShardedDataParallel)  # FSDP1 needs a GPU to build
    torch.nn.Module.__init__(wrapper)
    wrapper._modules["_fsdp_wrapped_module"] = model()  # as FSDP1 holds it; add_module asks FSDP for it
    wrapper.training_state = None  # what its named_parameters reads
    outer = torch.nn.Sequential(wrapper)
    for m in (wrapper, outer):
        with pytest.raises(ValueError, match=r"^model: FullyShardedDataParallel \(FSDP1\) flattens"):
            gw.watch(m, live=False)
    assert all(not p._post_accumulate_grad_hooks for p in outer.parameters())


def test_is_rank_zero_without_a_process_group():
    assert is_rank_zero()


def test_check_scaler():
    assert check_scaler(None) is None
    assert check_scaler(torch.amp.GradScaler("cpu", enabled=False)) is None
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    assert check_scaler(scaler) is scaler
    with pytest.raises(ValueError, match="scaler=3 is not allowed"):
        check_scaler(3)


def _single_process():
    net = model()
    X, y = data()
    with gw.watch(net, updates=True, live=False) as w:
        train(net, w, X, y)
    return w.history()


@pytest.mark.slow
def test_ddp_records_the_averaged_gradient_on_every_rank(tmp_path):
    ranks = run_ranks("ddp", tmp_path)
    for r in ranks:
        assert r["rc"] == 0, r["stderr"]
    want = _single_process()  # one process, the whole batch: what the optimiser applies
    a, b = (r["result"] for r in ranks)
    assert a["names"] == list(want.layer_names)
    assert len(a["norms"]) == STEPS
    np.testing.assert_allclose(a["norms"], want.layer_grad_norm, rtol=1e-5)
    np.testing.assert_allclose(a["updates"], want.update_ratio, rtol=1e-4)
    np.testing.assert_allclose(b["norms"], a["norms"], rtol=1e-6)
    assert (a["rank_zero"], b["rank_zero"]) == (True, False)
    assert a["hooks"] == b["hooks"] == 0


@pytest.mark.slow
def test_a_failing_rank_ends_both_processes(tmp_path):
    ranks = run_ranks("raises", tmp_path, timeout=60)
    assert ranks[1]["rc"] != 0 and "a failing step" in ranks[1]["stderr"]
    assert ranks[0]["rc"] != 0  # it lost its peer (or was killed after the timeout)
    for r in ranks:
        with pytest.raises(ProcessLookupError):
            os.kill(r["pid"], 0)
