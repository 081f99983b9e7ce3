"""How often does the search play the strong player's move? The search's most visited
move, the network's move and the engine's rule (the network's move unless the most
visited one beats it by a margin in win rate) on the same held-out positions.

    python scripts/search_agreement.py ../shared/data/sgf/train/tom9d_train.tar.gz \\
        [--positions 300] [--playouts 800] [--search prior_eqex=2000 ...] [--margins 0.03 0.06 0.1 0.2]

One position per game (a move number drawn from 20 to 220, seeded), one thread, a
fresh tree per position. Agreement is not strength, but a search whose choices agree
less often than its own prior's is adding noise, not reading.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from gopolicy.commands.gtp_cmd import search_setting


def positions(paths, n: int, seed: int):
    """(board, move) pairs: one per game, the position before a move drawn from 20..220."""
    from gopolicy.corpus.sgf import SkipGame, iter_sources, parse_game, replay

    rng = np.random.default_rng(seed)
    skipped: dict[str, int] = {}
    out = []
    for name, data in iter_sources(paths, on_skip=lambda why, _d: skipped.__setitem__(why, skipped.get(why, 0) + 1)):
        try:
            game = parse_game(data, name=name)
            moves = sum(e[0] == "move" for e in game.events)
            if moves < 60:
                continue
            k = int(rng.integers(20, min(moves, 220)))
            for board, color, mv, number in replay(game, superko=True):
                if number == k:
                    if mv != board.pass_move and board.to_move == color:
                        out.append((board.copy(), int(mv)))
                    break
        except SkipGame as exc:
            skipped[exc.reason] = skipped.get(exc.reason, 0) + 1
        if len(out) >= n:
            break
    return out, skipped


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sgf", nargs="+", help="SGF files, folders or archives (held out from training)")
    ap.add_argument("--positions", type=int, default=300)
    ap.add_argument("--playouts", type=int, default=800)
    ap.add_argument("--search", action="append", type=search_setting, default=[], metavar="NAME=VALUE",
                    help="a SearchConfig field, as `gopolicy gtp --search` takes it (repeatable)")
    ap.add_argument("--margins", type=float, nargs="+", default=[0.03, 0.06, 0.1, 0.2])
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from gopolicy.play.network_policy import NetworkPolicy
    from gopolicy.play.search import SearchConfig, Searcher
    from gopolicy.progress import eta_seconds, format_duration

    pos, skipped = positions(args.sgf, args.positions, args.seed)
    cfg = SearchConfig(**dict(args.search))
    pol = NetworkPolicy(None, device="cpu", symmetries=cfg.root_symmetries)
    hits = {"network": 0, "most visited": 0, **{f"rule {m:g}": 0 for m in args.margins}}
    t0 = time.perf_counter()
    for i, (board, mv) in enumerate(pos):
        root = Searcher(pol, threads=1, config=cfg, seed=i).search(board.copy(), playouts=args.playouts)
        hits["network"] += int(root.moves[int(np.argmax(root.P))]) == mv
        hits["most visited"] += int(root.moves[root.best()]) == mv
        for m in args.margins:
            hits[f"rule {m:g}"] += int(root.moves[root.choice(m)]) == mv
        if (i + 1) % 20 == 0:
            el = time.perf_counter() - t0
            print(f"{i + 1}/{len(pos)} positions, {(i + 1) / el:.2f}/s, ETA "
                  f"{format_duration(eta_seconds(i + 1, len(pos), el))}", file=sys.stderr, flush=True)
    n = len(pos)
    changed = " ".join(f"{k}={v:g}" for k, v in args.search) or "defaults"
    print(f"\n{n} positions from {', '.join(args.sgf)}; {args.playouts} playouts, search {changed}, "
          f"{time.perf_counter() - t0:.0f} s; skipped: {skipped or 'none'}\n")
    print("| move played | agrees | % |\n|--|--:|--:|")
    for k, v in hits.items():
        print(f"| {k} | {v} | {100 * v / max(n, 1):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
