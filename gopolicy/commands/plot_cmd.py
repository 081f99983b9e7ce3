"""`gopolicy plot RUN_DIR [RUN_DIR...] --out PNG`: overlay training curves
(loss and top-1 vs samples seen) of one or more runs, e.g. the two recipes."""
from __future__ import annotations

import sys

from gopolicy.commands.arg_types import error_text, input_path, output_file, refuse_paths


def add_parser(sub, name: str):
    p = sub.add_parser(name, help="plot loss/accuracy vs samples seen for one or more runs", description=__doc__)
    p.add_argument("runs", nargs="+", help="run directories (each with metrics.jsonl)")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--labels", nargs="+", help="legend labels, one per run")
    p.add_argument("--title")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    rc = refuse_paths("plot", [(None, args.runs, input_path), ("--out", args.out, output_file)])
    if rc is not None:
        return rc
    from gopolicy.training.plotting import plot_runs

    if args.labels and len(args.labels) != len(args.runs):
        print("gopolicy plot: error: give one --labels entry per run", file=sys.stderr)
        return 2
    try:
        out = plot_runs(args.runs, args.out, labels=args.labels, title=args.title)
    except (OSError, ValueError) as exc:
        print(f"gopolicy plot: error: {error_text(exc)}", file=sys.stderr)
        return 1
    print(out)
    return 0
