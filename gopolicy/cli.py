"""The `gopolicy` command line: one subcommand per module in gopolicy/commands/.

Each command module defines ``add_parser(subparsers)`` which registers its
arguments and sets ``func``; heavy imports (torch, numba) happen inside the
command's function so that ``gopolicy --help`` stays instant.

Mistakes end with one line on stderr and a non-zero status, never a traceback:
bad values are refused by the parsers (gopolicy/commands/arg_types.py; usage and
``gopolicy CMD: error: ...``, status 2), an unknown flag by the subcommand's own
parser, and a file-system error that escapes a command by :func:`main` (status 1).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from importlib import metadata

from gopolicy import __version__
from gopolicy.commands.arg_types import error_text
from gopolicy.process_exit import exit_process

# (subcommand, module under gopolicy.commands). Order = order in --help.
COMMANDS = [
    ("summary", "summary_cmd"),
    ("features", "features_cmd"),
    ("replay-check", "replay_check_cmd"),
    ("prepare", "prepare_cmd"),
    ("train", "train_cmd"),
    ("train-rollout", "train_rollout_cmd"),
    ("eval", "evaluate_cmd"),
    ("plot", "plot_cmd"),
    ("gtp", "gtp_cmd"),
    ("match", "match_cmd"),
    ("play", "play_cmd"),
    ("pooling-study", "pooling_study_cmd"),
    ("warmup", "warmup_cmd"),
]


def version() -> str:
    """The installed package's version, else the source tree's."""
    try:
        return metadata.version("gopolicy")
    except metadata.PackageNotFoundError:
        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gopolicy", description="AlphaGo-style Go policy networks.")
    parser.add_argument("--version", action="version", version=f"gopolicy {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS:
        try:
            mod = importlib.import_module(f"gopolicy.commands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"gopolicy.commands.{module}":
                continue  # command not built yet
            raise
        mod.add_parser(sub, name)
    parser.commands = sub.choices  # name -> subparser
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the subcommand's usage and name, not the top level's
        parser.commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
    except OSError as exc:  # a file-system problem no command foresaw: one line, not a traceback
        print(f"gopolicy {args.command}: error: {error_text(exc)}", file=sys.stderr)
        return 1
    return int(rc or 0)


def run() -> None:
    """Console-script entry: ``main()``, then exit without C++ teardown (see process_exit)."""
    try:
        rc = main()
    except SystemExit as exc:  # argparse errors, --help: same codes as Python's own exit
        rc = exc.code or 0
        if not isinstance(rc, int):
            print(rc, file=sys.stderr)
            rc = 1
    exit_process(rc)


if __name__ == "__main__":
    run()
