"""Compile (or load from numba's cache) every kernel an engine needs, before a GUI waits on it.

A fresh install compiles the rules, planes, ladder, scoring, rollout and search kernels on first
use: 30-90 s on a 2-core machine, then about a second from the cache (gopolicy/numba_cache.py
says where the cache lives and how one install's cache serves every user). ``gopolicy gtp`` runs
:func:`compile_kernels` in a background thread at start, board kernels first, so ``name``,
``version``, ``list_commands``, ``boardsize`` and ``play`` answer at once; a ``genmove`` waits for
:func:`wait_ready` before its clock starts, so that the first move is searched like the others.
``gopolicy warmup`` does it once by hand (``scripts/run.sh`` does it before the first game).
"""
from __future__ import annotations

import threading
import time

import numpy as np

from gopolicy import numba_cache
from gopolicy.go.board import Board
from gopolicy.go.coords import from_gtp
from gopolicy.go.features import planes
from gopolicy.go.scoring import estimate
from gopolicy.play.search import SearchConfig, Searcher

COLD_SECONDS = "30-90"   # a cold compile of every kernel on 2 cores: 29-47 s on a Xeon, 86 s on an AMD EPYC (AVX2)

_ready = threading.Event()
_ready.set()        # nothing to wait for until a background warm-up starts


def compile_kernels() -> float:
    """Run every numba kernel once on a small position; returns the seconds it took."""
    t0 = time.perf_counter()
    # Board kernels first: the protocol's `play` needs only these.
    b = Board(19)
    for gtp in ("D4", "Q16", "D5", "Q4", "E4", "D3", "C4"):
        b.play(from_gtp(gtp, 19))
    b.legal_mask()
    # A single-stone capture (the ko check) with each integer type callers pass as a move:
    # the GTP parser's int, the search's int32 and numpy's int64 arrays (one cache entry each).
    for cast in (int, np.int32, np.int64):
        c = Board(19)
        for gtp in ("D3", "D4", "C4", "Q16", "E4", "Q4", "D5"):
            c.play(cast(from_gtp(gtp, 19)))
    planes(b)  # the 48 planes, ladders included
    estimate(b, playouts=2, seed=0)
    # The search's kernels: tree policy, rollouts, counts (a few playouts, no network).
    s = Searcher(None, threads=1, config=SearchConfig(expand_threshold=1, score_weight=0.5))
    s.search(b, playouts=4)
    s.rollouts.run(b, n=1, seed=0)
    b.analyze()
    return time.perf_counter() - t0


def start_background(log=None) -> threading.Thread:
    """:func:`compile_kernels` in a daemon thread (numba's compile lock keeps callers safe);
    ``log(message)`` hears, in one line each, that a cold compile starts and when it is done."""
    warm = numba_cache.is_warm()
    if not warm and log is not None:
        log(f"compiling the board, feature and search kernels once (about {COLD_SECONDS} s on 2 cores; "
            "`gopolicy warmup` does it ahead of time for every user of this install)")
    _ready.clear()

    def work():
        try:
            seconds = compile_kernels()
        finally:
            _ready.set()
        if log is not None:
            log(f"kernels ready ({seconds:.1f} s, {'loaded from the cache' if warm else 'compiled'})")

    t = threading.Thread(target=work, name="gopolicy-warmup", daemon=True)
    t.start()
    return t


def wait_ready(timeout: float | None = None) -> bool:
    """Block until a background warm-up (if any) is done: a move's clock starts after it."""
    return _ready.wait(timeout)
