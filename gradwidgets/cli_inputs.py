"""What the command line builds from the user's code and options: the factory, the model, the batch.

Every failure of the user's code or options becomes a :class:`CliError` whose message names the
problem on one line; :mod:`gradwidgets.cli` prints it and exits with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .core.checks import MAX_SEED, check_int, check_memory, check_model, check_seed
from .core.outputs import accepts_labels, split_output


class CliError(Exception):
    """A mistake in the command or in the user's code: one line on stderr, exit code 2."""


def _describe(err: BaseException) -> str:
    """``Type: message`` of an exception, the message on one line (the type alone if it is empty)."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def call_user(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, the user's code: any exception (or ``sys.exit``) in it is a CliError naming ``what``."""
    try:
        return fn(*args)
    except (Exception, SystemExit) as err:  # the user's code: any error is theirs to fix
        raise CliError(f"{what} {_describe(err)}") from err


def _import(module_name: str):
    if module_name.endswith(".py") or os.sep in module_name:
        path = Path(module_name).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # as import would: dataclasses and pickle look here
        spec.loader.exec_module(module)
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return importlib.import_module(module_name)


def load_factory(target: str):
    """The function named by ``MODULE:FACTORY``; MODULE is a dotted name or a path to a .py file."""
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise CliError(f"expected MODULE:FACTORY, got {target!r}")
    factory = call_user(f"cannot import {module_name}:", _import, module_name)
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise CliError(f"{module_name} has no attribute {attr!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise CliError(f"{target} is not callable")
    return factory


def build_model(target: str) -> tuple[nn.Module, Callable[[], Any]]:
    """The factory named by ``target`` and the model it returns, checked (a module, not on ``meta``)."""
    factory = load_factory(target)
    model = call_user(f"{target}() raised", factory)
    if not isinstance(model, nn.Module):
        raise CliError(f"{target}() returned {type(model).__name__}, not a torch.nn.Module")
    try:
        check_model(f"the model of {target}()", model)
    except ValueError as err:
        raise CliError(str(err)) from err
    return model, factory


def input_shape(text: str | None, model: nn.Module, factory) -> tuple[int, ...]:
    """One example's shape: ``--input-shape`` (``32,10``), else ``input_shape`` on the model or factory."""
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


def check_options(args: argparse.Namespace) -> None:
    """The numeric options, by :mod:`gradwidgets.core.checks` (before the user's code runs)."""
    try:
        args.batch = check_int("--batch", args.batch, 2)
        args.seed = check_seed("--seed", args.seed)
        if args.classes is not None:
            args.classes = check_int("--classes", args.classes, 2, MAX_SEED)
        if args.vocab is not None:
            args.vocab = check_int("--vocab", args.vocab, 2, MAX_SEED)
    except ValueError as err:
        raise CliError(str(err)) from err


def _check_size(model: nn.Module, shape: tuple[int, ...], batch: int) -> None:
    """Refuse a synthetic X larger than the memory bound, before allocating it."""
    param = next(model.parameters(), None)
    itemsize = param.element_size() if param is not None and param.is_floating_point() else 4
    what = f"the batch X (--batch {batch} x --input-shape {','.join(map(str, shape))})"
    try:
        check_memory(what, batch * math.prod(shape) * itemsize)
    except ValueError as err:
        raise CliError(str(err)) from err


def _tensor_output(out: object) -> torch.Tensor:
    """The tensor a named loss compares with y, by the library's one rule (:func:`.losses.split_output`)."""
    try:
        tensor, _ = split_output(out)
    except ValueError as err:
        raise CliError(f"the model's forward returned an output the report cannot use: {err}") from err
    if tensor is None:
        raise CliError(
            "the model's forward returned only a 'loss' entry; the report needs its output "
            "(a tensor, or a 'logits' entry) to make a synthetic y for it"
        )
    return tensor


def _probe_output(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The model's output on X, in eval mode without gradients; the model is left as it was."""
    modes = [(m, m.training) for m in model.modules()]
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            out = model.eval()(X)
    except (Exception, SystemExit) as err:  # the user's forward
        where = f"X of shape {tuple(X.shape)}, from --batch and --input-shape"
        raise CliError(f"the model's forward failed: {_describe(err)} ({where})") from err
    finally:
        for m, training in modes:
            m.training = training
    return _tensor_output(out)


def build_batch(model: nn.Module, shape: tuple[int, ...], args: argparse.Namespace):
    """A seeded synthetic batch and the loss: X standard normal (or token ids below ``--vocab``),
    y that fits the model's output. By the library's one loss rule: ``--loss`` as given; else a
    model that takes ``labels`` (Hugging Face) computes its own loss, on the tokens themselves
    for a language model (``--vocab`` without ``--classes``); else cross-entropy with
    ``--classes``, else MSE."""
    _check_size(model, shape, args.batch)
    param = next(model.parameters(), None)
    g = torch.Generator().manual_seed(args.seed)
    if args.vocab is not None:
        X = torch.randint(args.vocab, (args.batch, *shape), generator=g)
    else:
        X = torch.randn((args.batch, *shape), generator=g)
    if param is not None:
        X = X.to(param.device) if args.vocab is not None else X.to(param.device, param.dtype)
    out = _probe_output(model, X)
    own = args.loss is None and accepts_labels(model)
    if own and args.classes is None and args.vocab is not None:
        return X, X.clone(), None  # a language model: the next token of the batch itself
    loss = args.loss or ("cross_entropy" if args.classes else "mse")
    if loss == "mse" and not own:
        return X, torch.randn(out.shape, generator=g).to(out.device, out.dtype), loss
    classes = args.classes or (out.shape[-1] if out.dim() >= 2 else 0)
    if classes < 2:
        raise CliError(
            f"cross_entropy needs an output of shape (batch, classes >= 2) or (batch, T, classes), "
            f"got {tuple(out.shape)}"
        )
    labels = out.shape[:-1] if out.dim() >= 2 else (args.batch,)
    y = torch.randint(classes, labels, generator=g).to(out.device)
    return X, y, None if own else loss
