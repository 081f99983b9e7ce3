"""Does our ``final_score`` name the same winner as the match's scorer (GNU Go)?

    python scripts/score_agreement.py data/results/match_search_gnugo [--count-playouts 0]

Replays every game of a ``gopolicy match`` directory that ended by two passes
into the search engine and compares the winner of its ``final_score`` with
the result in ``results.csv`` (scored by ``--scorer``, e.g. GNU Go).
``--count-playouts``: the policy network's playouts behind the count (the
engine's default, 16), or 0 for the fast rollouts' count.
"""
from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("match_dir")
    ap.add_argument("--count-playouts", type=int, default=None)
    args = ap.parse_args()

    from gopolicy.play.gtp_engine import GtpEngine
    from gopolicy.play.network_policy import NetworkPolicy
    from gopolicy.play.search.player import COUNT_NET_PLAYOUTS, SearchPlayer
    from gopolicy.play.search.searcher import Searcher

    d = Path(args.match_dir)
    rows = [r for r in csv.DictReader(open(d / "results.csv", newline="")) if r["reason"] == "two passes"]
    pol = NetworkPolicy(None, device="cpu")
    agree = same_score = 0
    count = COUNT_NET_PLAYOUTS if args.count_playouts is None else args.count_playouts
    for r in rows:
        player = SearchPlayer(Searcher(pol, threads=1), playouts=100, count_playouts=count)
        eng = GtpEngine(player, log=io.StringIO())
        reply = eng.handle_line(f"loadsgf {d / r['sgf']}")
        if not reply.startswith("="):
            print(f"{r['sgf']}: cannot load ({reply.strip()})")
            continue
        ours = eng.handle_line("final_score")[2:].strip()
        same = ours[:1] == r["result"][:1]
        agree += same
        same_score += ours == r["result"]
        print(f"{r['sgf']}: scorer {r['result']}, ours {ours}{'' if same else '  <- differs'}", flush=True)
    print(f"same winner in {agree}/{len(rows)} games ended by two passes (same score in {same_score})",
          flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
