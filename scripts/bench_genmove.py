#!/usr/bin/env python
"""genmove latency of the GTP engine on this machine (batch 1 = one position).

Times the engine's full ``genmove`` path (feature planes, legal mask with
superko, network forward, eye filter, choice) on positions taken from a real
game (a shipped self-play SGF, else random legal play), for a k=192 network
with random weights and for the bundled model when present, with 1 and 8
symmetries. Prints median and p95 in milliseconds, plus the network forward
alone, and the precision/device chosen by gopolicy.net.device.

    python scripts/bench_genmove.py                 # default: 40 positions each
    python scripts/bench_genmove.py --positions 100 --precision fp32
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_MS = 25.0


def positions(n: int, seed: int = 0):
    """Up to ``n`` boards (superko on) spread over a game."""
    from gopolicy.corpus.sgf import parse_game, replay
    from gopolicy.go.board import Board

    files = sorted(glob.glob(str(ROOT / "data" / "selfplay" / "*.sgf")))
    boards = []
    if files:
        with open(files[0], "rb") as f:
            game = parse_game(f.read(), name=files[0])
        all_b = [b.copy() for b, _, _, _ in replay(game, superko=True)]
        idx = np.linspace(0, len(all_b) - 1, min(n, len(all_b))).astype(int)
        boards = [all_b[i] for i in idx]
    rng = np.random.default_rng(seed)
    b = Board(19, superko=True)
    while len(boards) < n:  # pad with a random game
        legal = np.flatnonzero(b.legal_mask()[:-1])
        if len(legal) == 0 or b.move_count > 250:
            b = Board(19, superko=True)
            continue
        b.play(int(rng.choice(legal)))
        if b.move_count % 7 == 0:
            boards.append(b.copy())
    return boards[:n]


def stats(ts) -> tuple[float, float]:
    a = np.asarray(ts) * 1000.0
    return float(np.median(a)), float(np.percentile(a, 95))


def bench(model, symmetries: int, boards, precision: str, device: str, threads: int, warmup: int = 3):
    from gopolicy.play.network_player import NetworkPlayer
    from gopolicy.play.network_policy import NetworkPolicy

    pol = NetworkPolicy(model, device=device, symmetries=symmetries, precision=precision, seed=0,
                        threads=threads)
    player = NetworkPlayer(pol)
    for b in boards[:warmup]:
        player.genmove(b.copy(), b.to_move)
        pol.logits(b)
    gen, fwd = [], []
    for b in boards:
        board = b.copy()
        t0 = time.perf_counter()
        player.genmove(board, b.to_move)
        gen.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pol.logits(b)
        fwd.append(time.perf_counter() - t0)
    return pol, stats(gen), stats(fwd)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--positions", type=int, default=40)
    ap.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                    help="torch intra-op threads to try (default: 1 2; the engine uses 1)")
    ap.add_argument("--symmetries", type=int, nargs="+", default=[1, 8])
    args = ap.parse_args(argv)

    import torch

    from gopolicy.play.network_policy import default_model_path

    boards = positions(args.positions)
    models = [("k=192 random weights", "random:192:13")]
    if default_model_path().is_file():
        models.append(("bundled " + str(default_model_path().relative_to(ROOT)), None))
    else:
        print(f"(no bundled model at {default_model_path()}: skipped)")
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {load:.2f} "
          f"(other processes share these cores), {len(boards)} positions")
    print(f"{'model':30s} {'thr':>3s} {'sym':>3s} {'genmove median':>15s} {'p95':>8s} "
          f"{'net median':>11s} {'p95':>8s}")
    for label, model in models:
        for threads in args.threads:
            for s in args.symmetries:
                pol, (gm, gp), (fm, fp) = bench(model, s, boards, args.precision, args.device, threads)
                print(f"{label:30s} {threads:3d} {s:3d} {gm:12.1f} ms {gp:5.1f} ms {fm:8.1f} ms "
                      f"{fp:5.1f} ms   [{pol.dev.describe()}]", flush=True)
                if model == "random:192:13" and s == 1 and gm > GOAL_MS:
                    print(f"  note: above the {GOAL_MS:g} ms goal for k=192 (median {gm:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
