"""`gopolicy train`: supervised training (see gopolicy/training/loop.py).

  gopolicy train --data SHARDS --out RUN --recipe fast --max-samples 5000000
  gopolicy train --data SHARDS --out RUN --resume          # continue exactly
  gopolicy train --data SHARDS --out RUN2 --init RUN/policy.pt  # new schedule from trained weights
  gopolicy train --sgf games/ kgs.tar.gz --out RUN --time-limit 30   # no shards: planes made by workers

--data reads shards made once by `gopolicy prepare` (the fast path when the same
corpus is read for many epochs); --sgf parses and encodes the games on the fly in
--workers processes (no 2.2 KB/position on disk; each epoch pays the encoding).

DDP on one machine (nccl on GPUs, gloo on CPUs; --batch-size is the global batch):
  torchrun --standalone --nproc_per_node 4 -m gopolicy train --data SHARDS --out RUN
Several machines (the same command on every node; the rendezvous assigns ranks):
  torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_id run1 \\
      --rdzv_endpoint HOST0:29500 -m gopolicy train --data SHARDS --out RUN
"""
from __future__ import annotations

import argparse
import sys

from gopolicy.commands.arg_types import (
    error_text,
    fraction,
    input_file,
    input_path,
    non_negative_float,
    non_negative_int,
    output_dir,
    positive_float,
    positive_int,
    refuse_paths,
    why_no_games,
)
from gopolicy.net.architecture import DEFAULT_FILTERS, DEFAULT_LAYERS, DEFAULT_PLANES

S = argparse.SUPPRESS  # unset flags stay absent: a resumed run keeps its stored values


def _bool_flag(p, name, help_text):
    p.add_argument(f"--{name}", dest=name.replace("-", "_"), action=argparse.BooleanOptionalAction,
                   default=S, help=help_text)


def add_parser(sub, name: str):
    p = sub.add_parser(name, help="train the policy network (prepared shards or SGF streamed)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                       argument_default=S)
    p.add_argument("--data", help="prepared shard directory (gopolicy prepare --out); with --sgf: validate on "
                   "its val split")
    p.add_argument("--sgf", nargs="+", metavar="PATH", help="stream from SGF files, folders and archives (as "
                   "prepare takes them) instead of shards; held-out games by prepare's game hash")
    p.add_argument("--out", required=True, help="run directory (checkpoints, metrics.jsonl, plots)")
    p.add_argument("--recipe", choices=["alphago", "fast"],
                   help="alphago: SGD lr 0.003 batch 16 (the paper); fast: batch 256, AdamW lr 1e-3, "
                        "warm-up + cosine, clip 1, bf16 where the device has it (default: fast)")
    g = p.add_argument_group("model")
    g.add_argument("--filters", type=positive_int, help=f"filters per layer k (default {DEFAULT_FILTERS})")
    g.add_argument("--layers", type=positive_int, help=f"convolutional layers (default {DEFAULT_LAYERS})")
    g.add_argument("--planes", type=positive_int, help=f"input planes: 48, or the first 4/12/20 (default {DEFAULT_PLANES})")
    g = p.add_argument_group("optimisation (default: the recipe's)")
    g.add_argument("--batch-size", dest="batch_size", type=positive_int, help="global minibatch (all ranks together)")
    g.add_argument("--lr", type=positive_float, help="peak learning rate")
    g.add_argument("--optimizer", choices=["sgd", "adamw"])
    g.add_argument("--momentum", type=fraction)
    g.add_argument("--weight-decay", dest="weight_decay", type=non_negative_float)
    g.add_argument("--schedule", choices=["step", "cosine", "constant"])
    g.add_argument("--warmup-frac", dest="warmup_frac", type=fraction, help="cosine warm-up share of the run")
    g.add_argument("--halve-every", dest="halve_every", type=non_negative_int,
                   help="step schedule: halve lr every N steps (0: never)")
    g.add_argument("--grad-clip", dest="grad_clip", type=non_negative_float, help="max gradient norm (0: off)")
    g.add_argument("--label-smoothing", dest="label_smoothing", type=fraction)
    _bool_flag(g, "augment", "random symmetry per position (default on)")
    g = p.add_argument_group("length and cadence")
    g.add_argument("--max-steps", dest="max_steps", type=positive_int, help="optimizer steps to train (total)")
    g.add_argument("--max-samples", dest="max_samples", type=positive_int,
                   help="positions to train on (total; default: one epoch)")
    g.add_argument("--log-every", dest="log_every", type=positive_int, help="steps between progress lines (default 50)")
    g.add_argument("--eval-every", dest="eval_every", type=non_negative_int, help="steps between validations (0: off; 1000)")
    g.add_argument("--eval-positions", dest="eval_positions", type=non_negative_int, help="validation positions, spread evenly (4096; 0: all)")
    g.add_argument("--ckpt-every", dest="ckpt_every", type=non_negative_int,
                   help="steps between checkpoints (default 1000; 0: by --ckpt-minutes only)")
    g.add_argument("--ckpt-minutes", dest="ckpt_minutes", type=positive_float,
                   help="also checkpoint after this many minutes (default 1: a killed run loses at most that)")
    g.add_argument("--time-limit", dest="time_limit", type=positive_float, metavar="MINUTES",
                   help="end cleanly (checkpoint, export, metrics, plot) by this wall-clock time, counted over "
                        "all sessions of the run; alone, it also sets the length of the lr schedule")
    g.add_argument("--split", help="training split (default train)")
    g.add_argument("--val-split", dest="val_split", help="validation split (default val)")
    g = p.add_argument_group("data feeding")
    g.add_argument("--workers", type=non_negative_int, help="loader processes (default: cores less one with --sgf; 0 with "
                   "--data: the main process and a read-ahead thread)")
    g.add_argument("--shuffle", type=positive_int, metavar="POSITIONS",
                   help="--sgf: shuffle buffer per worker, in positions (default 65536, ~300 games)")
    g.add_argument("--val-fraction", dest="val_fraction", type=fraction, help="--sgf: held-out val share (0.01)")
    g.add_argument("--test-fraction", dest="test_fraction", type=fraction, help="--sgf: held-out test share (0.01)")
    g = p.add_argument_group("system")
    g.add_argument("--device", help="auto (default), cpu, cuda or cuda:N")
    g.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"],
                   help="auto: bf16 on CUDA/AMX CPUs, fp16+GradScaler on older GPUs, else fp32")
    _bool_flag(g, "compile", "torch.compile the model")
    g.add_argument("--seed", type=non_negative_int, help="model init and data order (default 1)")
    g.add_argument("--resume", action="store_true", help="continue RUN_DIR/ckpt.pt exactly")
    g.add_argument("--init", metavar="CKPT", help="start a new run from these weights (checkpoint or "
                   "exported .pt; the architecture is theirs) with a fresh optimizer and schedule")
    _bool_flag(g, "verify-data", "check every shard's sha256 before training")
    _bool_flag(g, "plot", "write curves.png at the end (default on)")
    g.add_argument("--threads", type=positive_int, help="torch intra-op threads")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    rc = refuse_paths("train", [("--sgf", getattr(args, "sgf", None), input_path),
                                ("--data", getattr(args, "data", None), input_path),
                                ("--init", getattr(args, "init", None), input_file),
                                ("--out", args.out, output_dir)], status=1)
    if rc is not None:                  # before torch is imported
        return rc
    from gopolicy.corpus.feed_workers import FeedError
    from gopolicy.corpus.shard_format import ShardError
    from gopolicy.net.checkpoint import CheckpointError
    from gopolicy.training.loop import TrainingDiverged, config_from_args, train

    cfg, explicit = config_from_args(args)
    try:
        train(cfg, explicit)
    except (ShardError, CheckpointError, TrainingDiverged, FeedError, FileExistsError, FileNotFoundError,
            ValueError) as exc:
        why = ""
        if getattr(args, "sgf", None) and "no game" in str(exc):   # e.g. a file that is not SGF
            why = why_no_games(args.sgf)
        print(f"gopolicy train: error: {error_text(exc)}" + (f": {why}" if why else ""), file=sys.stderr)
        return 1
    except RuntimeError as exc:
        if "DataLoader worker" not in str(exc):  # a feed worker died (raised by torch's SIGCHLD handler)
            raise
        print(f"gopolicy train: error: data feed: {str(exc).splitlines()[0]}; the last checkpoint is in "
              f"{cfg.out} (--resume continues it)", file=sys.stderr)
        return 1
    return 0
