"""``python -m gradwidgets``: the command line (see :mod:`gradwidgets.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
