"""Strength curve: win rate against one opponent by playouts per move (the
paper's Fig. 4 shape), from ``gopolicy match`` output directories.

    python scripts/strength_curve.py 0=runs/sc0 100=runs/sc100 400=runs/sc400 1600=runs/sc1600 \\
        --title "gopolicy vs GNU Go 3.8 level 10" --out data/results/strength_curve

Reads each directory's ``results.csv``; writes OUT.md (a table with Wilson 95%
intervals) and OUT.png (win rate against playouts, log scale; 0 = the policy
network alone, drawn at the left edge).
"""
from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def load(run: Path) -> tuple[float, int, float]:
    from gopolicy.play.match_stats import DECIDED

    # decided games only, as gopolicy match counts them: a game without a result is no trial
    rows = [r for r in csv.DictReader(open(run / "results.csv", newline=""))
            if r["engine_result"] in DECIDED]
    wins = sum(r["engine_result"] == "win" for r in rows) + 0.5 * sum(r["engine_result"] == "draw" for r in rows)
    secs = [float(r["seconds"]) / max(1, int(r["moves"])) for r in rows]
    return wins, len(rows), sum(secs) / max(1, len(secs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="PLAYOUTS=DIR")
    ap.add_argument("--title", default="gopolicy: win rate by playouts per move")
    ap.add_argument("--out", required=True, help="output path without extension")
    args = ap.parse_args()
    pts = []
    for spec in args.runs:
        budget, _, d = spec.partition("=")
        wins, n, spm = load(Path(d))
        pts.append((int(budget), wins, n, spm, d))
    pts.sort()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {args.title}", "", "| playouts/move | games | wins | win rate | Wilson 95% | game s/move (both sides) | run |",
             "|--:|--:|--:|--:|--|--:|--|"]
    for b, w, n, spm, d in pts:
        lo, hi = wilson(w, n)
        label = "0 (policy alone)" if b == 0 else str(b)
        lines.append(f"| {label} | {n} | {w:g} | {100 * w / max(n, 1):.0f}% | {100 * lo:.0f}-{100 * hi:.0f}% "
                     f"| {spm:.2f} | `{d}` |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    xs = [max(b, 10) for b, *_ in pts]
    ys = [100 * w / max(n, 1) for _, w, n, *_ in pts]
    err = [[y - 100 * wilson(w, n)[0] for y, (_, w, n, *_) in zip(ys, pts)],
           [100 * wilson(w, n)[1] - y for y, (_, w, n, *_) in zip(ys, pts)]]
    ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3)
    ax.set_xscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels(["policy" if b == 0 else str(b) for b, *_ in pts])
    ax.set_xlabel("playouts per move")
    ax.set_ylabel("win rate (%)")
    ax.set_ylim(0, 100)
    ax.axhline(50, color="grey", lw=0.5)
    ax.set_title(args.title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
