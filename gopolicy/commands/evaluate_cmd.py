"""`gopolicy eval`: move-prediction accuracy of a policy network.

    gopolicy eval --model RUN/ckpt.pt --data SHARDS --split val --symmetries 8
    gopolicy eval --sgf games/ more.sgf --json        # the bundled model, SGF input

Prints top-1 / top-5 / mean log-likelihood, by game phase and by data source,
beside the paper's Extended Data Table 3 rows. With --json the last line of
stdout is one JSON object (top1, top5, log_likelihood, positions, ...).
"""
from __future__ import annotations

import argparse
import json
import sys

from gopolicy.commands.arg_types import (
    error_text,
    input_file,
    input_path,
    positive_int,
    refuse_paths,
    why_no_games,
)


def add_parser(sub, name: str):
    p = sub.add_parser(name, help="move-prediction accuracy on shards or SGF files", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="checkpoint or exported weights (default: data/bundled/policy.pt); "
                   "a rollout/tree-policy .npz (gopolicy train-rollout) is evaluated on its own features")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="prepared shard directory")
    src.add_argument("--sgf", nargs="+", help="SGF files, folders or archives")
    p.add_argument("--split", default="val", help="shard split (default val)")
    p.add_argument("--symmetries", type=int, choices=[1, 8], default=1,
                   help="8: average the predictions of the 8 board symmetries")
    p.add_argument("--batch-size", dest="batch_size", type=positive_int, default=256)
    p.add_argument("--max-positions", dest="max_positions", type=positive_int,
                   help="evaluate at most N positions (spread evenly over the split)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--verify-data", dest="verify_data", action="store_true", help="check shard sha256")
    p.add_argument("--json", action="store_true", help="end stdout with one JSON line")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    rc = refuse_paths("eval", [("--model", args.model, input_file), ("--data", args.data, input_path),
                               ("--sgf", args.sgf, input_path)])
    if rc is not None:
        return rc
    from gopolicy.corpus.shards import ShardError
    from gopolicy.net.checkpoint import CheckpointError
    from gopolicy.net.device import select_device
    from gopolicy.rollout.model import WeightsError, is_weights_file
    from gopolicy.training import evaluation as ev

    try:
        path = ev.resolve_model_path(args.model)
        if is_weights_file(path):       # a rollout / tree policy (gopolicy train-rollout)
            res = ev.evaluate_rollout(path, sgf=args.sgf, data=args.data, split=args.split,
                                      max_positions=args.max_positions)
            return _report(ev, res, path, {"kind": res["kind"], "patterns": res["patterns"]}, args)
        dev = select_device(args.device, args.precision)
        model, cfg = ev.load_policy(path, device=dev.device)
        model = dev.prepare_model(model)
        ev.log(f"[eval] {path}: {cfg} on {dev.describe()}")
        if args.data:
            res = ev.evaluate_shards(model, args.data, args.split, symmetries=args.symmetries,
                                     batch_size=args.batch_size, max_positions=args.max_positions, dev=dev,
                                     planes=cfg.get("planes"), verify=args.verify_data)
        else:
            res = ev.evaluate_sgf(model, args.sgf, symmetries=args.symmetries, batch_size=args.batch_size,
                                  max_positions=args.max_positions, dev=dev, planes=cfg.get("planes"))
    except (ev.ModelNotFound, CheckpointError, ShardError, ValueError, FileNotFoundError, WeightsError) as exc:
        print(f"gopolicy eval: error: {error_text(exc)}", file=sys.stderr)
        return 1
    return _report(ev, res, path, cfg, args)


def _report(ev, res, path, cfg, args) -> int:
    res["model"] = str(path)
    res["model_config"] = cfg
    if res["positions"] == 0:
        why = why_no_games(args.sgf) if args.sgf else ""
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(res.get("skipped_games", {}).items()))
        print("gopolicy eval: error: no positions to evaluate"
              + (f": {why}" if why else f" (games skipped: {skipped})" if skipped else ""), file=sys.stderr)
        return 1
    print(ev.format_report(res, cfg, model_name=path.name))
    if args.json:
        print(json.dumps(res))
    return 0
