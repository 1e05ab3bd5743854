"""Command line: ``python -m gradwidgets report MODULE:FACTORY`` diagnoses a model you build."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from pathlib import Path

import torch
from torch import nn

from .core.diagnosis import diagnose
from .core.report import Report

_PAGE = """{% block postamble %}<style>body { margin: 1em; font-family: sans-serif; }
.gw-report td, .gw-report th { padding: 2px 8px; }</style>{% endblock %}
{% block contents %}{{ report_html }}{{ super() }}{% endblock %}"""


class CliError(Exception):
    """A mistake in the command or in the user's code: one line on stderr, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gradwidgets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="diagnose the gradients of a model, layer by layer")
    rep.add_argument("target", metavar="MODULE:FACTORY", help="a module name or .py path, and a function")
    rep.add_argument(
        "--input-shape", help="shape of one example, e.g. 32,10 (default: input_shape attribute)"
    )
    rep.add_argument("--batch", type=int, default=64, help="examples in the synthetic batch (default 64)")
    rep.add_argument("--loss", choices=("mse", "cross_entropy"), help="default: cross_entropy with --classes")
    rep.add_argument("--classes", type=int, help="number of classes of the labels (cross_entropy)")
    rep.add_argument("--seed", type=int, default=0, help="seed of the synthetic batch (default 0)")
    rep.add_argument("--html", metavar="PATH", help="also write a standalone HTML page with the plot")
    return parser


def load_factory(target: str):
    """The function named by ``MODULE:FACTORY``; MODULE is a dotted name or a path to a .py file."""
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise CliError(f"expected MODULE:FACTORY, got {target!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = Path(module_name).resolve()
            if not path.is_file():
                raise FileNotFoundError(f"no such file: {path}")
            sys.path.insert(0, str(path.parent))
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # as import would: dataclasses and pickle look here
            spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except Exception as err:  # the user's module: any error is theirs to fix
        raise CliError(f"cannot import {module_name}: {type(err).__name__}: {err}") from err
    factory = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise CliError(f"{module_name} has no attribute {attr!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise CliError(f"{target} is not callable")
    return factory


def _shape(text: str | None, model: nn.Module, factory) -> tuple[int, ...]:
    shape = text if text is not None else getattr(model, "input_shape", getattr(factory, "input_shape", None))
    if shape is None:
        raise CliError("no input shape: pass --input-shape (e.g. 32,10) or set input_shape on the model")
    try:
        dims = tuple(int(d) for d in shape.split(",")) if isinstance(shape, str) else tuple(map(int, shape))
    except (TypeError, ValueError) as err:
        raise CliError(f"input shape {shape!r} is not a list of integers like 32,10") from err
    if not dims or min(dims) < 1:
        raise CliError(f"input shape {shape!r} must have positive sizes")
    return dims


def _probe_output(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The model's output on X, in eval mode without gradients; the model is left as it was."""
    modes = [(m, m.training) for m in model.modules()]
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            out = model.eval()(X)
    except Exception as err:
        raise CliError(f"the model does not run on X of shape {tuple(X.shape)}: {err}") from err
    finally:
        for m, training in modes:
            m.training = training
    out = out if isinstance(out, torch.Tensor) else out[0]
    return out


def build_batch(model: nn.Module, shape: tuple[int, ...], args: argparse.Namespace):
    """A seeded synthetic batch: standard normal X, and y that fits the model's output."""
    if args.batch < 2:
        raise CliError(f"--batch {args.batch}: need at least 2 examples")
    param = next(model.parameters(), None)
    g = torch.Generator().manual_seed(args.seed)
    X = torch.randn((args.batch, *shape), generator=g)
    if param is not None:
        X = X.to(param.device, param.dtype)
    out = _probe_output(model, X)
    loss = args.loss or ("cross_entropy" if args.classes else "mse")
    if loss == "mse":
        return X, torch.randn(out.shape, generator=g).to(out.device, out.dtype), loss
    classes = args.classes or (out.shape[1] if out.dim() == 2 else 0)
    if classes < 2:
        raise CliError(
            f"cross_entropy needs an output of shape (batch, classes >= 2), got {tuple(out.shape)}"
        )
    return X, torch.randint(classes, (args.batch,), generator=g).to(out.device), loss


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
        raise CliError(f"cannot write {path}: {err}") from err


def report_command(args: argparse.Namespace) -> int:
    """Build the model, a batch for it, diagnose it, print the report (and write the page)."""
    factory = load_factory(args.target)
    try:
        model = factory()
    except Exception as err:
        raise CliError(f"{args.target}() raised {type(err).__name__}: {err}") from err
    if not isinstance(model, nn.Module):
        raise CliError(f"{args.target}() returned {type(model).__name__}, not a torch.nn.Module")
    X, y, loss = build_batch(model, _shape(args.input_shape, model, factory), args)
    try:
        report = diagnose(model, X, y, loss_fn=loss)
    except ValueError as err:
        raise CliError(str(err)) from err
    print(report)
    if args.html:
        write_html(report, args.html, f"gradwidgets report: {args.target}")
        print(f"\nwrote {args.html}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for any error, with one line on stderr)."""
    args = _parser().parse_args(argv)
    try:
        return report_command(args)
    except CliError as err:
        print(f"gradwidgets: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # piped into head: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
