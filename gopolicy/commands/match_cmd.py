"""`gopolicy match`: our GTP engine against another GTP engine, refereed by gopolicy.

Example (GNU Go as opponent and as scorer)::

    gopolicy match --opponent "/usr/games/gnugo --mode gtp --level 10 --chinese-rules" \\
        --scorer "/usr/games/gnugo --mode gtp --chinese-rules" --games 20 --out runs/match-gnugo

Writes DIR/game-NNN.sgf, DIR/results.md, DIR/results.csv and the engines'
stderr logs (DIR/engine.log, DIR/opponent.log); progress goes to stderr.

A game ended by the opponent's crash has no result (RE[Void]): it is left out of
the win rate and its interval, and results.md says how many there were;
--replay-crashed plays a replacement game for each. A crash of our engine is our
loss. --recount DIR re-counts a finished match's results.csv by these rules and
rewrites its results.md (or the file given by --results-md).
"""
from __future__ import annotations

import argparse
import sys

from gopolicy.commands.arg_types import (
    error_text,
    finite_float,
    input_path,
    output_dir,
    output_file,
    positive_float,
    positive_int,
    refuse_paths,
)

HANDSHAKE_SECONDS = 10.0


def add_parser(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help="play a refereed match between our engine and another GTP engine",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--opponent", metavar="CMD", help="opponent's GTP command line (required to play)")
    p.add_argument("--engine", default=None, metavar="CMD",
                   help="our engine's command line (default: python -m gopolicy gtp with the bundled model)")
    p.add_argument("--games", type=positive_int, default=10, help="number of games (10)")
    p.add_argument("--komi", type=finite_float, default=7.5, help="komi (7.5)")
    col = p.add_mutually_exclusive_group()
    col.add_argument("--black", dest="colors", action="store_const", const="black",
                     help="our engine always plays Black")
    col.add_argument("--white", dest="colors", action="store_const", const="white",
                     help="our engine always plays White")
    col.add_argument("--alternate", dest="colors", action="store_const", const="alternate",
                     help="alternate colours, our engine Black first (default)")
    p.set_defaults(colors="alternate")
    p.add_argument("--max-moves", type=positive_int, default=600, help="move cap per game, passes included (600)")
    p.add_argument("--scorer", default=None, metavar="CMD",
                   help="GTP engine that scores finished games with final_score (e.g. GNU Go); "
                        "default: our own count")
    p.add_argument("--timeout", type=positive_float, default=300.0,
                   help="seconds allowed for any single reply before the engine forfeits (300)")
    p.add_argument("--handshake-timeout", type=positive_float, default=HANDSHAKE_SECONDS, metavar="SECONDS",
                   help="before the match, the opponent (and the scorer) must answer GTP's "
                        f"protocol_version within this time ({HANDSHAKE_SECONDS:g}; more for engines "
                        "that load a large network before reading their input)")
    p.add_argument("--parallel", type=positive_int, default=1, metavar="N",
                   help="games played at once, each with its own engine processes (1; about one per core "
                        "when the opponent thinks on one core, as GNU Go does)")
    p.add_argument("--seed", type=int, default=1, metavar="S",
                   help="game k starts with 'set_random_seed S+k-1' to each engine that knows it (GNU Go "
                        "does), so deterministic engines don't replay identical games (1; -1: send nothing)")
    p.add_argument("--replay-crashed", action="store_true",
                   help="play a replacement game (same colours) for each game the opponent's crash "
                        "left without a result (at most --games replacements)")
    p.add_argument("--resume", action="store_true",
                   help="keep the games already in DIR/results.csv (results are written after every "
                        "game) and play only the missing ones")
    p.add_argument("--out", metavar="DIR", help="output directory (required to play)")
    p.add_argument("--recount", metavar="DIR", default=None,
                   help="play nothing: re-count the match in DIR (its results.csv) by today's rules "
                        "and rewrite results.csv, results.md and the RE of changed SGFs")
    p.add_argument("--results-md", metavar="FILE", default=None,
                   help="with --recount: the results.md to rewrite (default DIR/results.md); "
                        "the text above its table is kept")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    rc = refuse_paths("match", [("--recount", args.recount, input_path),
                                ("--results-md", args.results_md, output_file),
                                ("--out", None if args.recount else args.out, output_dir)])
    if rc is not None:
        return rc
    from gopolicy.net.model_paths import BUNDLED_HINT, default_model_path
    from gopolicy.play.gtp_client import EngineDied, GtpError, GtpTimeout
    from gopolicy.play.match import EngineCheckFailed, run_match
    from gopolicy.play.match_report import recount_results

    if args.recount:
        try:
            summary = recount_results(args.recount, args.results_md)
        except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
            print(f"gopolicy match: error: cannot recount {args.recount}: {error_text(exc)}", file=sys.stderr)
            return 2
        print(summary.line())
        return 0
    if not args.opponent or not args.out:
        print("gopolicy match: error: --opponent and --out are required (or --recount DIR)", file=sys.stderr)
        return 2
    if args.engine is None and not default_model_path().is_file():
        print(f"gopolicy match: error: no bundled model at {default_model_path()}. {BUNDLED_HINT} "
              f"(or give --engine \"python -m gopolicy gtp --model PATH\")", file=sys.stderr)
        return 2
    try:
        summary = run_match(args.opponent, args.out, engine_cmd=args.engine, games=args.games,
                            komi=args.komi, colors=args.colors, max_moves=args.max_moves,
                            scorer_cmd=args.scorer, timeout=args.timeout, parallel=args.parallel,
                            seed=None if args.seed < 0 else args.seed, replay_crashed=args.replay_crashed,
                            resume=args.resume, handshake_timeout=args.handshake_timeout)
    except EngineCheckFailed as exc:    # before the first game: nothing played
        hint = ""
        if isinstance(exc.__cause__, GtpTimeout):
            hint = (" (--timeout SECONDS waits longer)" if exc.role == "engine" else
                    " (--handshake-timeout SECONDS waits longer)")
        print(f"gopolicy match: error: --{exc.role}: {exc}{hint}", file=sys.stderr)
        return 2
    except ValueError as exc:           # e.g. an unparsable command line (unbalanced quotes)
        print(f"gopolicy match: error: {error_text(exc)}", file=sys.stderr)
        return 2
    except (EngineDied, GtpTimeout, GtpError, OSError) as exc:
        print(f"gopolicy match: error: {error_text(exc)}; the games finished so far are in {args.out} "
              f"(--resume plays the rest)", file=sys.stderr)
        return 1
    print(summary.line())
    return 0
