"""gradwidgets.widgets.bakecache: a setting's shard is named by the setting and the computing code."""

import functools
import subprocess
import sys

import numpy as np
import pytest
import torch

from gradwidgets.explorers import gradient_flow, norm_training
from gradwidgets.widgets import bakecache
from gradwidgets.widgets.bakecache import content_name, describe, shard_directory, shard_name, stamp
from gradwidgets.widgets.spec import Control


def test_values_describe_by_content_and_unstable_ones_not_at_all():
    assert describe({"b": 1, "a": (2.0, None)}) == describe({"a": (2.0, None), "b": 1})
    assert describe(1) != describe(1.0) != describe(True)
    assert describe(np.arange(3.0)) == describe(np.arange(3.0)) != describe(np.arange(3))
    assert describe(torch.ones(2)) == describe(torch.ones(2)) != describe(torch.zeros(2))
    assert describe(Control("d", "D", (1, 2))) != describe(Control("d", "D", (1, 3)))
    assert describe(object()) is None and describe([1, object()]) is None
    assert describe(lambda x: x) is None  # code outside the package: its changes are not hashed


def test_an_explorers_stamp_follows_its_fixed_values_and_is_the_same_in_another_process():
    a, b = stamp(gradient_flow()), stamp(gradient_flow(width=32))
    assert a is not None and b is not None and a != b
    assert stamp(norm_training(steps=100)) != stamp(norm_training(steps=150))
    code = (
        "from gradwidgets.explorers import gradient_flow\n"
        "from gradwidgets.widgets.bakecache import stamp\n"
        "print(stamp(gradient_flow()))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == a


def test_a_change_of_the_computing_code_renames_every_shard(tmp_path, monkeypatch):
    for sub in ("core", "lessons", "plots", "explorers"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "m.py").write_text("x = 1\n")
    monkeypatch.setattr(bakecache, "_PACKAGE", tmp_path)
    bakecache.code_hash.cache_clear()
    try:
        before = bakecache.code_hash()
        (tmp_path / "widgets").mkdir()
        (tmp_path / "widgets" / "face.py").write_text("y = 2\n")  # a face does not compute
        bakecache.code_hash.cache_clear()
        assert bakecache.code_hash() == before
        (tmp_path / "widgets" / "shards.py").write_text("z = 3\n")  # the shard's format
        bakecache.code_hash.cache_clear()
        with_format = bakecache.code_hash()
        assert with_format != before
        (tmp_path / "core" / "m.py").write_text("x = 2\n")
        bakecache.code_hash.cache_clear()
        assert bakecache.code_hash() not in (before, with_format)
    finally:
        bakecache.code_hash.cache_clear()


def test_shard_names_differ_by_setting_and_look_like_shard_names():
    s = stamp(gradient_flow())
    one, two = shard_name(s, {"depth": 5}), shard_name(s, {"depth": 10})
    assert one != two and one.startswith("gw-") and len(one) == 35
    assert shard_name(s, {"depth": 5}) == one
    assert content_name("abc") != content_name("abd")
    with pytest.raises(ValueError, match="config="):
        shard_name(s, {"depth": object()})


def test_an_explorer_computed_outside_the_package_is_not_cached():
    ex = gradient_flow()
    outside = type(ex)(ex.name, ex.title, ex.controls, lambda cfg, emit: ex.compute(cfg, emit), ex.figures)
    assert stamp(outside) is None
    partial = type(ex)(ex.name, ex.title, ex.controls, functools.partial(ex.compute), ex.figures)
    assert stamp(partial) is not None and stamp(partial) != stamp(ex)


def test_the_shard_directory_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    assert shard_directory() is None
    monkeypatch.setenv("GRADWIDGETS_SHARDS", str(tmp_path))
    assert shard_directory() == tmp_path
