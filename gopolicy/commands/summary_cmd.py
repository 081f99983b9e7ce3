"""`gopolicy summary MODEL`: print a model's per-layer table and parameter count.

MODEL is a registered cnn_core model name (built with the size options given) or a
checkpoint / exported weights file (``gopolicy train``'s ckpt.pt or policy.pt): the
network its model config describes, with its weights loaded."""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from gopolicy.commands.arg_types import error_text, positive_int, read_problem

# CLI option -> builder keyword, passed on only when given.
_SIZE_OPTIONS = {"filters": "filters", "layers": "layers", "planes": "planes", "board_size": "board_size"}


def add_parser(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help="print a model's layers, output shapes, parameters and mult-adds",
                       description="Build a registered cnn_core model, or load a checkpoint, and print "
                                   "its summary table.")
    p.add_argument("model", metavar="MODEL|CHECKPOINT",
                   help="registered model name, e.g. alphago_policy, lenet; or a checkpoint or exported "
                        "weights file, e.g. data/bundled/policy.pt or RUN/ckpt.pt")
    p.add_argument("--filters", type=positive_int, help="filters per conv layer (AlphaGo models)")
    p.add_argument("--layers", type=positive_int, help="number of conv layers (AlphaGo models)")
    p.add_argument("--planes", type=positive_int, help="input feature planes (AlphaGo models)")
    p.add_argument("--board-size", type=positive_int, help="board size (AlphaGo models)")
    p.add_argument("--input-shape", metavar="C,H,W", type=_shape,
                   help="input shape per sample; also sets the model's channel and size arguments "
                        "(default: the shape those arguments imply)")
    p.add_argument("--set", dest="kwargs", metavar="KEY=VALUE", action="append", default=[],
                   type=_kwarg, help="any other builder argument, VALUE as a Python literal "
                                     "(e.g. --set pooling=False --set head=\"'fc'\"); repeatable")
    p.set_defaults(func=run)
    return p


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected C,H,W integers, got {text!r}") from None
    if len(shape) != 3 or min(shape) <= 0:
        raise argparse.ArgumentTypeError(f"expected three positive integers C,H,W, got {text!r}")
    return shape


def _kwarg(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a bare word such as head=fc is taken as a string


def _is_path(text: str) -> bool:
    """MODEL is a file's path, never a registered model's name."""
    return "/" in text or "\\" in text or Path(text).suffix.lower() in (".pt", ".pth", ".npz")


def _summary_of_checkpoint(args: argparse.Namespace) -> int:
    why = read_problem(args.model) or (f"{args.model} is a folder, not a checkpoint file"
                                       if Path(args.model).is_dir() else None)
    if why:
        print(f"gopolicy summary: error: {why}", file=sys.stderr)
        return 2
    given = [f"--{opt.replace('_', '-')}" for opt in _SIZE_OPTIONS if getattr(args, opt) is not None]
    if given or args.kwargs:
        print(f"gopolicy summary: error: {', '.join(given + ['--set'] * bool(args.kwargs))}: a checkpoint's "
              f"sizes are its own (give a model name to build another)", file=sys.stderr)
        return 2
    if Path(args.model).suffix.lower() == ".npz":
        print(f"gopolicy summary: error: {args.model} is a rollout/tree policy (.npz), not a network; "
              f"gopolicy eval --model {args.model} evaluates it", file=sys.stderr)
        return 2
    import cnn_core
    from gopolicy.net.checkpoint import CheckpointError, load_model

    try:
        model, cfg = load_model(args.model)
    except (CheckpointError, ValueError, OSError) as exc:
        print(f"gopolicy summary: error: {error_text(exc)}", file=sys.stderr)
        return 2
    name = cfg.get("name", "?")
    rest = {k: v for k, v in cfg.items() if k != "name"}
    shape = args.input_shape or cnn_core.default_input_shape(name, **rest)
    print(f"Checkpoint: {args.model}")
    print(f"Model: {name}" + "".join(f" {k}={v!r}" for k, v in rest.items()))
    print(cnn_core.summary(model, shape))
    return 0


def run(args: argparse.Namespace) -> int:
    import inspect

    if _is_path(args.model):        # a name never holds a "/" nor ends in .pt (no torch import to say so)
        return _summary_of_checkpoint(args)
    import cnn_core

    try:
        builder = cnn_core.get_builder(args.model)
    except ValueError as exc:
        if Path(args.model).is_file():          # a checkpoint in the current folder
            return _summary_of_checkpoint(args)
        print(f"gopolicy summary: error: {exc} (or give a checkpoint file)", file=sys.stderr)
        return 2
    kwargs = {kw: getattr(args, opt) for opt, kw in _SIZE_OPTIONS.items() if getattr(args, opt) is not None}
    kwargs.update(dict(args.kwargs))
    accepted = inspect.signature(builder).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        print(f"gopolicy summary: error: {args.model} does not take {', '.join(unknown)}; "
              f"its arguments are: {', '.join(accepted)}", file=sys.stderr)
        return 2
    if args.input_shape:
        # Size-dependent models (fc heads) must be built for the shape asked for.
        channels, height, _ = args.input_shape
        for key, value in (("in_channels", channels), ("planes", channels),
                           ("input_size", height), ("board_size", height)):
            if key in accepted:
                kwargs.setdefault(key, value)
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:   # shown only if the build works
            model = builder(**kwargs)
            shape = args.input_shape or cnn_core.default_input_shape(args.model, **kwargs)
            table = cnn_core.summary(model, shape)
    except (ValueError, TypeError, RuntimeError) as exc:   # e.g. --set values the builder refuses
        print(f"gopolicy summary: error: cannot build {args.model} with "
              f"{', '.join(f'{k}={v!r}' for k, v in kwargs.items()) or 'its defaults'}: "
              f"{error_text(exc).splitlines()[0][:300]}", file=sys.stderr)
        return 2
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    print(f"Model: {args.model}" + "".join(f" {k}={v!r}" for k, v in kwargs.items()))
    print(table)
    return 0
