"""`gopolicy summary MODEL`: print a model's per-layer table and parameter count."""
from __future__ import annotations

import argparse
import ast
import sys

# CLI option -> builder keyword, passed on only when given.
_SIZE_OPTIONS = {"filters": "filters", "layers": "layers", "planes": "planes", "board_size": "board_size"}


def add_parser(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help="print a model's layers, output shapes, parameters and mult-adds",
                       description="Build a registered cnn_core model and print its summary table.")
    p.add_argument("model", metavar="MODEL", help="registered model name, e.g. alphago_policy, lenet")
    p.add_argument("--filters", type=int, help="filters per conv layer (AlphaGo models)")
    p.add_argument("--layers", type=int, help="number of conv layers (AlphaGo models)")
    p.add_argument("--planes", type=int, help="input feature planes (AlphaGo models)")
    p.add_argument("--board-size", type=int, help="board size (AlphaGo models)")
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


def run(args: argparse.Namespace) -> int:
    import inspect

    import cnn_core

    try:
        builder = cnn_core.get_builder(args.model)
    except ValueError as exc:
        print(f"gopolicy summary: {exc}", file=sys.stderr)
        return 2
    kwargs = {kw: getattr(args, opt) for opt, kw in _SIZE_OPTIONS.items() if getattr(args, opt) is not None}
    kwargs.update(dict(args.kwargs))
    accepted = inspect.signature(builder).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        print(f"gopolicy summary: {args.model} does not take {', '.join(unknown)}; "
              f"its arguments are: {', '.join(accepted)}", file=sys.stderr)
        return 2
    if args.input_shape:
        # Size-dependent models (fc heads) must be built for the shape asked for.
        channels, height, _ = args.input_shape
        for key, value in (("in_channels", channels), ("planes", channels),
                           ("input_size", height), ("board_size", height)):
            if key in accepted:
                kwargs.setdefault(key, value)
    model = builder(**kwargs)
    shape = args.input_shape or cnn_core.default_input_shape(args.model, **kwargs)
    print(f"Model: {args.model}" + "".join(f" {k}={v!r}" for k, v in kwargs.items()))
    print(cnn_core.summary(model, shape))
    return 0
