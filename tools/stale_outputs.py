"""Forget the book's executed outputs when the package that computed them has changed.

jupyter-cache keys a chapter's outputs on its code cells only, and Sphinx re-reads only the
pages that changed: after an edit to ``gradwidgets/`` a local ``make book`` would serve
figures the new code no longer computes. ``make book`` runs this first. It keeps a hash of
the package's sources (and of the pins) in ``_build/.gradwidgets-source``; when that differs,
it deletes the execution cache and Sphinx's environment, so every chapter runs again. It does
the same when the explorers' shards (``_build/baked``) are gone while executed outputs that
name them are kept.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP = ".gradwidgets-source"
FORGOTTEN = (".jupyter_cache", ".doctrees")  # the executed cells; which pages Sphinx has read


def source_hash(root: Path = ROOT) -> str:
    """SHA-256 over the package's Python files and the pins, paths and contents."""
    digest = hashlib.sha256()
    files = [*sorted((root / "gradwidgets").rglob("*.py")), root / "constraints.txt"]
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def forget_if_stale(build: Path, root: Path = ROOT) -> list[str]:
    """Delete ``build``'s executed outputs if the package changed since; return what went."""
    stamp, current = build / STAMP, source_hash(root)
    shards_kept = (build / "baked").is_dir() or not (build / ".jupyter_cache").exists()
    if stamp.is_file() and stamp.read_text(encoding="utf8") == current and shards_kept:
        return []
    gone = [name for name in FORGOTTEN if (build / name).exists()]
    for name in gone:
        shutil.rmtree(build / name)
    build.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current, encoding="utf8")
    return gone


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python tools/stale_outputs.py [BUILD_DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, nargs="?", default=ROOT / "_build")
    args = parser.parse_args(argv)
    gone = forget_if_stale(args.build)
    if gone:
        print(f"gradwidgets changed since the last book build: removed {', '.join(gone)} from {args.build}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
