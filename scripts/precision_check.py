#!/usr/bin/env python
"""Does bf16 inference change the engine's moves, and is it faster? Decides the CPU default.

    python scripts/precision_check.py ../shared/data/sgf/train/tom9d_train.tar.gz [--positions 500]
    python scripts/precision_check.py data/selfplay/*.sgf        # what the project ships

The bundled network picks its move (the `--playouts 0` engine's move: the top of the
sensible-move probabilities) on the same positions in fp32 and in bf16; the table gives how
often the two moves differ, how often each is the player's move, and the batch-1 latency of
each precision (interleaved, so a busy machine slows both alike), on this machine's CPU.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gopolicy.corpus.sgf import SkipGame, iter_sources, parse_game, replay
from gopolicy.net.device import cpu_supports_bf16
from gopolicy.play.network_policy import NetworkPolicy


def positions(paths, n: int, seed: int):
    """(board, player's move): one position per game, a move number drawn from 10..250."""
    rng = np.random.default_rng(seed)
    out = []
    for name, data in iter_sources(paths, on_skip=lambda *_: None):
        try:
            game = parse_game(data, name=name)
        except SkipGame:
            continue
        moves = sum(e[0] == "move" for e in game.events)
        if moves < 20:
            continue
        k = int(rng.integers(10, min(moves, 250)))
        try:
            for board, color, mv, number in replay(game, superko=True):
                if number == k:
                    if mv != board.pass_move and board.to_move == color:
                        out.append((board.copy(), int(mv)))
                    break
        except SkipGame:
            continue
        if len(out) >= n:
            break
    return out


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="+", help="SGF files or archives")
    ap.add_argument("--positions", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    pos = positions(args.sources, args.positions, args.seed)
    if not pos:
        sys.exit("precision_check: no positions (no SGF game with 20 moves or more)")
    nets = {p: NetworkPolicy(None, device="cpu", precision=p) for p in ("fp32", "bf16")}
    moves = {p: [] for p in nets}
    times = {p: [] for p in nets}
    for k, (board, _) in enumerate(pos):
        for p in (("fp32", "bf16") if k % 2 else ("bf16", "fp32")):   # interleaved
            t0 = time.perf_counter()
            moves[p].append(int(np.argmax(nets[p].sensible_probabilities(board))))
            times[p].append(time.perf_counter() - t0)
    truth = np.array([mv for _, mv in pos])
    f32, b16 = np.array(moves["fp32"]), np.array(moves["bf16"])
    ms = {p: 1000 * statistics.median(times[p][1:]) for p in times}
    print(f"CPU: {cpu_name()}; native bf16: {cpu_supports_bf16()}; {len(pos)} positions")
    print("| precision | player's move | median ms/position |")
    print("|---|---|---|")
    for p, m in (("fp32", f32), ("bf16", b16)):
        print(f"| {p} | {np.mean(m == truth):.1%} | {ms[p]:.1f} |")
    print(f"bf16 changed the move in {int(np.sum(f32 != b16))} of {len(pos)} positions "
          f"({np.mean(f32 != b16):.1%}); bf16 time / fp32 time: {ms['bf16'] / ms['fp32']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
