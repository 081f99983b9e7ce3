"""How well do rollouts predict the winner? The paper's Fig. 2b for our rollout policies.

From held-out games whose winner is known (the "val" and "test" games of the split ``gopolicy
prepare`` uses, never trained on), one position is drawn per game in each 50-move bin; from
each, ``n`` rollouts are played with each policy and their Black-win fraction ``v`` is compared
with the game's result ``z`` (1 Black won, 0 White won; komi from the game record):
``MSE = mean (v - z)^2`` per bin (0.25 = a coin flip, 0 = always right). The rollout policy
and the uniform-random playouts see the same positions, so their difference is paired: the
table gives it with twice its standard error.

    python -m gopolicy.rollout.value_study --sgf CORPUS/*.tar.gz --games 400 --rollouts 64 \\
        --out data/results/rollout_value_error
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from gopolicy.corpus import sgf as sgf_io
from gopolicy.corpus.shard_format import game_hash, split_of
from gopolicy.rollout.playout import Rollouts
from gopolicy.rollout.tactics import NO_TACTICS, PlayoutTactics
from gopolicy.rollout.train import GameStream

BIN = 50


def outcome(result: str) -> float | None:
    """1.0 if Black won, 0.0 if White won, None otherwise (draw, void, unknown)."""
    r = (result or "").strip().upper()
    if r.startswith("B+"):
        return 1.0
    if r.startswith("W+"):
        return 0.0
    return None


def held_out_games(paths, splits=("val", "test")):
    for game in GameStream(paths, None):
        if outcome(game.result) is not None and split_of(game_hash(game)) in splits:
            yield game


def sample_positions(game, rng, max_bin: int):
    """``[(bin, board)]``: one position per 50-move bin, at a random move number in the bin."""
    total = game.num_moves
    want = {}
    for b in range(max_bin + 1):
        lo, hi = b * BIN, min((b + 1) * BIN, total) - 1
        if b == max_bin:
            hi = total - 1
        if lo <= hi:
            want[int(rng.integers(lo, hi + 1))] = b
    out = []
    for board, _, _, number in sgf_io.replay(game):
        k = number - 1                   # moves already played
        if k in want:
            out.append((want[k], board.copy()))
    return out


VARIANTS = {"uniform": ("uniform", NO_TACTICS), "rollout policy": (None, NO_TACTICS),
            "rollout policy + tactics": (None, PlayoutTactics()),
            "uniform + tactics": ("uniform", PlayoutTactics()),
            "rollout policy + capture": (None, PlayoutTactics(self_atari=0.0)),
            "rollout policy + self-atari": (None, PlayoutTactics(capture=0.0))}
DEFAULT_VARIANTS = ("uniform", "rollout policy")


def run_study(paths, games: int, n: int, weights=None, seed: int = 0, max_bin: int = 6,
              log=print, variants=DEFAULT_VARIANTS) -> dict:
    """MSE per 50-move bin of each of ``variants`` (names of :data:`VARIANTS`; the rollout
    policy's weights are ``weights``, default the bundled ones) on the same positions; the
    improvement is each variant's paired difference from the first."""
    rng = np.random.default_rng(seed)
    rollers: dict = {}
    rows = []       # (bin, z, v of each variant)
    t0 = time.time()
    used = 0
    for game in held_out_games(paths):
        if used >= games:
            break
        z = outcome(game.result)
        try:
            pos = sample_positions(game, rng, max_bin)
        except sgf_io.SkipGame:
            continue
        used += 1
        for b, board in pos:
            vs = []
            for name in variants:
                key = (name, board.komi)
                if key not in rollers:
                    pol, tactics = VARIANTS[name]
                    rollers[key] = Rollouts(19, board.komi, policy=weights if pol is None else pol,
                                            tactics=tactics)
                res = rollers[key].run(board, n=n, seed=int(rng.integers(1 << 30)))
                vs.append(res.black_wins / res.n)
            rows.append((b, z, *vs))
        if used % 25 == 0:
            el = time.time() - t0
            log(f"[value] {used}/{games} games, {len(rows)} positions, {el:.0f}s, "
                f"ETA {el / used * (games - used):.0f}s")
    arr = np.array(rows, dtype=np.float64).reshape(-1, 2 + len(variants))
    err = (arr[:, 2:] - arr[:, 1:2]) ** 2

    def summary(sel) -> dict:
        e = err[sel]
        d = e[:, :1] - e            # paired improvement over the first variant
        se = 2 * d.std(axis=0, ddof=1) / math.sqrt(len(e)) if len(e) > 1 else [None] * len(variants)
        return {"positions": int(len(e)),
                "mse": {v: float(e[:, i].mean()) for i, v in enumerate(variants)},
                "improvement": {v: float(d[:, i].mean()) for i, v in enumerate(variants)},
                "improvement_2se": {v: (None if se[i] is None else float(se[i]))
                                    for i, v in enumerate(variants)}}

    table = []
    for b in range(max_bin + 1):
        sel = arr[:, 0] == b
        if sel.any():
            table.append({"bin": b, "moves": f"{b * BIN}-{(b + 1) * BIN - 1}" if b < max_bin else f"{b * BIN}+",
                          **summary(sel)})
    return {"games": used, "positions": int(len(arr)), "rollouts_per_position": n,
            "variants": list(variants), "seconds": round(time.time() - t0), "bins": table,
            "all": summary(np.ones(len(arr), bool))}


def write_outputs(res: dict, out: Path, command: str, cpu: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    vs = res["variants"]
    first = vs[0]
    lines = ["# Rollout value error by move number (the paper's Fig. 2b)", "",
             f"Positions from {res['games']} held-out games (val + test split, never trained on) with a "
             f"known winner, one per 50-move bin per game; {res['rollouts_per_position']} rollouts per "
             f"position and variant; MSE between the rollouts' Black-win fraction and the result "
             f"(1 = Black won, 0 = White won; a coin flip scores 0.25). Improvement = MSE({first}) - "
             f"MSE(variant) on the same positions, +- twice its standard error.", "",
             f"Command: `{command}` ({res['seconds']} s on {cpu}).", "",
             "| moves | positions | " + " | ".join(f"MSE {v}" for v in vs) + " | "
             + " | ".join(f"improvement {v}" for v in vs[1:]) + " |",
             "|---|---:|" + "---:|" * (2 * len(vs) - 1)]
    for r in res["bins"] + [dict(res["all"], moves="all")]:
        cells = [f"{r['mse'][v]:.3f}" for v in vs]
        for v in vs[1:]:
            se = r["improvement_2se"][v]
            cells.append(f"{r['improvement'][v]:+.3f}" + (f" +- {se:.3f}" if se is not None else ""))
        lines.append(f"| {r['moves']} | {r['positions']} | " + " | ".join(cells) + " |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["bin"] * BIN + BIN / 2 for r in res["bins"]]
    fig, ax = plt.subplots(figsize=(6, 4))
    for v, mark in zip(vs, "os^dv"):
        ax.plot(x, [r["mse"][v] for r in res["bins"]], mark + "-", label=v)
    ax.axhline(0.25, color="grey", lw=0.8, ls=":", label="coin flip")
    ax.set_xlabel("move number")
    ax.set_ylabel("mean squared error (win 1 / loss 0)")
    ax.set_title(f"Rollout value error on held-out games ({res['rollouts_per_position']} rollouts/position)")
    ax.set_ylim(0, max(0.3, max(max(r["mse"].values()) for r in res["bins"]) + 0.02))
    ax.legend()
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sgf", nargs="+", required=True)
    ap.add_argument("--games", type=int, default=400)
    ap.add_argument("--rollouts", type=int, default=64)
    ap.add_argument("--weights", help="rollout weights (default: bundled)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(DEFAULT_VARIANTS),
                    help="playout variants compared on the same positions (the first is the baseline)")
    ap.add_argument("--out", default="data/results/rollout_value_error")
    args = ap.parse_args(argv)
    res = run_study(args.sgf, args.games, args.rollouts, args.weights, args.seed,
                    log=lambda m: print(m, file=sys.stderr, flush=True), variants=args.variants)
    command = "python -m gopolicy.rollout.value_study " + " ".join(
        shlex.quote(a if not a.startswith(("/", "../")) else Path(a).name)
        for a in (argv if argv is not None else sys.argv[1:]))
    write_outputs(res, Path(args.out), command, cpu_name())
    print(Path(args.out).with_suffix(".md").read_text())
    return 0


def cpu_name() -> str:
    import platform
    import subprocess

    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


if __name__ == "__main__":
    sys.exit(main())
