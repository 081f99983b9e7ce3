#!/usr/bin/env python
"""Rollout speed: complete 19x19 playouts per second and moves per second, on one core, for
uniform-random eye-avoiding playouts and for the rollout policy, from the empty board and from
mid-game positions (move 120 of the shipped GNU Go games). The modes run interleaved in short
rounds, so that a busy machine slows them alike and the ratios stay meaningful.

    python scripts/bench_rollout.py                     # the bundled rollout weights
    python scripts/bench_rollout.py --weights FILE --seconds 20 --json

Also times the project's older playout kernel (gopolicy.go.scoring._playouts: uniform, eye- and
self-atari-avoiding) as a reference. Goals (issue 13): >= 1,000 rollout-policy playouts/s per
core from the empty board, and the rollout policy at >= 1/4 of the uniform rate.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gopolicy.corpus import sgf as sgf_io
from gopolicy.go.board import Board
from gopolicy.go.scoring import _playouts
from gopolicy.rollout.playout import Rollouts

REPO = Path(__file__).resolve().parents[1]


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def midgame_boards(k: int, move: int = 120) -> list[Board]:
    out = []
    for path in sorted((REPO / "data" / "results" / "match_gnugo_level10").glob("*.sgf"))[:k]:
        game = sgf_io.parse_game(path.read_bytes(), path.name)
        for board, _, _, number in sgf_io.replay(game):
            if number > move:
                out.append(board.copy())
                break
    return out


class OldUniform:
    """scoring._playouts timed through the same interface."""

    name = "scoring._playouts (reference)"

    def run(self, board, n, seed):
        own = np.zeros(board.n, np.int64)
        seki = np.zeros(board.n, np.int64)
        scores = np.zeros(n, np.int64)
        _playouts(board.stones.astype(np.int8), board.nbr, board.diag, int(board.to_move),
                  int(board.ko), n, 3 * board.n, seed, own, seki, scores)

        class R:
            moves = 0
        return R


def threaded(rollouts, k: int, seconds: float, batch: int) -> dict:
    """Aggregate rate of k threads sharing one Rollouts object (the kernel releases the GIL)."""
    import threading

    board = Board(19)
    done = [0] * k
    stop = time.time() + seconds

    def work(i):
        seed = 1000 * i
        while time.time() < stop:
            rollouts.run(board, batch, seed)
            done[i] += batch
            seed += 1

    t0 = time.perf_counter()
    ts = [threading.Thread(target=work, args=(i,)) for i in range(k)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {"threads": k, "playouts_per_s": sum(done) / (time.perf_counter() - t0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", help="rollout weights (default: the bundled data/bundled/rollout.npz)")
    ap.add_argument("--seconds", type=float, default=12.0, help="time per mode and start (default 12)")
    ap.add_argument("--batch", type=int, default=20, help="playouts per timed call")
    ap.add_argument("--threads", type=int, default=0,
                    help="also time N Python threads running rollout-policy playouts at once (nogil)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    policy = Rollouts(19, 7.5, policy=args.weights)
    if policy.uniform:
        print("no rollout weights found: train them (gopolicy train-rollout) or pass --weights", file=sys.stderr)
        return 1
    modes = {"uniform": Rollouts(19, 7.5, "uniform"), "rollout policy": policy, "reference": OldUniform()}
    starts = {"empty board": [Board(19)], "move 120": midgame_boards(8)}
    # compile / warm up
    for m in modes.values():
        for boards in starts.values():
            m.run(boards[0], 2, 1)
    res = {}
    for sname, boards in starts.items():
        acc = {m: [0.0, 0, 0] for m in modes}     # seconds, playouts, moves
        seed = 1
        deadline = time.time() + args.seconds * len(modes)
        while time.time() < deadline:
            for mname, m in modes.items():        # interleaved rounds
                b = boards[seed % len(boards)]
                t0 = time.perf_counter()
                r = m.run(b, args.batch, seed)
                acc[mname][0] += time.perf_counter() - t0
                acc[mname][1] += args.batch
                acc[mname][2] += r.moves
            seed += 1
        res[sname] = {m: {"playouts_per_s": a[1] / a[0],
                          "moves_per_s": (a[2] / a[0]) if a[2] else None,
                          "us_per_move": (1e6 * a[0] / a[2]) if a[2] else None,
                          "moves_per_playout": (a[2] / a[1]) if a[2] else None,
                          "playouts": a[1]} for m, a in acc.items()}
    load = os.getloadavg()
    print(f"CPU: {cpu_name()}; {os.cpu_count()} logical cores; load average {load[0]:.2f} "
          f"(1 min) during the run; one thread")
    print(f"rollout weights: {policy.policy.info.get('kind', 'rollout')} policy, "
          f"{len(policy.policy.pattern_keys):,} patterns")
    print(f"{'start':12s} {'mode':30s} {'playouts/s':>11s} {'moves/s':>11s} {'us/move':>8s} {'moves/playout':>14s}")
    for sname, r in res.items():
        for mname, v in r.items():
            label = modes[mname].name if mname == "reference" else mname
            mv = f"{v['moves_per_s']:11,.0f}" if v["moves_per_s"] else f"{'-':>11s}"
            us = f"{v['us_per_move']:8.2f}" if v["us_per_move"] else f"{'-':>8s}"
            mp = f"{v['moves_per_playout']:14.0f}" if v["moves_per_playout"] else f"{'-':>14s}"
            print(f"{sname:12s} {label:30s} {v['playouts_per_s']:11,.0f} {mv} {us} {mp}")
        ratio = r["rollout policy"]["playouts_per_s"] / r["uniform"]["playouts_per_s"]
        r["policy_over_uniform"] = ratio
        print(f"{sname:12s} rollout policy / uniform playouts per second: {ratio:.2f} (goal >= 0.25)")
    e = res["empty board"]["rollout policy"]["playouts_per_s"]
    print(f"rollout policy from the empty board: {e:,.0f} playouts/s per core (goal >= 1,000)")
    if args.threads > 1:
        res["threads"] = threaded(policy, args.threads, args.seconds, args.batch)
        print(f"{args.threads} threads, rollout policy from the empty board: "
              f"{res['threads']['playouts_per_s']:,.0f} playouts/s in all "
              f"({res['threads']['playouts_per_s'] / e:.2f} x one thread)")
    if args.json:
        print(json.dumps({"cpu": cpu_name(), "load": load, "results": res}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
