"""`gopolicy train-rollout`: train AlphaGo's fast rollout policy or its tree policy.

    gopolicy train-rollout --sgf /data/sgf/*.tar.gz --out rollout.npz
    gopolicy train-rollout --sgf games/ --out tree_policy.npz --kind tree --positions 2000000
    gopolicy eval --model rollout.npz --sgf held_out/ --json

A linear softmax over local-pattern features, trained by SGD on the log-likelihood of the
move played (see gopolicy/rollout/train.py). Games are split train/val by the same game hash
as `gopolicy prepare`; the val games give the curve and the final accuracy. Interrupted runs
resume from OUT.state.npz when started again with the same settings.
"""
from __future__ import annotations

import argparse
import json
import sys

from gopolicy.commands.arg_types import (
    error_text,
    input_path,
    non_negative_int,
    output_file,
    positive_float,
    positive_int,
    refuse_paths,
    why_no_games,
)


def add_parser(sub, name: str):
    p = sub.add_parser(name, help="train the rollout policy or tree policy (linear softmax over patterns)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--sgf", nargs="+", help="SGF files, folders or archives")
    src.add_argument("--data", help="a prepared shard directory: its manifest's SGF inputs are used")
    p.add_argument("--out", required=True, help="weights file to write (.npz)")
    p.add_argument("--kind", choices=["rollout", "tree"], default="rollout")
    p.add_argument("--positions", type=positive_int, default=1_000_000, help="SGD positions (default 1M)")
    p.add_argument("--count-games", dest="count_games", type=positive_int, default=2000,
                   help="training games whose patterns are counted (default 2000)")
    p.add_argument("--min-count", dest="min_count", type=positive_int, default=10,
                   help="keep patterns seen at least N times (default 10)")
    p.add_argument("--lr", type=positive_float, default=0.02, help="learning rate (default 0.02)")
    p.add_argument("--lr-halflife", dest="lr_halflife", type=positive_float, default=1_000_000,
                   help="positions after which the learning rate has halved (default 1M)")
    p.add_argument("--val-games", dest="val_games", type=non_negative_int, default=200,
                   help="held-out games for the curve (default 200; 0: none)")
    p.add_argument("--val-every", dest="val_every", type=positive_int, default=500_000,
                   help="positions between points of the held-out curve (default 500k)")
    p.add_argument("--fresh", action="store_true", help="ignore OUT.state.npz and start again")
    p.add_argument("--json", action="store_true", help="end stdout with one JSON line")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from pathlib import Path

    from gopolicy.rollout.model import WeightsError
    from gopolicy.rollout.train import RolloutTrainConfig, sgf_inputs_of, train

    rc = refuse_paths("train-rollout", [("--sgf", args.sgf, input_path), ("--data", args.data, input_path),
                                        ("--out", args.out, output_file)], status=1)
    if rc is not None:                  # before anything heavy is imported
        return rc
    try:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)   # checked by refuse_paths
        paths, val_fraction, test_fraction = (args.sgf, 0.01, 0.01) if args.sgf else sgf_inputs_of(args.data)
        cfg = RolloutTrainConfig(kind=args.kind, max_positions=args.positions, count_games=args.count_games,
                          min_count=args.min_count, lr=args.lr, lr_halflife=args.lr_halflife,
                          val_games=args.val_games, val_every=args.val_every,
                          val_fraction=val_fraction, test_fraction=test_fraction)
        policy = train(paths, args.out, cfg, resume=not args.fresh)
    except (ValueError, OSError, WeightsError) as exc:
        no_game = "game" in str(exc) and not isinstance(exc, OSError)
        why = why_no_games(args.sgf) if args.sgf and no_game else ""   # e.g. a file that is not SGF
        print(f"gopolicy train-rollout: error: {error_text(exc)}" + (f": {why}" if why else ""), file=sys.stderr)
        return 1
    val = policy.info.get("val")
    if val:
        print(f"{args.out}: {args.kind} policy, {len(policy.pattern_keys):,} patterns; held-out "
              f"top-1 {100 * val['top1']:.2f}% top-5 {100 * val['top5']:.2f}% "
              f"log-lik {val['log_likelihood']:.3f} ({val['positions']:,} positions)")
    else:
        print(f"{args.out}: {args.kind} policy, {len(policy.pattern_keys):,} patterns "
              f"(no held-out games in the inputs)")
    if args.json:
        print(json.dumps({"out": str(args.out), "patterns": len(policy.pattern_keys), **policy.info}))
    return 0
