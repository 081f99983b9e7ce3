"""Playout tactics: the two rules of Pachi's "moggy" playouts that decide most fights, on the
rollout kernel's incremental state (Pachi 12.90, ``playout/moggy.c``; written anew here).

* **Local atari** (moggy's ``local_atari_check``, ``lcapturerate`` 90): when the last move
  left a string in atari (its own string, or a neighbour's), the mover captures it if it is
  the opponent's, or saves it if it is its own: by extending to three or more liberties
  (two could be a ladder, which the playout cannot read) or by capturing an attacker in
  atari. A saving move for a string of three or more stones is always played (moggy's
  "always defend big groups"); otherwise one of the moves is played with probability
  ``capture`` and the policy draws as usual in the other cases.
* **Self-atari refusal** (moggy's ``selfatarirate`` 60): a drawn move that leaves the
  string it joins (two stones or more) with one liberty, capturing nothing, is refused
  with probability ``self_atari`` and the policy draws again without it (at most
  ``MAX_REDRAWS`` times). A lone stone in atari is allowed: throw-ins and nakade need it.

The rollout policy was trained to predict players' moves; these rules are judged by the
value its playouts give (:mod:`gopolicy.rollout.value_study`) and by match strength.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from gopolicy.numba_cache import ensure_fresh
from gopolicy.rollout.incremental_board import COL, HEAD, LIBS, M_LAST, NEXT, SIZE
from gopolicy.rollout.move_features import is_candidate, libs_after

ensure_fresh()

MAX_REDRAWS = 3
BIG_STRING = 3          # stones: a string this big in atari is always saved


@dataclass(frozen=True)
class PlayoutTactics:
    """Probabilities of the two rules (0 turns a rule off and draws no random number)."""

    capture: float = 0.9
    self_atari: float = 0.6

    def rates(self) -> np.ndarray:
        return np.array([self.capture, self.self_atari], np.float64)


NO_TACTICS = PlayoutTactics(0.0, 0.0)
DEFAULT_TACTICS = NO_TACTICS      # measured before it changes: see the module docstring


@njit(cache=True)
def string_liberty(S, nbr, h):
    """One liberty of the string headed by h (the only one when it is in atari), or -1."""
    y = h
    while True:
        for k in range(4):
            z = nbr[y, k]
            if z >= 0 and S[COL, z] == 0:
                return z
        y = S[NEXT, y]
        if y == h:
            return -1


@njit(cache=True, inline="always")
def _add(out, nout, x, val, meta, c):
    """Append candidate x to ``out`` unless it is there; returns the new count."""
    if not is_candidate(val, meta, x, c):
        return nout
    for i in range(nout):
        if out[i] == x:
            return nout
    out[nout] = x
    return nout + 1


@njit(cache=True)
def local_atari_moves(S, meta, nbr, val, c, out):
    """Moves for mover c answering the strings in atari at or next to the last move (see the
    module docstring), each once, into ``out``. Returns (count, forced): forced when one of
    them saves a string of ``BIG_STRING`` stones or more."""
    last = meta[M_LAST]
    if last < 0 or S[COL, last] == 0:
        return 0, False
    opp = 3 - c
    nout = 0
    forced = False
    for k in range(5):
        q = last if k == 4 else nbr[last, k]
        if q < 0 or S[COL, q] == 0:
            continue
        h = S[HEAD, q]
        if S[LIBS, h] != 1:
            continue
        if S[COL, h] == opp:
            nout = _add(out, nout, string_liberty(S, nbr, h), val, meta, c)
            continue
        before = nout
        x = string_liberty(S, nbr, h)
        if is_candidate(val, meta, x, c) and libs_after(S, meta, nbr, x, c, 3) >= 3:
            nout = _add(out, nout, x, val, meta, c)
        y = h
        while True:                          # capture an attacker in atari
            for k2 in range(4):
                z = nbr[y, k2]
                if z >= 0 and S[COL, z] == opp and S[LIBS, S[HEAD, z]] == 1:
                    nout = _add(out, nout, string_liberty(S, nbr, S[HEAD, z]), val, meta, c)
            y = S[NEXT, y]
            if y == h:
                break
        if nout > before and S[SIZE, h] >= BIG_STRING:
            forced = True
    return nout, forced


@njit(cache=True)
def bad_self_atari(S, meta, nbr, x, c):
    """Mover c at empty x joins a string of its own and leaves it one liberty, capturing
    nothing (captured stones count as liberties in ``libs_after``)."""
    joins = False
    for k in range(4):
        q = nbr[x, k]
        if q >= 0 and S[COL, q] == c:
            joins = True
    return joins and libs_after(S, meta, nbr, x, c, 2) < 2
