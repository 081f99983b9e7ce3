"""`gopolicy prepare INPUT... --out DIR`: SGF files/directories/archives -> training shards."""
from __future__ import annotations

import argparse
import sys

from gopolicy.commands.arg_types import (
    error_text,
    fraction,
    input_path,
    output_dir,
    positive_float,
    positive_int,
    refuse_paths,
)


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
    p.add_argument("--workers", type=positive_int, default=None, help="processes (default: all cores)")
    p.add_argument("--val-fraction", type=fraction, default=0.01, help="held-out share of the games (0.01)")
    p.add_argument("--test-fraction", type=fraction, default=0.01, help="test share of the games (0.01)")
    p.add_argument("--games-per-shard", type=positive_int, default=2000, help="games per shard (2000)")
    p.add_argument("--limit-games", type=positive_int, default=None,
                   help="only the first N SGF files of the inputs (in order)")
    p.add_argument("--colour-plane", action="store_true",
                   help="add a 49th plane: 1 when Black is to move")
    p.add_argument("--max-file-mb", type=positive_float, default=16.0, metavar="MB",
                   help="skip (and count) any SGF file or archive member larger than this, before "
                        "reading it (16; real game records are far under 1 MB)")
    p.add_argument("--no-verify", action="store_true",
                   help="on resume, trust finished shards' sizes without re-hashing them")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rc = refuse_paths("prepare", [(None, args.inputs, input_path), ("--out", args.out, output_dir)])
    if rc is not None:
        return rc
    from gopolicy.corpus.prepare import prepare

    try:
        m = prepare(args.inputs, args.out, workers=args.workers,
                    val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                    games_per_shard=args.games_per_shard, limit_games=args.limit_games,
                    colour_plane=args.colour_plane, verify_existing=not args.no_verify,
                    progress=not args.quiet, max_file_bytes=int(args.max_file_mb * 2**20))
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        print(f"gopolicy prepare: error: {error_text(exc)}", file=sys.stderr)
        return 2
    if m.get("complete") and not sum(s.get("games", 0) for s in m.get("splits", {}).values()):
        skipped = m.get("skipped_files") or []
        why = (f"{skipped[0][0]}: {skipped[0][1]}" if skipped else
               ", ".join(f"{k}: {v}" for k, v in sorted(m.get("skipped", {}).items())) or "no SGF files found")
        if skipped and str(skipped[0][1]).startswith("parse error"):
            why = f"{skipped[0][0]} did not parse as SGF ({skipped[0][1]})"
        more = f" (and {len(skipped) - 1} more skipped)" if len(skipped) > 1 else ""
        print(f"gopolicy prepare: error: no game prepared: {why}{more}", file=sys.stderr)
        return 1
    return 0 if m.get("complete") else 1
