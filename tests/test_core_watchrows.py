"""A watch's rows (core/watchrows.py): a layer each, or blocks by module path, so a model of
1,000 parameter tensors gives a readable map; each block's norm is its layers' together."""

import numpy as np
import pytest
import torch
from torch import nn

import gradwidgets as gw
from gradwidgets.core.watchrows import MAX_ROWS, auto_blocks, block_name, check_blocks, watch_rows


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.attn = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x):
        x = x + torch.tanh(self.attn(x))
        return x + self.mlp(x)


class Tower(nn.Module):
    """An embedding, ``depth`` blocks of 3 layers (6 parameter tensors) and a head."""

    def __init__(self, depth, width=8):
        super().__init__()
        self.embed = nn.Linear(2, width)
        self.body = nn.ModuleDict({"h": nn.ModuleList(Block(width) for _ in range(depth))})
        self.head = nn.Linear(width, 1)

    def forward(self, x):
        x = self.embed(x)
        for block in self.body["h"]:
            x = block(x)
        return self.head(x)


def _step(model, w, n=1):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(16, 2, generator=g)
    for _ in range(n):
        model.zero_grad()
        model(X).pow(2).mean().backward()
        w.log_loss(0.0)


def test_block_name_and_depth():
    assert block_name("body.h.3.mlp.0", 3) == "body.h.3"
    assert block_name("head", 3) == "head"
    names = ["embed", *[f"body.h.{i}.{p}" for i in range(30) for p in ("attn", "mlp.0", "mlp.2")], "head"]
    # 62 rows: embed, 30 x (attn, mlp), head (a row per layer would be 92)
    rows = auto_blocks(names)
    assert len(set(rows)) == 62 and rows[:4] == ["embed", "body.h.0.attn", "body.h.0.mlp", "body.h.0.mlp"]
    # at most 40: the 30 blocks of body.h at depth 3 fit (32 rows); their 60 parts do not
    rows = auto_blocks(names, limit=40)
    assert list(dict.fromkeys(rows)) == ["embed", *[f"body.h.{i}" for i in range(30)], "head"]
    # at most 20: depth 2 fits (3 rows), and body.h's 30 blocks go in runs of 2
    rows = list(dict.fromkeys(auto_blocks(names, limit=20)))
    assert rows[:3] == ["embed", "body.h.[0-1]", "body.h.[2-3]"] and len(rows) == 17
    assert auto_blocks(names[:10]) == names[:10]  # few enough: a row per layer
    flat = [f"{i}" for i in range(100)]  # a flat nn.Sequential of 100 layers
    assert list(dict.fromkeys(auto_blocks(flat)))[:2] == ["[0-1]", "[2-3]"]


@pytest.mark.parametrize(
    "value, match",
    [
        ("block", r"blocks='block' is not allowed"),
        (0, r"blocks=0 is not allowed; it must be \"auto\", \"layers\" or a module-path depth"),
        (True, "blocks"),
        (2.5, "blocks"),
    ],
)
def test_bad_blocks_name_the_argument(value, match):
    with pytest.raises(ValueError, match=match):
        check_blocks(value)
    model = Tower(2)
    with pytest.raises(ValueError, match="blocks"):
        gw.watch(model, blocks=value, live=False)
    assert all(not p._post_accumulate_grad_hooks for p in model.parameters())


def test_a_thousand_tensor_model_is_watched_in_blocks_whose_norms_add_up_its_layers():
    model = Tower(166)  # 166 x 6 + 4 = 1,000 parameter tensors, 500 layers
    assert len(list(model.parameters())) == 1000
    with gw.watch(model, live=False) as w:
        _step(model, w)
    h = w.history()
    with gw.watch(model, blocks="layers", live=False) as per_layer:
        _step(model, per_layer)
    layers = per_layer.history()
    assert len(layers.layer_names) == 500
    assert len(h.layer_names) <= MAX_ROWS
    # 168 blocks at depth 3 are too many: body.h's 166 blocks in runs of 3, in the model's order
    assert h.layer_names[:3] == ("embed", "body.h.[0-2]", "body.h.[3-5]")
    assert h.layer_names[-2:] == ("body.h.165", "head") and len(h.layer_names) == 58
    first = [
        i for i, n in enumerate(layers.layer_names) if n.startswith(("body.h.0.", "body.h.1.", "body.h.2."))
    ]
    assert len(first) == 9
    np.testing.assert_allclose(
        h.layer_grad_norm[0, 1], np.sqrt((layers.layer_grad_norm[0, first] ** 2).sum()), rtol=1e-6
    )
    np.testing.assert_allclose(h.total_norm_before, layers.total_norm_before, rtol=1e-12)


def test_an_int_depth_groups_by_module_path():
    model = Tower(3)
    with gw.watch(model, blocks=3, live=False) as w, gw.watch(model, blocks="layers", live=False) as ref:
        _step(model, w, 2)
        _step(model, ref, 2)
    h, r = w.history(), ref.history()
    assert h.layer_names == ("embed", "body.h.0", "body.h.1", "body.h.2", "head")
    for k, block in enumerate(h.layer_names):
        cols = [i for i, n in enumerate(r.layer_names) if n == block or n.startswith(block + ".")]
        np.testing.assert_allclose(
            h.layer_grad_norm[:, k], np.sqrt((r.layer_grad_norm[:, cols] ** 2).sum(1)), rtol=1e-6
        )
    assert "body.h.1" in w.summary()


def test_auto_keeps_a_row_per_layer_for_a_small_model():
    model = Tower(2)
    rows = watch_rows(model, [p for p in model.parameters()], "auto")
    assert rows.names == (
        "embed",
        "body.h.0.attn",
        "body.h.0.mlp.0",
        "body.h.0.mlp.2",
        "body.h.1.attn",
        "body.h.1.mlp.0",
        "body.h.1.mlp.2",
        "head",
    )
    assert rows.frozen == (False,) * 8


def test_a_frozen_block_is_nan_and_a_shared_weight_counts_once():
    model = Tower(2)
    model.body["h"][0].requires_grad_(False)
    model.body["h"][1].mlp[2].weight = model.body["h"][1].attn.weight
    params = [p for p in model.parameters() if p.requires_grad]
    rows = watch_rows(model, params, 3)
    assert rows.names == ("embed", "body.h.0", "body.h.1", "head")
    assert rows.frozen == (False, True, False, False)
    assert len(rows.params[2]) == len(set(rows.params[2])) == 2  # attn (= mlp.2) and mlp.0
