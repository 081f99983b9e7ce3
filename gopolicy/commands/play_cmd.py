"""`gopolicy play`: watch the engine (search on the policy network) play one game.

Against GNU Go when it is installed (``/usr/games/gnugo`` or ``gnugo`` on the
PATH), else against itself. The board is shown every ``--show-every`` moves and
at the end, followed by the result and where the SGF was written; a progress line
(move, seconds per move) goes to stderr every ``--progress-every`` moves. Self-play
never resigns, so the game ends by two passes and shows the final position.

Where the SGF goes (``--out``, default games/play-<date-time>.sgf in the current
folder) is checked before the game starts; should writing it fail all the same, it
is written to the temporary folder instead, and the line at the end says where.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from gopolicy.commands.arg_types import (
    error_text,
    int_between,
    non_negative_int,
    positive_float,
    positive_int,
    write_problem,
)
from gopolicy.commands.gtp_cmd import add_engine_arguments, make_engine, net_threads
from gopolicy.play.peers import find_gnugo

PROGRESS_EVERY = 10
HANDSHAKE_SECONDS = 10.0


def add_parser(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help="play one game: our engine vs GNU Go (or itself), showing the board",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_engine_arguments(p)
    p.add_argument("--color", choices=("black", "white"), default="black",
                   help="our engine's colour (black)")
    p.add_argument("--opponent", default=None, metavar="CMD",
                   help="opponent GTP command (default: GNU Go if installed, else our engine itself)")
    p.add_argument("--handshake-timeout", type=positive_float, default=HANDSHAKE_SECONDS, metavar="SECONDS",
                   help=f"the opponent must answer GTP's protocol_version within this time ({HANDSHAKE_SECONDS:g})")
    p.add_argument("--gnugo-level", type=int_between(0, 10), default=10, help="GNU Go level 0..10 (10)")
    p.add_argument("--self-play", action="store_true", help="play against itself even if GNU Go exists")
    p.add_argument("--show-every", type=non_negative_int, default=50, metavar="N",
                   help="show the board every N moves (50; 0 = only at the end)")
    p.add_argument("--progress-every", type=non_negative_int, default=PROGRESS_EVERY, metavar="N",
                   help=f"one progress line on stderr every N moves ({PROGRESS_EVERY}; 0 = none)")
    p.add_argument("--max-moves", type=positive_int, default=500, help="move cap (500)")
    p.add_argument("--out", default=None, metavar="FILE.sgf",
                   help="where to write the game (default: games/play-<date-time>.sgf)")
    p.set_defaults(func=run)
    return p


def _save(out: str, write) -> str:
    """Write the SGF to ``out`` (``write(path)``); if that fails, to the temporary folder.
    Returns the line that says where it went."""
    try:
        write(out)
        return f"SGF written to {out}"
    except OSError as exc:
        fallback = os.path.join(tempfile.gettempdir(), os.path.basename(out) or "play.sgf")
        write(fallback)
        return f"SGF written to {fallback} (could not write {out}: {error_text(exc)})"


def _start_opponent(args, gnugo):
    """The opponent's GTP client and name (None, None for self-play), or an error line.
    Started first: a wrong command line fails in seconds, before the model loads."""
    from gopolicy.play.gtp_client import EngineDied, GtpClient, GtpError, GtpTimeout

    opp = None
    try:
        if args.opponent:
            opp = GtpClient(args.opponent, name="opponent", timeout=600)
            opp.handshake(args.handshake_timeout)
            return opp, opp.send("name"), None
        if gnugo:
            opp = GtpClient([gnugo, "--mode", "gtp", "--level", str(args.gnugo_level), "--chinese-rules",
                             "--komi", f"{args.komi:g}"], name="gnugo", timeout=600)
            opp.handshake(args.handshake_timeout)
            return opp, f"GNU Go {opp.send('version')} level {args.gnugo_level}", None
        return None, None, None
    except (EngineDied, GtpTimeout, GtpError, ValueError) as exc:
        if opp is not None:
            opp.close(timeout=1.0)
        hint = " (--handshake-timeout SECONDS waits longer)" if isinstance(exc, GtpTimeout) else ""
        why = (f"--opponent: {str(exc).splitlines()[0]}{hint}" if args.opponent else
               f"GNU Go ({gnugo}): {str(exc).splitlines()[0]}; --self-play plays without it")
        return None, None, why


def _describe_setup(policy, engine) -> None:
    """The model, then the search's limits and the thread counts, once, each with what it counts."""
    from gopolicy.play.search.player import SearchPlayer

    print(f"model: {policy.describe(threads=False)}")
    net = f"network passes on {policy.threads} CPU thread(s)" if policy.threads and \
        policy.dev.device.type == "cpu" else ""
    sp = engine.player
    if isinstance(sp, SearchPlayer):
        limits = " or ".join(x for x in (f"{sp.playouts} playouts" if sp.playouts else "",
                                          f"{sp.seconds:g} s" if sp.seconds else "") if x)
        print(f"search: {limits} per move; threads: {sp.searcher.threads} search thread(s) sharing one tree"
              + (f", {net}" if net else "")
              + f"; resign {'off' if sp.resign_threshold is None else f'below {sp.resign_threshold:.0%}'}")
    elif net:
        print(f"no search (--playouts 0); threads: {net}")


class _Progress:
    """The board every ``show_every`` moves (stdout) and a progress line every
    ``progress_every`` moves (stderr: move, seconds per move, time so far)."""

    def __init__(self, args):
        self.args = args
        self.t0 = self.last_time = time.time()
        self.last_move = 0

    def __call__(self, board, color, move):
        from gopolicy.go.coords import COLOR_NAMES, to_gtp

        n, a = board.move_count, self.args
        if a.show_every and n % a.show_every == 0:
            print(f"\nafter move {n} ({COLOR_NAMES[color]} {to_gtp(move, 19)}):")
            print(board, flush=True)
        if a.progress_every and n % a.progress_every == 0:
            now = time.time()
            rate = (now - self.last_time) / max(1, n - self.last_move)
            print(f"[play] move {n}/{a.max_moves} ({COLOR_NAMES[color]} {to_gtp(move, 19)}), "
                  f"{rate:.1f} s/move, {now - self.t0:.0f} s so far", file=sys.stderr, flush=True)
            self.last_time, self.last_move = now, n


def run(args) -> int:
    # The game takes minutes: refuse an SGF path that cannot be written before it starts.
    out = args.out or f"games/play-{time.strftime('%Y%m%d-%H%M%S')}.sgf"
    why = write_problem(out)
    if why:
        print(f"gopolicy play: error: {why}; give --out FILE.sgf in a folder you can write", file=sys.stderr)
        return 2
    gnugo = None if args.self_play else find_gnugo()
    opp, opp_name, why = _start_opponent(args, gnugo)
    if why:
        print(f"gopolicy play: error: {why}", file=sys.stderr)
        return 2

    from gopolicy.corpus.sgf import write_sgf
    from gopolicy.go.coords import BLACK, WHITE
    from gopolicy.net.checkpoint import CheckpointError
    from gopolicy.play.gtp_client import InProcessClient
    from gopolicy.play.network_policy import NetworkPolicy
    from gopolicy.play.referee import play_game

    try:
        policy = NetworkPolicy(args.model, device=args.device, symmetries=args.symmetries,
                               temperature=args.temperature, seed=args.seed, precision=args.precision,
                               threads=net_threads(args))
    except (FileNotFoundError, ValueError, CheckpointError) as exc:
        if opp is not None:
            opp.close(timeout=1.0)
        print(f"gopolicy play: error: {error_text(exc)}", file=sys.stderr)
        return 2
    quiet = open(os.devnull, "w")
    if opp is None:
        args.no_resign = True       # self-play: play it out to two passes
        opp = InProcessClient(make_engine(args, policy, quiet, name="gopolicy (self)"), name="gopolicy-self")
        opp_name = "gopolicy (itself)"
    engine = make_engine(args, policy, quiet)
    ours = InProcessClient(engine, name="gopolicy")
    our_color = BLACK if args.color == "black" else WHITE
    black, white = (ours, opp) if our_color == BLACK else (opp, ours)
    bname, wname = ("gopolicy", opp_name) if our_color == BLACK else (opp_name, "gopolicy")
    print(f"gopolicy play: {bname} (Black) vs {wname} (White), komi {args.komi:g}")
    _describe_setup(policy, engine)

    progress = _Progress(args)
    try:
        res = play_game(black, white, komi=args.komi, max_moves=args.max_moves, on_move=progress,
                        score_playouts=args.score_playouts)
        other_score = None
        if gnugo and not args.opponent and res.reason == "two passes":
            try:
                other_score = opp.send("final_score")
            except Exception:
                other_score = None
    finally:
        opp.close()
    saved = _save(out, lambda path: write_sgf(path, 19, args.komi, res.moves, black_name=bname,
                                               white_name=wname, result=res.result,
                                               date=time.strftime("%Y-%m-%d"), comment=res.reason))
    print(f"\nfinal position after {len(res.moves)} moves:")
    print(res.board)
    print(f"result: {res.result} ({res.reason}"
          + (f", scored by {res.scorer}" if res.scorer else "") + ")"
          + (f"; GNU Go's own count: {other_score}" if other_score else ""))
    print(f"time: {time.time() - progress.t0:.1f} s")
    print(saved)
    return 0
