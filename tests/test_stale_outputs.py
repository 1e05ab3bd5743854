"""A book build forgets its executed outputs when the package that computed them changed."""

import pytest


@pytest.fixture
def tool(load_script):
    module = load_script("tools/stale_outputs.py")
    return module


def _project(tmp_path):
    (tmp_path / "gradwidgets" / "explorers").mkdir(parents=True)
    (tmp_path / "gradwidgets" / "probes.py").write_text("A = 1\n")
    (tmp_path / "gradwidgets" / "explorers" / "flow.py").write_text("B = 2\n")
    (tmp_path / "constraints.txt").write_text("torch==2.13.0\n")
    build = tmp_path / "_build"
    for name in (".jupyter_cache", ".doctrees", "html", "baked"):
        (build / name).mkdir(parents=True)
    return build


def _outputs(build):
    return sorted(p.name for p in build.iterdir() if p.is_dir())


def test_outputs_are_kept_while_the_package_is_unchanged(tool, tmp_path):
    build = _project(tmp_path)
    tool.forget_if_stale(build, tmp_path)  # a build that predates the stamp: forgotten once
    for name in (".jupyter_cache", ".doctrees"):
        (build / name).mkdir()
    assert tool.forget_if_stale(build, tmp_path) == []
    assert _outputs(build) == [".doctrees", ".jupyter_cache", "baked", "html"]


@pytest.mark.parametrize("edit", ["gradwidgets/explorers/flow.py", "constraints.txt"])
def test_an_edit_to_the_package_or_the_pins_forgets_the_executed_outputs(tool, tmp_path, edit):
    build = _project(tmp_path)
    tool.forget_if_stale(build, tmp_path)
    for name in (".jupyter_cache", ".doctrees"):
        (build / name).mkdir()
    (tmp_path / edit).write_text("changed\n")
    assert tool.forget_if_stale(build, tmp_path) == [".jupyter_cache", ".doctrees"]
    assert _outputs(build) == ["baked", "html"]  # the pages stay until the build rewrites them
    assert tool.forget_if_stale(build, tmp_path) == []


def test_outputs_naming_shards_that_are_gone_are_forgotten(tool, tmp_path):
    build = _project(tmp_path)
    tool.forget_if_stale(build, tmp_path)
    for name in (".jupyter_cache", ".doctrees"):
        (build / name).mkdir()
    (build / "baked").rmdir()  # the explorers' results the cached pages name
    assert tool.forget_if_stale(build, tmp_path) == [".jupyter_cache", ".doctrees"]
