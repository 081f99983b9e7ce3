"""Benchmark the Monte-Carlo tree search: playouts per second with 1 and 2
threads, network evaluations per second, the median time per move at each
playout budget, and Pachi's own playouts per second on the same machine when
Pachi is present (``$GOPOLICY_PACHI``), and the time of the end-of-game count
(the policy network's playouts against the fast rollouts', on finished games).

    python scripts/bench_search.py [--budgets 100 400 1600] [--moves 6] [--count-only]

Positions: an opening after 20 network moves, then ``--moves`` further
network moves (one search per position); the figures are medians over them.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import time


def positions(policy, count: int, start: int = 20):
    from gopolicy.go.board import Board

    b = Board(19, 7.5, superko=True)
    out = []
    for k in range(start + count):
        if k >= start:
            out.append(b.copy())
        b.play(policy.select(b))
    return out


def bench_threads(policy, boards, playouts: int, threads: int) -> tuple[float, float]:
    """(playouts per second, median seconds per move) for one thread count."""
    from gopolicy.play.search import Searcher

    rates, times = [], []
    for b in boards:
        s = Searcher(policy, threads=threads, seed=1)
        t0 = time.perf_counter()
        s.search(b, playouts=playouts)
        dt = time.perf_counter() - t0
        rates.append(s.stats.playouts / dt)
        times.append(dt)
    return statistics.median(rates), statistics.median(times)


def bench_network(policy, boards, batch: int = 8, reps: int = 5) -> float:
    from gopolicy.play.search import Searcher

    s = Searcher(policy, threads=1)
    items = [(s.new_node(b), b) for b in (boards * batch)[:batch]]
    s.set_network_priors(items)
    t0 = time.perf_counter()
    for _ in range(reps):
        s.set_network_priors(items)
    return reps * batch / (time.perf_counter() - t0)


COUNT_GAMES = ("match_search800_gnugo_level10/game-025.sgf", "match_search800_gnugo_noresign/game-015.sgf")


def bench_count(policy, net_playouts: int) -> list[tuple[str, int, float, float]]:
    """``(game, empty points, network count s, fast count s)`` on finished match games."""
    from pathlib import Path

    from gopolicy.corpus import sgf as sgf_io
    from gopolicy.play.search import Searcher
    from gopolicy.play.search.player import SearchPlayer

    root = Path(__file__).resolve().parents[1] / "data" / "results"
    out = []
    for name in COUNT_GAMES:
        board = sgf_io.replay_all(sgf_io.parse_game((root / name).read_bytes(), name))
        times = []
        for count in (net_playouts, 0):
            player = SearchPlayer(Searcher(policy, threads=1), playouts=100, count_playouts=count)
            t0 = time.perf_counter()
            player.final_score(board)
            times.append(time.perf_counter() - t0)
        out.append((name, int((board.stones == 0).sum()), *times))
    return out


def bench_pachi(games: int = 5000) -> float | None:
    from gopolicy.play.peers import find_pachi

    pachi = find_pachi()
    if pachi is None:
        return None
    p = subprocess.run([pachi, "-t", f"={games}", "threads=1"], input=b"boardsize 19\nclear_board\n"
                       b"komi 7.5\nplay b D4\nplay w Q16\nplay b C16\ngenmove w\nquit\n",
                       capture_output=True, timeout=300)
    m = re.findall(rb"([0-9.]+) games/s/thread", p.stderr)
    return float(m[-1]) if m else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 400, 1600])
    ap.add_argument("--moves", type=int, default=6, help="positions searched per measurement (6)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--count-only", action="store_true", help="only the end-of-game count")
    args = ap.parse_args()

    from gopolicy.play.network_policy import NetworkPolicy

    try:
        cpu = [ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")][0]
    except (OSError, IndexError):
        cpu = "unknown CPU"
    from gopolicy.play.search.player import COUNT_NET_PLAYOUTS, COUNT_ROLLOUTS

    policy = NetworkPolicy(None, device="cpu")
    bench_count(policy, 1)                           # compile and warm up
    print(f"CPU: {cpu}")
    print("end-of-game count (final_score), 1 thread:")
    for name, empty, net_s, fast_s in bench_count(policy, COUNT_NET_PLAYOUTS):
        print(f"  {name}: {empty} empty points; network {COUNT_NET_PLAYOUTS} playouts {net_s:.1f} s, "
              f"fast rollouts {COUNT_ROLLOUTS} {fast_s:.2f} s ({net_s / fast_s:.0f}x)")
    if args.count_only:
        return 0
    boards = positions(policy, args.moves)
    bench_threads(policy, boards[:1], 100, 1)        # compile and warm up
    print(f"positions: {len(boards)} after 20 network moves")
    print(f"network evaluations: {bench_network(policy, boards):.0f}/s (batches of 8, 1 torch thread)")
    base = None
    for th in args.threads:
        rate, _ = bench_threads(policy, boards, max(args.budgets), th)
        base = base or rate
        print(f"{th} thread(s): {rate:.0f} playouts/s ({rate / base:.2f}x of {args.threads[0]} thread(s))")
    print("median time per move (s):")
    print("  budget " + " ".join(f"{th:>6d}T" for th in args.threads))
    for n in args.budgets:
        meds = [bench_threads(policy, boards, n, th)[1] for th in args.threads]
        print(f"  {n:6d} " + " ".join(f"{m:7.2f}" for m in meds))
    pachi = bench_pachi()
    if pachi is not None:
        print(f"Pachi (1 thread): {pachi:.0f} playouts/s; ours 1 thread / Pachi = {base / pachi:.2f}")
    else:
        print("Pachi not found ($GOPOLICY_PACHI) or no rate in its log: no comparison")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
