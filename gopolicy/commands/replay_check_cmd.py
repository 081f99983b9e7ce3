"""`gopolicy replay-check PATHS...`: replay games with our Board and with sgfmill's, compare."""
from __future__ import annotations

import argparse

from gopolicy.commands.arg_types import input_path, positive_float, positive_int, refuse_paths


def add_parser(sub, name: str) -> None:
    p = sub.add_parser(
        name, help="check our rules against sgfmill's board on every move of SGF games",
        description="Replays every game (files, directories, .tar.gz/.tar.bz2/.zip) with "
                    "gopolicy.go.board.Board and sgfmill.boards.Board, comparing the whole board "
                    "and the simple-ko point after every move. Exit status 1 if any game disagrees.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="SGF files, folders or archives")
    p.add_argument("--workers", type=positive_int, default=None, help="processes (default: all cores)")
    p.add_argument("--limit", type=positive_int, default=None, help="only the first N SGF files")
    p.add_argument("--chunk", type=positive_int, default=200, help="games per work unit")
    p.add_argument("--interval", type=positive_float, default=10.0, help="seconds between progress lines")
    p.add_argument("--quiet", action="store_true", help="only the final summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rc = refuse_paths("replay-check", [(None, args.paths, input_path)])
    if rc is not None:
        return rc
    import sys

    from gopolicy.corpus.replay_check import print_summary, run_check

    tot = run_check(args.paths, workers=args.workers, limit=args.limit, chunk=args.chunk,
                    progress=not args.quiet, interval=args.interval)
    if args.quiet:
        print_summary(tot, sys.stdout)
    if not tot["agree"] and not tot["disagree"]:       # nothing was compared: say why, fail
        skipped = tot.get("skipped_files") or []
        if skipped:
            name, detail = skipped[0]
            reason, _, rest = str(detail).partition(": ")
            why = (f"{name} did not parse as SGF ({rest or reason})" if reason == "parse error" else
                   f"{name}: game not used ({detail})")
            why += f" (and {len(skipped) - 1} more skipped)" if len(skipped) > 1 else ""
        else:
            why = "no SGF files found"
        print(f"gopolicy replay-check: error: no game replayed: {why}", file=sys.stderr)
        return 1
    return 1 if tot["disagree"] else 0

