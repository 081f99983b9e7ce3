#!/usr/bin/env python
"""The engine's moves for fixed seeds: a fingerprint to compare before and after a refactor.

    python scripts/move_fingerprint.py [--moves 30] [--playouts 0 200] [--seeds 1 2] > before.txt
    ... change the code ...
    python scripts/move_fingerprint.py ... > after.txt && diff before.txt after.txt

Each line: playouts, seed, then the moves of a self-play game that `gopolicy gtp` (fp32,
one thread, a playout budget and no clock, so that the machine's speed cannot change a
move) generates for both colours. A behaviour-preserving change prints the same lines.
"""
from __future__ import annotations

import argparse
import subprocess
import sys


def game(playouts: int, seed: int, moves: int, model: str | None) -> list[str]:
    cmd = [sys.executable, "-m", "gopolicy", "gtp", "--quiet", "--precision", "fp32", "--threads", "1",
           "--playouts", str(playouts), "--seed", str(seed), "--no-resign"]
    if model:
        cmd += ["--model", model]
    script = "".join(f"genmove {'b' if k % 2 == 0 else 'w'}\n" for k in range(moves)) + "quit\n"
    out = subprocess.run(cmd, input=script, capture_output=True, text=True, timeout=3600)
    replies = [line[2:].strip() for line in out.stdout.splitlines() if line.startswith("= ")]
    if out.returncode != 0 or len(replies) < moves:
        sys.exit(f"engine failed (exit {out.returncode}): {out.stderr.strip().splitlines()[-1:]}")
    return replies[:moves]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--moves", type=int, default=30)
    ap.add_argument("--playouts", type=int, nargs="+", default=[0, 200])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)
    for n in args.playouts:
        for seed in args.seeds:
            print(n, seed, " ".join(game(n, seed, args.moves, args.model)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
