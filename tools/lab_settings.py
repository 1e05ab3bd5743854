"""The course's JupyterLab settings, in one place: `make lab` and the end-to-end tests use these.

Run as a script it starts JupyterLab with them (`make lab` does):
``python tools/lab_settings.py [jupyter lab arguments...]``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

VIEWER_DOCTYPES = ("markdown", "myst")
"""File types a double click opens as a notebook, through jupytext (postBuild sets the same)."""

FLAGS = (
    "--LabApp.news_url=None",  # no announcements feed fetched from jupyterlab.github.io
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",  # no version check on PyPI
)
"""Server flags: JupyterLab makes no request to another host."""


def overrides() -> dict:
    """The lab settings overrides (``overrides.json``): default viewers, no news, no update check."""
    from jupytext_config.labconfig import LabConfig  # the same code `jupytext-config` runs

    viewers = LabConfig(settings_file=os.devnull).set_default_viewers(list(VIEWER_DOCTYPES)).config
    return {
        **viewers,
        "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False, "fetchNews": "false"},
    }


def write_overrides(settings_dir: str | Path) -> Path:
    """Merge :func:`overrides` into ``settings_dir/overrides.json`` (keeping other keys) and return it."""
    path = Path(settings_dir) / "overrides.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    for plugin, values in overrides().items():
        current[plugin] = {**current.get(plugin, {}), **values}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n")
    return path


def app_settings_dir() -> Path:
    """This environment's JupyterLab application settings directory (in the venv, not in home)."""
    from jupyterlab.commands import get_app_dir

    return Path(get_app_dir()) / "settings"


def main(argv: list[str]) -> None:
    """Write the settings into this environment's app settings, then become ``jupyter lab``."""
    write_overrides(app_settings_dir())
    os.execv(sys.executable, [sys.executable, "-m", "jupyterlab", *FLAGS, *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
