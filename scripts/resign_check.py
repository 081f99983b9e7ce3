"""Were our resignations safe? For every game of a ``gopolicy match`` directory that our
engine lost by resigning, GNU Go's ``estimate_score`` of the position where we resigned, from
our side (negative: we were behind by that much).

    python scripts/resign_check.py data/results/match_search800_gnugo_level10 \\
        [--gnugo "/usr/games/gnugo --mode gtp --chinese-rules"]

A resignation is safe when GNU Go, too, sees the game lost; one in a close position
(a few points) says the threshold is too eager.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("match_dir")
    ap.add_argument("--gnugo", default="/usr/games/gnugo --mode gtp --chinese-rules")
    args = ap.parse_args()

    from gopolicy.play.gtp_client import GtpClient

    d = Path(args.match_dir)
    rows = [r for r in csv.DictReader(open(d / "results.csv", newline=""))
            if r["engine_result"] == "loss" and r["reason"].endswith("resigned")]
    margins = []
    print("| game | our colour | moves | GNU Go's estimate (ours) |\n|--:|:-:|--:|--:|")
    for r in rows:
        with GtpClient(args.gnugo) as g:
            g.send(f"loadsgf {(d / r['sgf']).resolve()}")
            est = g.send("estimate_score", timeout=300).split()[0]   # e.g. "W+12.5"
        ours = float(est[2:]) if est[0] in "BW" and len(est) > 2 else 0.0
        if est[0] != r["engine_color"]:
            ours = -ours
        margins.append(ours)
        print(f"| {r['game']} | {r['engine_color']} | {r['moves']} | {ours:+.1f} |")
    if margins:
        print(f"\n{len(margins)} resignations; GNU Go's estimate from our side: "
              f"best {max(margins):+.1f}, median {sorted(margins)[len(margins) // 2]:+.1f}; "
              f"{sum(m > 0 for m in margins)} where GNU Go had us ahead")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
