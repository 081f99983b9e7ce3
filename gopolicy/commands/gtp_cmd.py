"""`gopolicy gtp`: the policy network as a GTP version 2 engine on stdin/stdout.

Use it from GoGui, Sabaki, Lizzie, gogui-twogtp, KGS's kgsGtp or any GTP
controller, e.g. ``gogui -program "gopolicy gtp"``. Only GTP replies go to
stdout; all logging goes to stderr.

``--model random`` runs a randomly initialised k=192 network (``random:K`` /
``random:K:L`` pick filters and layers; ``random:16:3`` is tiny and fast) --
useful for tests and before a trained model has been bundled.
"""
from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help="run the policy network as a GTP engine (stdin/stdout)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_engine_arguments(p)
    p.set_defaults(func=run)
    return p


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, metavar="PATH|random",
                   help="checkpoint or exported weights file (default: data/bundled/policy.pt); "
                        "'random[:K[:L]]' for a randomly initialised network")
    p.add_argument("--temperature", type=float, default=0.0,
                   help="0 = greedy (default); > 0 samples moves proportional to p**(1/T)")
    p.add_argument("--symmetries", type=int, choices=(1, 8), default=1,
                   help="average the policy over 1 (default) or all 8 board symmetries")
    p.add_argument("--seed", type=int, default=None, help="random seed (sampling, random model)")
    p.add_argument("--resign", action="store_true",
                   help="allow resigning (after move 150 when behind by > 40 points by area estimate)")
    p.add_argument("--komi", type=float, default=7.5, help="komi until the controller sets one (7.5)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                   help="inference precision (auto: bf16 where the device runs it natively)")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads for the network (default 1: lowest batch-1 latency when the "
                        "cores are shared, e.g. with the opponent engine; 0 = torch's default)")
    p.add_argument("--playouts", type=int, default=64,
                   help="random playouts used to judge dead stones and estimate the score (64)")
    p.add_argument("--name", default="gopolicy", help="the engine's GTP name")
    p.add_argument("--quiet", action="store_true", help="no per-move log lines on stderr")


def run(args) -> int:
    from gopolicy.play.gtp_engine import guard_stdout

    out = guard_stdout()          # before importing torch: nothing may reach stdout
    import io
    from pathlib import Path

    from gopolicy.play.network_policy import BUNDLED_HINT, default_model_path, parse_random_spec

    # Fail fast (before importing torch) when the model file is missing.
    try:
        random_model = args.model is not None and parse_random_spec(args.model) is not None
    except ValueError as exc:
        print(f"gopolicy gtp: {exc}", file=sys.stderr)
        out.close()
        return 2
    if not random_model:
        path = default_model_path() if args.model is None else Path(args.model).expanduser()
        if not path.is_file():
            what = "no bundled policy model at" if args.model is None else "policy model: no such file:"
            print(f"gopolicy gtp: {what} {path}. {BUNDLED_HINT}", file=sys.stderr)
            out.close()
            return 2

    from gopolicy.play import warmup
    from gopolicy.play.gtp_engine import GtpEngine, serve_stdio
    from gopolicy.play.network_policy import NetworkPolicy

    # kernels compile while the model loads and the GUI talks; one line on stderr when ready
    warmup.start_background(log=lambda msg: print(f"[gtp] {msg}", file=sys.stderr, flush=True))

    try:
        policy = NetworkPolicy(args.model, device=args.device, symmetries=args.symmetries,
                               temperature=args.temperature, seed=args.seed, precision=args.precision,
                               threads=args.threads if args.threads and args.threads > 0 else None)
    except (FileNotFoundError, ValueError) as exc:
        print(f"gopolicy gtp: {exc}", file=sys.stderr)
        out.close()
        return 2
    except Exception as exc:
        print(f"gopolicy gtp: cannot load the model: {type(exc).__name__}: {exc}", file=sys.stderr)
        out.close()
        return 2
    print(f"[gtp] {policy.describe()}", file=sys.stderr, flush=True)
    log = io.StringIO() if args.quiet else sys.stderr
    engine = GtpEngine(policy, komi=args.komi, resign=args.resign, playouts=args.playouts,
                       name=args.name, log=log)
    return serve_stdio(engine, out)
