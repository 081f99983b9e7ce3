#!/usr/bin/env python
"""The value study's third curve on a small sample: the policy network as the rollout policy.

Same positions for all three (held-out games with a known winner, one per 50-move bin), the
same number of rollouts each: uniform random, the rollout policy, and the bundled policy
network sampling its softmax over legal moves that do not fill the mover's own eye (passing
when none is left), all scored by area with the game's komi. The network plays in Python with
one batched forward pass per move for the n rollouts of a position, so the sample is small.

    python scripts/value_study_network.py --sgf CORPUS/*.tar.gz --games 12 --rollouts 8
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gopolicy.play.network_playouts import network_playouts
from gopolicy.play.network_policy import NetworkPolicy
from gopolicy.rollout.playout import Rollouts
from gopolicy.rollout.value_study import BIN, cpu_name, held_out_games, outcome, sample_positions


def network_rollouts(net: NetworkPolicy, board, n: int, rng) -> float:
    """Black-win fraction of n playouts of the network from ``board``."""
    return network_playouts(net, board, n, seed=int(rng.integers(1 << 30)), max_moves=3 * board.n).black_wins


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sgf", nargs="+", required=True)
    ap.add_argument("--games", type=int, default=12)
    ap.add_argument("--rollouts", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="data/results/rollout_value_error_network.json")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    net = NetworkPolicy(None, device="cpu", threads=1)
    rows = []
    t0 = time.time()
    rollers = {}
    for g, game in enumerate(held_out_games(args.sgf)):
        if g >= args.games:
            break
        z = outcome(game.result)
        for b, board in sample_positions(game, rng, 6):
            vs = []
            for name in ("uniform", None):
                key = (name, board.komi)
                if key not in rollers:
                    rollers[key] = Rollouts(19, board.komi, policy=name)
                r = rollers[key].run(board, n=args.rollouts, seed=int(rng.integers(1 << 30)))
                vs.append(r.black_wins / r.n)
            vs.append(network_rollouts(net, board, args.rollouts, rng))
            rows.append((b, z, *vs))
        print(f"[net] {g + 1}/{args.games} games, {len(rows)} positions, {time.time() - t0:.0f}s",
              file=sys.stderr, flush=True)
    a = np.array(rows, dtype=np.float64)
    err = {k: (a[:, 2 + i] - a[:, 1]) ** 2 for i, k in enumerate(("uniform", "rollout policy", "network"))}
    res = {"games": args.games, "positions": len(a), "rollouts_per_position": args.rollouts,
           "seconds": round(time.time() - t0), "cpu": cpu_name(),
           "mse": {k: float(v.mean()) for k, v in err.items()},
           "mse_2se": {k: float(2 * v.std(ddof=1) / math.sqrt(len(v))) for k, v in err.items()},
           "by_bin": [{"moves": f"{b * BIN}+" if b == 6 else f"{b * BIN}-{(b + 1) * BIN - 1}",
                       "positions": int((a[:, 0] == b).sum()),
                       **{k: float(v[a[:, 0] == b].mean()) for k, v in err.items()}}
                      for b in range(7) if (a[:, 0] == b).any()]}
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res["mse"]), json.dumps(res["mse_2se"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
