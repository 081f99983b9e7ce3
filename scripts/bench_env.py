#!/usr/bin/env python
"""Throughput of GoEnv (gopolicy/Go-v0): env.step() calls per second for a
uniformly random masked agent, with the raw-board and the 48-plane
observations, self-play (opponent None) and against the random opponent.

    python scripts/bench_env.py                 # 19x19, ~3 s per configuration
    python scripts/bench_env.py --size 9 --seconds 2

"moves/s" counts moves of both colours (with an opponent, one step = the
agent's move plus the opponent's answer). Resets (and the end-of-game area
count) are included in the time. The first configuration is preceded by a
short warm-up so numba's compilation/cache loading is not measured.
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np


def bench(size: int, observation: str, opponent, seconds: float, seed: int = 0) -> dict:
    from gopolicy.play.env import GoEnv

    env = GoEnv(size=size, observation=observation, opponent=opponent)
    # The agent's stream must differ from the env's np_random (also seeded with
    # `seed`): with equal streams the agent and the random opponent draw the
    # same numbers and tend to pass together.
    rng = np.random.default_rng([seed, 1])
    obs, info = env.reset(seed=seed)
    steps = moves = games = 0
    start_moves = info["move_count"]
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        a = int(rng.choice(np.flatnonzero(info["action_mask"])))
        obs, r, term, trunc, info = env.step(a)
        steps += 1
        if term or trunc:
            moves += info["move_count"] - start_moves
            games += 1
            if time.perf_counter() > deadline:
                break
            obs, info = env.reset()
            start_moves = info["move_count"]
        elif steps % 64 == 0 and time.perf_counter() > deadline:
            moves += info["move_count"] - start_moves
            break
    dt = time.perf_counter() - t0
    env.close()
    return {"steps_per_s": steps / dt, "moves_per_s": moves / dt, "games": games,
            "us_per_step": 1e6 * dt / steps}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=19)
    ap.add_argument("--seconds", type=float, default=3.0, help="per configuration")
    args = ap.parse_args(argv)

    bench(args.size, "both", "random", 0.5)  # warm-up: numba kernels, features
    rows = []
    for observation in ("board", "planes"):
        for opponent in (None, "random"):
            res = bench(args.size, observation, opponent, args.seconds)
            rows.append((observation, str(opponent), res))

    print(f"GoEnv {args.size}x{args.size}, random masked agent, {args.seconds:g} s each "
          f"({platform.processor() or platform.machine()}, python {platform.python_version()})")
    head = f"{'observation':<12}{'opponent':<10}{'steps/s':>10}{'moves/s':>10}{'us/step':>10}{'games':>7}"
    print(head)
    print("-" * len(head))
    for observation, opponent, r in rows:
        print(f"{observation:<12}{opponent:<10}{r['steps_per_s']:>10.0f}{r['moves_per_s']:>10.0f}"
              f"{r['us_per_step']:>10.0f}{r['games']:>7d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
