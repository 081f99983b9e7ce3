"""Compile (or load from numba's cache) every kernel an engine needs, before a GUI waits on it.

A fresh install compiles the rules, planes, ladder, scoring, rollout and search kernels on first use: about 30 s
on a 2-core machine, then well under a second from the cache (see gopolicy/_numba_cache.py for
where the cache lives). ``gopolicy gtp`` runs :func:`compile_kernels` in a background thread at
start, board kernels first, so ``name``, ``version``, ``list_commands``, ``boardsize`` and ``play``
answer at once while the slow plane and ladder kernels compile; ``gopolicy warmup`` does it once
by hand (``scripts/run.sh`` does it before the first game).
"""
from __future__ import annotations

import threading
import time


def compile_kernels() -> float:
    """Run every numba kernel once on a small position; returns the seconds it took."""
    t0 = time.perf_counter()
    from gopolicy.go.board import Board

    # Board kernels first: the protocol's `play` needs only these.
    b = Board(19)
    for gtp in ("D4", "Q16", "D5", "Q4", "E4", "D3", "C4"):
        from gopolicy.go.coords import from_gtp

        b.play(from_gtp(gtp, 19))
    b.legal_mask()
    from gopolicy.go.features import planes

    planes(b)  # the 48 planes, ladders included
    from gopolicy.go.scoring import estimate

    estimate(b, playouts=2, seed=0)
    # The search's kernels: tree policy, rollouts, counts (a few playouts, no network).
    from gopolicy.play.search import SearchConfig, Searcher

    s = Searcher(None, threads=1, config=SearchConfig(expand_threshold=1, score_weight=0.5))
    s.search(b, playouts=4)
    s.rollouts.run(b, n=1, seed=0)
    b.analyze()
    return time.perf_counter() - t0


def start_background(log=None) -> threading.Thread:
    """:func:`compile_kernels` in a daemon thread (numba's compile lock keeps callers safe);
    ``log(message)`` hears when they are ready."""
    def work():
        seconds = compile_kernels()
        if log is not None:
            log(f"kernels ready ({seconds:.1f} s)")

    t = threading.Thread(target=work, name="gopolicy-warmup", daemon=True)
    t.start()
    return t
