"""book/_ext/baked_shards.py publishes exactly the shards the built pages name."""

from types import SimpleNamespace

import pytest

NAMES = ["gw-" + c * 32 for c in "abc"]


@pytest.fixture
def ext(load_script):
    return load_script("book/_ext/baked_shards.py")


def _app(tmp_path):
    out = tmp_path / "html"
    (out / "book").mkdir(parents=True)
    (out / "book" / "a.html").write_text(
        f'<script>{{"index": {{"0": "{NAMES[0]}", "1": "{NAMES[1]}"}}}}</script>'
    )
    (out / "_static" / "baked").mkdir(parents=True)
    (out / "_static" / "baked" / f"{NAMES[2]}.js").write_text("stale")  # from an earlier build
    return SimpleNamespace(outdir=str(out), srcdir=str(tmp_path), builder=SimpleNamespace(format="html"))


def test_the_named_shards_are_copied_and_no_others(ext, tmp_path, monkeypatch):
    source = tmp_path / "baked"
    source.mkdir()
    for name in NAMES:
        (source / f"{name}.js").write_text(name)
    monkeypatch.setenv("GRADWIDGETS_SHARDS", str(source))
    app = _app(tmp_path)
    ext.publish_shards(app, None)
    published = sorted(p.name for p in (tmp_path / "html" / "_static" / "baked").iterdir())
    assert published == [f"{NAMES[0]}.js", f"{NAMES[1]}.js"]


def test_a_missing_shard_is_a_warning_that_fails_a_strict_build(ext, tmp_path, monkeypatch):
    monkeypatch.delenv("GRADWIDGETS_SHARDS", raising=False)
    (tmp_path / "_build" / "baked").mkdir(parents=True)
    (tmp_path / "_build" / "baked" / f"{NAMES[0]}.js").write_text("x")
    warnings = []
    monkeypatch.setattr(ext.LOGGER, "warning", lambda msg, *args: warnings.append(msg % args))
    ext.publish_shards(_app(tmp_path), None)
    assert len(warnings) == 1 and "1 explorer shard(s)" in warnings[0] and NAMES[1] in warnings[0]
