"""`gopolicy gtp`: the policy network as a GTP version 2 engine on stdin/stdout.

Use it from GoGui, Sabaki, Lizzie, gogui-twogtp, KGS's kgsGtp or any GTP
controller, e.g. ``gogui -program "gopolicy gtp"``. Only GTP replies go to
stdout; all logging goes to stderr.

The engine searches (Monte-Carlo tree search with the network's priors and
rollouts, AlphaGo without a value network): by default 1,600 playouts or 1 s
per move, whichever comes first, on 2 threads; ``--playouts N`` / ``--time S``
set one limit alone, a game clock (``time_settings``, ``kgs-time_settings``)
replaces both, and ``--playouts 0`` plays the network's top move without search.

``--model random`` runs a randomly initialised k=192 network (``random:K`` /
``random:K:L`` pick filters and layers; ``random:16:3`` is tiny and fast) --
useful for tests and before a trained model has been bundled.
"""
from __future__ import annotations

import argparse
import sys

from gopolicy.commands.arg_types import (
    finite_float,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
)


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
    p.add_argument("--temperature", type=non_negative_float, default=0.0,
                   help="0 = greedy (default); > 0 samples moves proportional to p**(1/T)")
    p.add_argument("--symmetries", type=int, choices=(1, 8), default=1,
                   help="average the policy over 1 (default) or all 8 board symmetries")
    p.add_argument("--seed", type=non_negative_int, default=None, help="random seed (sampling, random model)")
    p.add_argument("--playouts", type=non_negative_int, default=None, metavar="N",
                   help="search playouts per move (default 1600, capped by 1 s unless --playouts is "
                        "given alone); 0 = no search, the network's top move")
    p.add_argument("--time", type=positive_float, default=None, metavar="SECONDS",
                   help="search seconds per move (default 1.0, see --playouts); a game clock overrides")
    p.add_argument("--no-resign", action="store_true",
                   help="never resign (search; by default it resigns when its win rate stays low)")
    p.add_argument("--resign-threshold", type=probability, default=None, metavar="P",
                   help="search resigns when the move's win rate stays below P for 3 moves (0.10)")
    p.add_argument("--c-puct", type=non_negative_float, default=None, help="search exploration constant (2.0)")
    p.add_argument("--keep-network-move", type=non_negative_float, default=None, metavar="GAP",
                   help="play the network's move unless the most visited one's win rate beats it "
                        "by GAP (0.1; 0 = always the most visited)")
    p.add_argument("--expand-threshold", type=positive_int, default=None,
                   help="visits before a search node is expanded and sent to the network (8)")
    p.add_argument("--search", action="append", type=search_setting, default=[], metavar="NAME=VALUE",
                   help="set a search constant (repeatable), e.g. --search rave_equiv=4000; the names "
                        "and their measurements: gopolicy/play/search/searcher.py SearchConfig")
    p.add_argument("--count-playouts", type=non_negative_int, default=None, metavar="N",
                   help="search: policy-network playouts behind the final score, dead stones and "
                        "passing after the opponent's pass (16, ~8 s; 0 = the fast rollouts)")
    p.add_argument("--resign", action="store_true",
                   help="with --playouts 0: allow resigning (after move 150 when behind by > 40 points "
                        "by area estimate)")
    p.add_argument("--komi", type=finite_float, default=7.5, help="komi until the controller sets one (7.5)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                   help="inference precision (auto: fp32 on a CPU, the same moves on every CPU; bf16 on a GPU)")
    p.add_argument("--threads", type=positive_int, default=2,
                   help="search threads sharing one tree (2; 1 when the opponent needs the other core)")
    p.add_argument("--net-threads", type=non_negative_int, default=1,
                   help="CPU threads inside one network pass (default 1: lowest latency when the "
                        "cores are shared; 0 = torch's default)")
    p.add_argument("--score-playouts", type=positive_int, default=64,
                   help="with --playouts 0: random playouts that judge dead stones and the score (64)")
    p.add_argument("--name", default="gopolicy", help="the engine's GTP name")
    p.add_argument("--quiet", action="store_true", help="no per-move log lines on stderr")


def search_setting(text: str) -> tuple[str, float]:
    """``NAME=VALUE`` for a numeric field of :class:`SearchConfig` (argparse type)."""
    from dataclasses import fields

    from gopolicy.play.search.searcher import SearchConfig

    names = {f.name: f.type for f in fields(SearchConfig)}
    name, eq, value = text.partition("=")
    if not eq or name not in names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(names))}")
    try:
        number = finite_float(value)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{name}: {exc}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{name}: must be >= 0, got {value}")
    if names[name] in (int, "int"):
        if number != int(number):
            raise argparse.ArgumentTypeError(f"{name}: must be a whole number, got {value}")
        number = int(number)
    if name == "root_symmetries" and number not in (1, 8):
        raise argparse.ArgumentTypeError(f"{name}: must be 1 or 8, got {value}")
    if name in ("batch", "expand_threshold") and number < 1:
        raise argparse.ArgumentTypeError(f"{name}: must be >= 1, got {value}")
    return name, number


def make_engine(args, policy, log, name: str | None = None):
    """The GtpEngine the arguments describe (with a search unless --playouts 0)."""
    from gopolicy.play.game import Game
    from gopolicy.play.gtp_engine import GtpEngine
    from gopolicy.play.network_player import NetworkPlayer
    from gopolicy.play.search.player import (
        COUNT_NET_PLAYOUTS,
        DEFAULT_PLAYOUTS,
        DEFAULT_SECONDS,
        RESIGN_THRESHOLD,
        SearchPlayer,
    )
    from gopolicy.play.search.searcher import SearchConfig, Searcher

    game = Game(komi=args.komi, score_playouts=args.score_playouts)
    if args.playouts is not None and args.playouts <= 0:
        player = NetworkPlayer(policy, score_playouts=args.score_playouts, resign=args.resign)
    else:
        cfg = SearchConfig()
        if args.c_puct is not None:
            cfg.c_puct = args.c_puct
        if args.keep_network_move is not None:
            cfg.keep_network_move = max(0.0, args.keep_network_move)
        if args.expand_threshold is not None:
            cfg.expand_threshold = max(1, args.expand_threshold)
        for key, value in getattr(args, "search", []):
            setattr(cfg, key, value)
        playouts, seconds = args.playouts, args.time
        if playouts is None and seconds is None:
            playouts, seconds = DEFAULT_PLAYOUTS, DEFAULT_SECONDS
        threshold = None if args.no_resign else (
            RESIGN_THRESHOLD if args.resign_threshold is None else args.resign_threshold)
        searcher = Searcher(policy, threads=max(1, args.threads), config=cfg,
                            seed=args.seed if args.seed is not None else 0)
        count = COUNT_NET_PLAYOUTS if args.count_playouts is None else max(0, args.count_playouts)
        player = SearchPlayer(searcher, playouts=playouts, seconds=seconds, resign_threshold=threshold,
                              count_playouts=count, score_playouts=args.score_playouts)
    return GtpEngine(player, game, name=name or args.name, log=log)


def net_threads(args):
    return args.net_threads if args.net_threads and args.net_threads > 0 else None


def run(args) -> int:
    from gopolicy.play.gtp_engine import guard_stdout

    out = guard_stdout()          # before importing torch: nothing may reach stdout
    import io
    from pathlib import Path

    from gopolicy.net.model_paths import BUNDLED_HINT, default_model_path
    from gopolicy.play.model_spec import parse_random_spec

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
    from gopolicy.play.gtp_engine import serve_stdio
    from gopolicy.play.network_policy import NetworkPolicy

    # kernels compile while the model loads and the GUI talks; one line on stderr when ready
    warmup.start_background(log=lambda msg: print(f"[gtp] {msg}", file=sys.stderr, flush=True))

    try:
        policy = NetworkPolicy(args.model, device=args.device, symmetries=args.symmetries,
                               temperature=args.temperature, seed=args.seed, precision=args.precision,
                               threads=net_threads(args))
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
    engine = make_engine(args, policy, log)
    return serve_stdio(engine, out)
