"""Copy BokehJS into the book's static files, named with their version.

The book loads BokehJS from its own ``_static/`` (``html_js_files`` in ``_config.yml``), never
from cdn.bokeh.org. This copies exactly the files ``_config.yml`` names, and fails when their
version is not the installed bokeh's: BokehJS must match the Python bokeh that wrote the
outputs. ``bokeh-plots-<version>.min.js`` is the book's own bundle of BokehJS, committed in
``tools/bokehjs/`` (built there by ``build.mjs``, whose first line names its version and
models: ``book/_ext/plot_scripts.py`` checks both); other names come from the installed bokeh.
Files are copied only when their content changed, so a cached rebuild stays cached.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import bokeh
import yaml
from bokeh.util.paths import bokehjs_path

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = ROOT / "tools" / "bokehjs"
NAME = re.compile(r"(bokeh(?:-[a-z]+)?)-(\d+\.\d+\.\d+)\.min\.js")


def bokeh_files(config: dict) -> tuple[Path, list[str]]:
    """The static folder and the BokehJS file names that a book config loads."""
    sphinx = config.get("sphinx", {}).get("config", {})
    static = [p for p in sphinx.get("html_static_path", []) if not Path(p).is_absolute()]
    if len(static) != 1:
        raise SystemExit(f"_config.yml: expected one html_static_path of the book's own, got {static}")
    names = [name for name in sphinx.get("html_js_files", []) if NAME.fullmatch(str(name))]
    if not names:
        raise SystemExit("_config.yml: html_js_files names no bokeh-<version>.min.js file")
    return ROOT / static[0], names


def copy_bokehjs(config_path: Path) -> list[Path]:
    """Copy the BokehJS files named in ``config_path`` into its static folder; return them."""
    static, names = bokeh_files(yaml.safe_load(config_path.read_text(encoding="utf8")))
    installed = Path(bokehjs_path()) / "js"
    static.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in names:
        stem, version = NAME.fullmatch(name).groups()
        if version != bokeh.__version__:
            raise SystemExit(
                f"_config.yml loads {name} but bokeh {bokeh.__version__} is installed: "
                f"rename it to {stem}-{bokeh.__version__}.min.js"
            )
        ours = BUNDLES / f"{stem}.min.js"
        src, dst = (ours if ours.exists() else installed / f"{stem}.min.js"), static / name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
        copied.append(dst)
    for stale in static.glob("bokeh*.js"):  # other versions left by an earlier bokeh
        if stale not in copied:
            stale.unlink()
    return copied


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python tools/copy_bokehjs.py [--config _config.yml]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "_config.yml")
    args = parser.parse_args(argv)
    for path in copy_bokehjs(args.config):
        print(f"BokehJS {bokeh.__version__}: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
