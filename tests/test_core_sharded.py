"""Norms of sharded gradients (core/sharded.py): plain tensors as before; FSDP2's DTensors
reduced across two real processes, equal to one process's norms on the whole batch."""

import numpy as np
import pytest
import torch
from _distributed import STEPS, data, model, run_ranks, train

import gradwidgets as gw
from gradwidgets.core.norms import tensor_norms
from gradwidgets.core.sharded import global_norms, is_sharded


def test_plain_tensors_are_normed_as_tensor_norms_does():
    ts = [torch.randn(5, 7), torch.zeros(3), torch.full((4,), 1e20)]
    np.testing.assert_array_equal(global_norms(ts), tensor_norms(ts))
    assert not is_sharded(ts)


def test_a_one_process_dtensor_is_the_whole_tensor(tmp_path):
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor

    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/store", rank=0, world_size=1)
    try:
        mesh = init_device_mesh("cpu", (1,))
        t = torch.randn(6, 4)
        sharded, replicated = (
            distribute_tensor(t, mesh, [Shard(0)]),
            distribute_tensor(t, mesh, [Replicate()]),
        )
        assert is_sharded([t, sharded])
        got = global_norms([sharded, t, replicated])
        np.testing.assert_allclose(got, [t.norm().item()] * 3, rtol=1e-6)
    finally:
        dist.destroy_process_group()


def _single_process():
    net = model()
    X, y = data()
    with gw.watch(net, updates=True, live=False) as w:
        train(net, w, X, y)
    return w.history()


@pytest.mark.slow
def test_fsdp2_norms_are_those_of_the_whole_gradient(tmp_path):
    ranks = run_ranks("fsdp", tmp_path)
    for r in ranks:
        assert r["rc"] == 0, r["stderr"]
    want = _single_process()
    a, b = (r["result"] for r in ranks)
    assert a["shard_rows"][0] * 2 == a["full_rows"][0]  # each process holds half of a weight
    assert a["names"] == list(want.layer_names)
    assert len(a["norms"]) == STEPS
    np.testing.assert_allclose(a["norms"], want.layer_grad_norm, rtol=1e-5)
    np.testing.assert_allclose(a["total"], want.total_norm_before, rtol=1e-5)
    np.testing.assert_allclose(a["updates"], want.update_ratio, rtol=1e-4)
    assert a["norms"] == b["norms"]
    assert a["hooks"] == b["hooks"] == 0
