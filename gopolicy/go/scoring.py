"""Dead stones, seki and area score of a position, judged by random playouts.

Dead stones are judged by Monte-Carlo ownership: from the current position
``playouts`` (64) random games are played out to the end by both sides with
uniformly random legal moves that neither fill the mover's own true eye
(AlphaGo's eye rule, as in the policy) nor put a string of 2+ stones into atari
without capturing (so sekis survive the playouts and dead groups cannot
escape); each playout is scored Tromp-Taylor. A string is **dead** when the
opponent owns its points in more than half of the playouts, **seki** when it is
alive and at the end of most playouts still touches a shared liberty (an empty
point bordering both colours). ``final_score`` removes the dead strings and
counts the board Tromp-Taylor (stones + empty regions reaching only one colour)
with komi. The playouts use a fixed seed derived from the position, so the
judgement is deterministic. It is reliable for finished games (every border
closed); on an unfinished board it is a rough estimate of the kind used to
decide passing and resignation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, EMPTY
from gopolicy.go.rules_kernels import Strings, area_count, flood_string, inner_kernel, is_eye, play_stone


@inner_kernel
def _libs_size(stones, nbr, p0, mark, stamp, stack, no_libs):
    """(liberties capped at 2, size) of the string at p0; ``mark`` must hold no ``stamp``.
    ``no_libs``: an empty array (the liberties are counted, not listed)."""
    size, libs = flood_string(stones, nbr, p0, mark, stamp, stack, 0, no_libs, 0, stones.shape[0] + 1)
    return min(libs, 2), size


@njit(cache=True)
def _playouts(stones0, nbr, diag, to_move, ko0, n_playouts, max_moves, seed,
              own, seki, scores):
    """Random playouts from ``stones0``; accumulates ownership (+1 black, -1
    white) in ``own``, touches-a-shared-liberty counts in ``seki`` and each
    playout's Tromp-Taylor score (black - white, no komi) in ``scores``."""
    n = stones0.shape[0]
    np.random.seed(seed)
    stones = stones0.copy()
    tmp = stones0.copy()
    removed = np.empty(n, np.int32)
    empties = np.empty(n, np.int32)
    mark = np.zeros(n, np.int32)
    stack = np.empty(n, np.int32)
    region = np.empty(n, np.int32)
    pts = np.empty(n, np.int32)
    touched = np.zeros(n, np.uint8)
    no_libs = np.empty(0, np.int32)
    stamp = 0
    for k in range(n_playouts):
        stones[:] = stones0
        color = to_move
        ko = ko0
        passes = 0
        moves = 0
        while passes < 2 and moves < max_moves:
            ne = 0
            for p in range(n):
                if stones[p] == EMPTY:
                    empties[ne] = p
                    ne += 1
            played = -1
            while ne > 0:
                i = np.random.randint(ne)
                p = empties[i]
                ne -= 1
                empties[i] = empties[ne]
                if p == ko or is_eye(stones, nbr, diag, p, color):
                    continue
                tmp[:] = stones
                ncap = play_stone(tmp, nbr, p, color, removed)
                if ncap < 0:
                    continue
                stamp += 1
                libs, size = _libs_size(tmp, nbr, p, mark, stamp, stack, no_libs)
                if libs == 1 and size >= 2 and ncap == 0:
                    continue  # self-atari of a real string: never in playouts
                stones[:] = tmp
                played = p
                ko = -1
                if ncap == 1 and size == 1 and libs == 1:
                    ko = removed[0]
                break
            if played < 0:
                passes += 1
                ko = -1
            else:
                passes = 0
            color = 3 - color
            moves += 1
        touched[:] = 0
        sc = area_count(stones, nbr, own, touched, region, stack, pts)
        for p in range(n):
            if touched[p]:
                seki[p] += 1
        scores[k] = sc


def strings_of(board: Board) -> list[list[int]]:
    """The strings of stones on the board, each a sorted list of points."""
    s = Strings(board.n)
    count = s.label(board.stones, board.nbr)
    return [sorted(int(p) for p in s.order[s.start[i]:s.start[i + 1]]) for i in range(count)]


@dataclass
class Estimate:
    """Monte-Carlo judgement of a position (see the module docstring)."""

    ownership: np.ndarray   # float [n], +1 = Black owns in every playout, -1 = White
    dead: np.ndarray        # bool [n], stones judged dead
    seki: np.ndarray        # bool [n], live stones judged to be in seki
    mean_score: float       # mean Tromp-Taylor score of the playouts (B - W, no komi)
    playouts: int


def estimate(board: Board, playouts: int = 64, seed: int | None = None) -> Estimate:
    """Ownership, dead stones and seki of ``board`` from random playouts."""
    n = board.n
    own = np.zeros(n, np.int64)
    seki = np.zeros(n, np.int64)
    scores = np.zeros(max(playouts, 1), np.int64)
    if seed is None:
        seed = int(board.hash % np.uint64(2**31 - 1))
    _playouts(board.stones.astype(np.int8), board.nbr, board.diag, int(board.to_move),
              int(board.ko), max(playouts, 1), 3 * n, int(seed), own, seki, scores)
    npl = max(playouts, 1)
    ownership = own / npl
    seki_frac = seki / npl
    dead = np.zeros(n, bool)
    in_seki = np.zeros(n, bool)
    for s in strings_of(board):
        col = board.stones[s[0]]
        sign = 1.0 if col == BLACK else -1.0
        if sign * ownership[s].mean() < 0:
            dead[s] = True
        elif seki_frac[s].max() > 0.5:
            in_seki[s] = True
    return Estimate(ownership, dead, in_seki, float(scores.mean()), npl)


def score_after_removing(board: Board, dead: np.ndarray, komi: float | None = None) -> float:
    """Tromp-Taylor area score (B - W - komi) after removing ``dead`` stones."""
    b = board.copy()
    pts = np.flatnonzero(dead)
    if len(pts):
        b.setup(empty=[int(p) for p in pts])
    return b.area_score(board.komi if komi is None else komi)


def final_score(board: Board, komi: float | None = None, est: Estimate | None = None,
                playouts: int = 64) -> float:
    """Area score with komi after removing the stones judged dead (> 0: Black wins)."""
    if est is None:
        est = estimate(board, playouts)
    return score_after_removing(board, est.dead, komi)


def score_text(score: float) -> str:
    """``B+3.5`` / ``W+0.5`` / ``0`` (GTP final_score and SGF RE style)."""
    if score > 0:
        return f"B+{score:g}"
    if score < 0:
        return f"W+{-score:g}"
    return "0"
