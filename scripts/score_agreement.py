"""Does our ``final_score`` name the same winner as the match's scorer (GNU Go)?

    python scripts/score_agreement.py data/results/match_search_gnugo

Replays every game of a ``gopolicy match`` directory that ended by two passes
into the search engine and compares the winner of its ``final_score`` with
the result in ``results.csv`` (scored by ``--scorer``, e.g. GNU Go).
"""
from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("match_dir")
    args = ap.parse_args()

    from gopolicy.play.gtp_engine import GtpEngine
    from gopolicy.play.network_policy import NetworkPolicy
    from gopolicy.play.search import Searcher
    from gopolicy.play.search.player import SearchPlayer

    d = Path(args.match_dir)
    rows = [r for r in csv.DictReader(open(d / "results.csv", newline="")) if r["reason"] == "two passes"]
    pol = NetworkPolicy(None, device="cpu")
    agree = 0
    for r in rows:
        eng = GtpEngine(pol, log=io.StringIO(), search=SearchPlayer(Searcher(pol, threads=1), playouts=100))
        reply = eng.handle_line(f"loadsgf {d / r['sgf']}")
        if not reply.startswith("="):
            print(f"{r['sgf']}: cannot load ({reply.strip()})")
            continue
        ours = eng.handle_line("final_score")[2:].strip()
        same = ours[:1] == r["result"][:1]
        agree += same
        print(f"{r['sgf']}: scorer {r['result']}, ours {ours}{'' if same else '  <- differs'}")
    print(f"same winner in {agree}/{len(rows)} games ended by two passes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
