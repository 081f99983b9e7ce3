"""The `gopolicy` command line: one subcommand per module in gopolicy/commands/.

Each command module defines ``add_parser(subparsers)`` which registers its
arguments and sets ``func``; heavy imports (torch, numba) happen inside the
command's function so that ``gopolicy --help`` stays instant.
"""
from __future__ import annotations

import argparse
import importlib
import sys

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
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gopolicy", description="AlphaGo-style Go policy networks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS:
        try:
            mod = importlib.import_module(f"gopolicy.commands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"gopolicy.commands.{module}":
                continue  # command not built yet
            raise
        mod.add_parser(sub, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    rc = args.func(args)
    return int(rc or 0)


def run() -> None:
    """Console-script entry: ``main()``, then exit without C++ teardown (see _exit)."""
    from gopolicy._exit import exit_process
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
