"""Command line: ``python -m gradwidgets report MODULE:FACTORY`` diagnoses a model you build."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from .cli_inputs import CliError, build_batch, build_model, check_options, input_shape
from .core.diagnosis import diagnose
from .core.report import Report

__all__ = ["CliError", "main", "write_html"]

_PAGE = """{% block postamble %}<style>body { margin: 1em; font-family: sans-serif; }
.gw-report td, .gw-report th { padding: 2px 8px; }</style>{% endblock %}
{% block contents %}{{ report_html }}{{ super() }}{% endblock %}"""

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 2, 130
_EXIT_STATUS = """exit status:
  0    the report was made, whether or not it flags layers
  2    a mistake in the command or an error in your code: one line on stderr
       (--debug adds the traceback)
  130  interrupted (Ctrl-C)"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit code 2), like every other error."""

    def error(self, message: str):
        self.exit(EXIT_ERROR, f"gradwidgets: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    kw = {"epilog": _EXIT_STATUS, "formatter_class": argparse.RawDescriptionHelpFormatter}
    parser = _Parser(prog="python -m gradwidgets", description=__doc__, **kw)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="diagnose the gradients of a model, layer by layer", **kw)
    rep.add_argument("target", metavar="MODULE:FACTORY", help="a module name or .py path, and a function")
    rep.add_argument(
        "--input-shape", help="shape of one example, e.g. 32,10 (default: input_shape attribute)"
    )
    rep.add_argument("--batch", type=int, default=64, help="examples in the synthetic batch (default 64)")
    rep.add_argument(
        "--loss",
        choices=("mse", "cross_entropy"),
        help="default: the model's own loss if its forward takes labels (Hugging Face), else "
        "cross_entropy with --classes, else mse",
    )
    rep.add_argument("--classes", type=int, help="number of classes of the labels (cross_entropy)")
    rep.add_argument("--vocab", type=int, help="X as token ids from 0 to VOCAB-1 (a language model)")
    rep.add_argument("--seed", type=int, default=0, help="seed of the synthetic batch (default 0)")
    rep.add_argument("--html", metavar="PATH", help="also write a standalone HTML page with the plot")
    rep.add_argument("--debug", action="store_true", help="on an error, also print the traceback")
    return parser


def _check_writable(path: str) -> None:
    """Refuse an --html path that cannot be written, before the diagnosis runs."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise CliError(f"cannot write --html {path}: it is a directory")
    if not folder.is_dir():
        raise CliError(f"cannot write --html {path}: no such directory {folder}")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise CliError(f"cannot write --html {path}: permission denied")


def write_html(report: Report, path: str, title: str) -> None:
    """A standalone page (BokehJS inline, no CDN): the report table, then the plot."""
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    from .plots import plot_gradient_norms

    page = file_html(
        plot_gradient_norms(report.profile),
        INLINE,
        title,
        template=_PAGE,
        template_variables={"report_html": report._repr_html_()},
    )
    try:
        Path(path).write_text(page, encoding="utf-8")
    except OSError as err:
        raise CliError(f"cannot write --html {path}: {err}") from err


def report_command(args: argparse.Namespace) -> int:
    """Build the model, a batch for it, diagnose it, print the report (and write the page)."""
    check_options(args)
    if args.html:
        _check_writable(args.html)
    model, factory = build_model(args.target)
    X, y, loss = build_batch(model, input_shape(args.input_shape, model, factory), args)
    try:
        report = diagnose(model, X, y, loss=loss)
    except ValueError as err:
        raise CliError(str(err)) from err
    except Exception as err:  # the user's forward or backward in training mode, or a bug: named
        raise CliError(f"the diagnosis failed: {type(err).__name__}: {err}") from err
    print(report)
    if args.html:
        write_html(report, args.html, f"gradwidgets report: {args.target}")
        print(f"\nwrote {args.html}")
    return EXIT_OK


def _fail(message: str, err: BaseException, debug: bool) -> None:
    sys.stdout.flush()
    if debug:
        traceback.print_exception(type(err), err, err.__traceback__)
    print(f"gradwidgets: {' '.join(message.split())}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (see ``--help``: 0, 2 on any error, 130 on Ctrl-C)."""
    args = _parser().parse_args(argv)
    try:
        return report_command(args)
    except CliError as err:
        _fail(f"error: {err}", err, args.debug)
        return EXIT_ERROR
    except KeyboardInterrupt as err:
        _fail("interrupted", err, args.debug)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # piped into head: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as err:  # a bug of gradwidgets' own; still one line, the traceback with --debug
        _fail(f"error: internal error: {type(err).__name__}: {err} (rerun with --debug)", err, args.debug)
        return EXIT_ERROR
