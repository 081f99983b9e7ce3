"""`gopolicy replay-check PATHS...`: replay games with our Board and with sgfmill's, compare."""
from __future__ import annotations

import argparse


def add_parser(sub, name: str) -> None:
    p = sub.add_parser(
        name, help="check our rules against sgfmill's board on every move of SGF games",
        description="Replays every game (files, directories, .tar.gz/.tar.bz2/.zip) with "
                    "gopolicy.go.board.Board and sgfmill.boards.Board, comparing the whole board "
                    "and the simple-ko point after every move. Exit status 1 if any game disagrees.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--limit", type=int, default=None, help="only the first N SGF files")
    p.add_argument("--chunk", type=int, default=200, help="games per work unit")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between progress lines")
    p.add_argument("--quiet", action="store_true", help="only the final summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from gopolicy.corpus.replay_check import print_summary, run_check

    tot = run_check(args.paths, workers=args.workers, limit=args.limit, chunk=args.chunk,
                    progress=not args.quiet, interval=args.interval)
    if args.quiet:
        print_summary(tot, sys.stdout)
    return 1 if tot["disagree"] else 0
