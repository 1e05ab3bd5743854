"""A Sphinx extension that publishes the explorers' shards the built pages use, and only those.

A book build bakes every setting of every explorer into a shard file in ``_build/baked/``
(``GRADWIDGETS_SHARDS``; see ``gradwidgets/widgets/shards.py``). That folder also keeps the
shards of earlier builds (a rebuild reuses them instead of computing again). When the HTML is
written, this copies into ``_static/baked/`` every shard a page names, and warns (``-W`` fails
the build) about any that is missing, so a page never offers a setting it cannot show.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
NAME = re.compile(r"gw-[0-9a-f]{32}")


def shard_source(app: Sphinx) -> Path:
    """Where the kernels wrote the shards: ``GRADWIDGETS_SHARDS``, else ``_build/baked``."""
    value = os.environ.get("GRADWIDGETS_SHARDS", "")
    return Path(value) if value else Path(app.srcdir) / "_build" / "baked"


def publish_shards(app: Sphinx, exception: Exception | None) -> None:
    """Copy every shard the built pages name into ``<outdir>/_static/baked``."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    named: set[str] = set()
    for page in out.rglob("*.html"):
        named.update(NAME.findall(page.read_text(encoding="utf8", errors="replace")))
    target = out / "_static" / "baked"
    if target.exists():
        shutil.rmtree(target)
    if not named:
        return
    target.mkdir(parents=True)
    source = shard_source(app)
    missing = sorted(n for n in named if not (source / f"{n}.js").is_file())
    for name in sorted(named.difference(missing)):
        shutil.copyfile(source / f"{name}.js", target / f"{name}.js")
    if missing:
        LOGGER.warning(
            "%d explorer shard(s) the pages name are not in %s (e.g. %s): delete _build and build again",
            len(missing),
            source,
            missing[0],
        )


def setup(app: Sphinx) -> dict:
    """Register the copy at the end of the build."""
    app.connect("build-finished", publish_shards)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
