"""`gopolicy prepare INPUT... --out DIR`: SGF files/directories/archives -> training shards."""
from __future__ import annotations

import argparse
import sys


def add_parser(sub, name: str) -> None:
    p = sub.add_parser(
        name, help="turn SGF games (files, directories, .tar.gz/.tar.bz2/.zip) into shards",
        description="Replay every game, compute the feature planes of every position "
                    "(passes are played but never targets), and write bit-packed shards "
                    "with a manifest. Interruption-safe: rerun the same command to finish. "
                    "Bad input is skipped and counted in the manifest with its reason: broken "
                    "games, games of another type (GM) or size, files over --max-file-mb, and "
                    "corrupt or truncated archives (the games before the break are kept).")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="SGF file, directory or archive")
    p.add_argument("--out", required=True, help="output directory (resumed if it exists)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--val-fraction", type=float, default=0.01)
    p.add_argument("--test-fraction", type=float, default=0.01)
    p.add_argument("--games-per-shard", type=int, default=2000)
    p.add_argument("--limit-games", type=int, default=None,
                   help="only the first N SGF files of the inputs (in order)")
    p.add_argument("--colour-plane", action="store_true",
                   help="add a 49th plane: 1 when Black is to move")
    p.add_argument("--max-file-mb", type=float, default=16.0, metavar="MB",
                   help="skip (and count) any SGF file or archive member larger than this, before "
                        "reading it (16; real game records are far under 1 MB)")
    p.add_argument("--no-verify", action="store_true",
                   help="on resume, trust finished shards' sizes without re-hashing them")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gopolicy.corpus.prepare import prepare

    try:
        m = prepare(args.inputs, args.out, workers=args.workers,
                    val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                    games_per_shard=args.games_per_shard, limit_games=args.limit_games,
                    colour_plane=args.colour_plane, verify_existing=not args.no_verify,
                    progress=not args.quiet, max_file_bytes=int(args.max_file_mb * 2**20))
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        print(f"gopolicy prepare: {exc}", file=sys.stderr)
        return 2
    return 0 if m.get("complete") else 1
