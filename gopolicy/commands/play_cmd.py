"""`gopolicy play`: watch the engine (search on the policy network) play one game.

Against GNU Go when it is installed (``/usr/games/gnugo`` or ``gnugo`` on the
PATH), else against itself. The board is shown every ``--show-every`` moves and
at the end, followed by the result and where the SGF was written. Self-play
never resigns, so the game ends by two passes and shows the final position.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from gopolicy.commands.gtp_cmd import add_engine_arguments, make_engine, net_threads
from gopolicy.play.peers import find_gnugo


def add_parser(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help="play one game: our engine vs GNU Go (or itself), showing the board",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_engine_arguments(p)
    p.add_argument("--color", choices=("black", "white"), default="black",
                   help="our engine's colour (black)")
    p.add_argument("--opponent", default=None, metavar="CMD",
                   help="opponent GTP command (default: GNU Go if installed, else our engine itself)")
    p.add_argument("--gnugo-level", type=int, default=10, help="GNU Go level 0..10 (10)")
    p.add_argument("--self-play", action="store_true", help="play against itself even if GNU Go exists")
    p.add_argument("--show-every", type=int, default=50, metavar="N",
                   help="show the board every N moves (50; 0 = only at the end)")
    p.add_argument("--max-moves", type=int, default=500, help="move cap (500)")
    p.add_argument("--out", default=None, metavar="FILE.sgf",
                   help="where to write the game (default: games/play-<date-time>.sgf)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from gopolicy.play.gtp_client import GtpClient, InProcessClient
    from gopolicy.go.coords import COLOR_NAMES
    from gopolicy.play.match import play_game
    from gopolicy.play.network_policy import NetworkPolicy
    from gopolicy.corpus.sgf import write_sgf
    from gopolicy.go.coords import BLACK, WHITE, to_gtp

    try:
        policy = NetworkPolicy(args.model, device=args.device, symmetries=args.symmetries,
                               temperature=args.temperature, seed=args.seed, precision=args.precision,
                               threads=net_threads(args))
    except (FileNotFoundError, ValueError) as exc:
        print(f"gopolicy play: {exc}", file=sys.stderr)
        return 2
    quiet = open(os.devnull, "w")
    gnugo = None if args.self_play else find_gnugo()
    if not gnugo and not args.opponent:
        args.no_resign = True       # self-play: play it out to two passes
    engine = make_engine(args, policy, quiet)
    ours = InProcessClient(engine, name="gopolicy")
    if args.opponent:
        opp = GtpClient(args.opponent, timeout=600)
        opp_name = opp.send("name")
    elif gnugo:
        opp = GtpClient([gnugo, "--mode", "gtp", "--level", str(args.gnugo_level), "--chinese-rules",
                         "--komi", f"{args.komi:g}"], name="gnugo", timeout=600)
        opp_name = f"GNU Go {opp.send('version')} level {args.gnugo_level}"
    else:
        opp = InProcessClient(make_engine(args, policy, quiet, name="gopolicy (self)"),
                              name="gopolicy-self")
        opp_name = "gopolicy (itself)"
    our_color = BLACK if args.color == "black" else WHITE
    black, white = (ours, opp) if our_color == BLACK else (opp, ours)
    bname, wname = ("gopolicy", opp_name) if our_color == BLACK else (opp_name, "gopolicy")
    print(f"gopolicy play: {bname} (Black) vs {wname} (White), komi {args.komi:g}")
    print(f"model: {policy.describe()}")
    if engine.search is not None:
        sp = engine.search
        limits = " or ".join(x for x in (f"{sp.playouts} playouts" if sp.playouts else "",
                                          f"{sp.seconds:g} s" if sp.seconds else "") if x)
        print(f"search: {limits} per move, {sp.searcher.threads} thread(s), "
              f"resign {'off' if sp.resign_threshold is None else f'below {sp.resign_threshold:.0%}'}")

    def show(board, color, move):
        if args.show_every and board.move_count % args.show_every == 0:
            print(f"\nafter move {board.move_count} ({COLOR_NAMES[color]} {to_gtp(move, 19)}):")
            print(board, flush=True)

    t0 = time.time()
    try:
        res = play_game(black, white, komi=args.komi, max_moves=args.max_moves, on_move=show,
                        playouts=args.score_playouts)
        other_score = None
        if gnugo and not args.opponent and res.reason == "two passes":
            try:
                other_score = opp.send("final_score")
            except Exception:
                other_score = None
    finally:
        opp.close()
    out = args.out or f"games/play-{time.strftime('%Y%m%d-%H%M%S')}.sgf"
    write_sgf(out, 19, args.komi, res.moves, black_name=bname, white_name=wname, result=res.result,
              date=time.strftime("%Y-%m-%d"), comment=res.reason)
    print(f"\nfinal position after {len(res.moves)} moves:")
    print(res.board)
    print(f"result: {res.result} ({res.reason}"
          + (f", scored by {res.scorer}" if res.scorer else "") + ")"
          + (f"; GNU Go's own count: {other_score}" if other_score else ""))
    print(f"time: {time.time() - t0:.1f} s")
    print(f"SGF written to {out}")
    return 0
