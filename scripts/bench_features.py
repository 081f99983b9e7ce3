#!/usr/bin/env python
"""Benchmark: feature planes (all 48, ladders included) in positions/s on one core.

Baseline measured in the same run: the naive pure-Python encoder of
gopolicy.go.reference_features (copy the board and play every point, as
dlgo-style encoders do; it even skips ladders). Positions come from the shared
corpus when present ($GOPOLICY_CORPUS or ../shared/data/sgf/train), else from
the games the project ships.

    python scripts/bench_features.py [--games 40] [--baseline-positions 300]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def positions_source() -> list[str]:
    env = os.environ.get("GOPOLICY_CORPUS")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared/data/sgf/train"]:
        if cand.is_dir():
            return [str(cand / "kgs_train.tar.gz"), str(cand / "tygem9d_train.tar.gz")]
    return [str(ROOT / "data" / "selfplay")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=40)
    ap.add_argument("--baseline-positions", type=int, default=300)
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")

    from gopolicy.corpus import sgf as sgf_io
    from gopolicy.go.features import PlaneWriter
    from gopolicy.go.reference_features import replay_reference

    srcs = positions_source()
    games = []
    for path in srcs:
        for name, raw in sgf_io.iter_sources([path]):
            try:
                games.append(sgf_io.parse_game(raw, name))
            except sgf_io.SkipGame:
                continue
            if len(games) >= args.games * (srcs.index(path) + 1) // len(srcs):
                break
    boards = [(b.copy(), c) for g in games for b, c, m, n in sgf_io.replay(g) if m != g.size ** 2]
    writer = PlaneWriter(19)
    for b, c in boards[:200]:
        writer(b, c)  # compile / warm up
    t = time.perf_counter()
    for b, c in boards:
        writer(b, c)
    ours = len(boards) / (time.perf_counter() - t)

    t = time.perf_counter()
    done = 0
    for g in games:
        for _ in replay_reference(g):
            done += 1
            if done >= args.baseline_positions:
                break
        if done >= args.baseline_positions:
            break
    naive = done / (time.perf_counter() - t)

    print(f"source: {', '.join(Path(s).name for s in srcs)}; {len(games)} games, {len(boards)} positions")
    print(f"{'encoder':44s} {'positions/s':>12s} {'ratio':>8s}")
    print(f"{'naive Python on sgfmill (no ladders)':44s} {naive:12.0f} {1.0:8.1f}")
    print(f"{'gopolicy.go.features (numba, 48 planes + ladders)':44s} {ours:12.0f} {ours / naive:8.1f}")
    print(f"goal: >= 5,800 positions/s per core (100x dlgo's 58): {'met' if ours >= 5800 else 'NOT met'}")


if __name__ == "__main__":
    main()
