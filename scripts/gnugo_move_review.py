"""A second opinion on our moves: where the search played something other than the
network's move, which of the two does GNU Go value more?

    python scripts/gnugo_move_review.py data/results/match_search800_gnugo_netcount \\
        [--games 2,3,5,6] [--from-move 40] [--to-move 240] [--gnugo "/usr/games/gnugo ..."]

For every move of ours in the range (games of a ``gopolicy match`` directory; default:
the games we lost), GNU Go's ``top_moves_<colour>`` (its ten best moves with their
values in points) in the position before it, and the network's top move (8 symmetries).
Counted: moves where the played move differs from the network's, and of those the ones
GNU Go values more than 3 points higher on either side (a move outside its ten is
worth 0 to it). GNU Go is a weaker player than the network in the opening, so read
the totals, not single moves. About 1.4 s per move on one core.
"""
from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

MARGIN = 3.0   # points: GNU Go's values closer than this count as a tie


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("match_dir")
    ap.add_argument("--games", default=None, help="comma-separated game numbers (default: the lost games)")
    ap.add_argument("--from-move", type=int, default=40)
    ap.add_argument("--to-move", type=int, default=240)
    ap.add_argument("--gnugo", default="/usr/games/gnugo --mode gtp --chinese-rules --level 10")
    args = ap.parse_args()

    from gopolicy.corpus.sgf import parse_game
    from gopolicy.go.coords import BLACK, WHITE, pass_move, to_gtp
    from gopolicy.play.gtp_client import GtpClient
    from gopolicy.play.gtp_engine import GtpEngine
    from gopolicy.play.network_player import NetworkPlayer
    from gopolicy.play.network_policy import NetworkPolicy

    d = Path(args.match_dir)
    rows = list(csv.DictReader(open(d / "results.csv", newline="")))
    if args.games:
        wanted = {int(g) for g in args.games.split(",")}
        rows = [r for r in rows if int(r["game"]) in wanted]
    else:
        rows = [r for r in rows if r["engine_result"] == "loss"]
    pol = NetworkPolicy(None, device="cpu", symmetries=8)
    total = {"moves": 0, "differ": 0, "network higher": 0, "played higher": 0}
    print("| game | our colour | moves reviewed | played = network | differ | GNU Go: network's higher | played higher |")
    print("|--:|:-:|--:|--:|--:|--:|--:|")
    for r in rows:
        path = (d / r["sgf"]).resolve()
        game = parse_game(path.read_bytes(), name=str(path))
        if any(ev[0] == "setup" for ev in game.events):
            print(f"| {r['game']} | skipped: setup stones (handicap) are not replayed |")
            continue
        ours = BLACK if r["engine_color"] == "B" else WHITE
        colour = "black" if ours == BLACK else "white"
        eng = GtpEngine(NetworkPlayer(pol), log=io.StringIO())
        t = dict.fromkeys(total, 0)
        with GtpClient(args.gnugo) as gnugo:
            # Both engines follow the game move by move (one SGF read, not one per move).
            gnugo.send(f"komi {game.komi}")
            eng.handle_line(f"komi {game.komi}")
            number = 0
            for ev in game.events:
                if ev[0] != "move":
                    continue
                number += 1
                _, color, mv = ev
                played = to_gtp(mv, game.size)
                if color == ours and args.from_move <= number <= args.to_move and mv != pass_move(game.size):
                    top = gnugo.send(f"top_moves_{colour}", timeout=300).split()
                    values = dict(zip(top[::2], map(float, top[1::2])))
                    net = eng.handle_line(f"gopolicy-policy_top {colour} 1")[2:].split()[0]
                    t["moves"] += 1
                    if played != net:
                        t["differ"] += 1
                        vp, vn = values.get(played, 0.0), values.get(net, 0.0)
                        t["network higher"] += vn > vp + MARGIN
                        t["played higher"] += vp > vn + MARGIN
                if number >= args.to_move:
                    break
                name = "black" if color == BLACK else "white"
                gnugo.play(name, played)
                eng.handle_line(f"play {name} {played}")
        for k in total:
            total[k] += t[k]
        print(f"| {r['game']} | {r['engine_color']} | {t['moves']} | {t['moves'] - t['differ']} | {t['differ']} | "
              f"{t['network higher']} | {t['played higher']} |", flush=True)
    print(f"| all | | {total['moves']} | {total['moves'] - total['differ']} | {total['differ']} | "
          f"{total['network higher']} | {total['played higher']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
