"""The incremental board state of the rollout and tree policies.

One numba state serves the rollouts, the trainer and the tree policy. It is a set of ``int32``
rows ``S[ROW, point]`` (colour, string head, circular next-stone list, exact liberty count and
size per string head, the 3x3 pattern code of every empty point, scratch marks, the points the
last move captured) and a few scalars in ``meta`` (ko point, last two moves, stamps). ``play``
updates strings and liberties exactly (liberties are counted, not pseudo-liberties) and
recomputes the 3x3 code only for the points whose neighbourhood changed, which it returns as
the "dirty" list so that a policy can refresh the weights of just those points.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from gopolicy.go.rules_kernels import flood_string, inner_kernel
from gopolicy.numba_cache import ensure_fresh
from gopolicy.rollout.pattern_tables import stone_cell, swap_cell

ensure_fresh()

# rows of the state array S (int32 [NROWS, n])
COL, HEAD, NEXT, LIBS, SIZE, MARK, DMARK, CODE, CAPT, TREP, TOLD, AIDX, ALIST, ALIST_W, NROWS = range(15)
# ALIST: the heads of the black strings in atari, in any order; ALIST_W = ALIST + 1: the white;
# AIDX[h]: h's index in its list (valid only while h heads a string in atari)
# meta (int64 [NMETA])
# M_ATARI + c - 1: how many strings of colour c have exactly one liberty (its list's length)
M_KO, M_LAST, M_LAST2, M_NCAPT, M_STAMP, M_DSTAMP = range(6)
M_ATARI, NMETA = 6, 8

Position = namedtuple("Position", "stones ko last last2 capt")
Position.__doc__ = """A position as the kernels take it: ``stones`` int8 (0/1/2), the ko point,
the previous two moves (-1 for none or a pass) and the stones the last move captured (int32)."""


def new_state(n: int) -> tuple[np.ndarray, np.ndarray]:
    S = np.zeros((NROWS, n), np.int32)
    meta = np.zeros(NMETA, np.int64)
    return S, meta


def board_inputs(board) -> Position:
    """The :class:`Position` of a Board."""
    n = board.n
    last, last2 = board.last_moves
    last = last if 0 <= last < n else -1
    last2 = last2 if 0 <= last2 < n else -1
    capt = board.captured_by_last_move() if last >= 0 else np.zeros(0, np.int32)
    return Position(board.stones.astype(np.int8), int(board.ko), int(last), int(last2), capt)


# --------------------------------------------------------------------- cells read off the state
@njit(cache=True, inline="always")
def cell(S, q):
    """3-bit state of point q (absolute colours): 0 empty, 1 off-board, else ``stone_cell``."""
    if q < 0:
        return 1
    c = S[COL, q]
    if c == 0:
        return 0
    return stone_cell(c, S[LIBS, S[HEAD, q]])


@njit(cache=True, inline="always")
def code3(S, nbr8, q):
    code = 0
    for k in range(8):
        code |= cell(S, nbr8[q, k]) << (3 * k)
    return code


@njit(cache=True, inline="always")
def diamond_cells(S, nbr12, q, c, out):
    """The 12 diamond cells around q from mover ``c``'s side (Black's cells = the mover's)."""
    for i in range(12):
        st = cell(S, nbr12[q, i])
        if c == 2:
            st = swap_cell(st)
        out[i] = st


# --------------------------------------------------------------------- building the state
@inner_kernel
def new_stamp(meta, which, S, row):
    """A fresh stamp from counter ``meta[which]`` for the marks in ``S[row]``."""
    meta[which] += 1
    if meta[which] > 2_000_000_000:
        for q in range(S.shape[1]):
            S[row, q] = 0
        meta[which] = 1
    return meta[which]


@inner_kernel
def _atari_add(S, meta, ci, h):
    k = meta[M_ATARI + ci]
    S[ALIST + ci, k] = h
    S[AIDX, h] = k
    meta[M_ATARI + ci] = k + 1


@inner_kernel
def _atari_remove(S, meta, ci, h):
    k = meta[M_ATARI + ci] - 1
    i = S[AIDX, h]
    last = S[ALIST + ci, k]
    S[ALIST + ci, i] = last
    S[AIDX, last] = i
    meta[M_ATARI + ci] = k


@njit(cache=True)
def init_state(S, meta, stones, nbr, nbr8, ko, last, last2):
    """Build the state from scratch for ``stones`` (int8, 0/1/2)."""
    n = stones.shape[0]
    for p in range(n):
        S[COL, p] = stones[p]
        S[HEAD, p] = -1
        S[NEXT, p] = p
        S[LIBS, p] = 0
        S[SIZE, p] = 0
        S[MARK, p] = 0
        S[DMARK, p] = 0
    meta[M_STAMP] = 0
    meta[M_DSTAMP] = 0
    col = S[COL]
    mark = S[MARK]
    stones_of = S[TREP]
    no_libs = S[TOLD, :0]
    for p0 in range(n):
        if S[COL, p0] == 0 or S[HEAD, p0] >= 0:
            continue
        # the string's stones, linked into a circular list headed by p0
        st = new_stamp(meta, M_STAMP, S, MARK)
        size, nl = flood_string(col, nbr, p0, mark, st, stones_of, 0, no_libs, 0, n + 1)
        S[HEAD, p0] = p0
        S[NEXT, p0] = p0
        for i in range(1, size):
            q = stones_of[i]
            S[HEAD, q] = p0
            S[NEXT, q] = S[NEXT, p0]
            S[NEXT, p0] = q
        S[SIZE, p0] = size
        S[LIBS, p0] = nl
    meta[M_ATARI] = 0
    meta[M_ATARI + 1] = 0
    for p in range(n):
        S[CODE, p] = code3(S, nbr8, p) if S[COL, p] == 0 else 0
        if S[COL, p] != 0 and S[HEAD, p] == p and S[LIBS, p] == 1:
            _atari_add(S, meta, S[COL, p] - 1, p)
    meta[M_KO] = ko
    meta[M_LAST] = last
    meta[M_LAST2] = last2
    meta[M_NCAPT] = 0


@njit(cache=True)
def set_captures(S, meta, capt):
    for i in range(capt.shape[0]):
        S[CAPT, i] = capt[i]
    meta[M_NCAPT] = capt.shape[0]


@inner_kernel
def count_libs(S, meta, nbr, h):
    """Exact liberty count of the string headed by h."""
    st = new_stamp(meta, M_STAMP, S, MARK)
    nl = 0
    x = h
    while True:
        for k in range(4):
            q = nbr[x, k]
            if q >= 0 and S[COL, q] == 0 and S[MARK, q] != st:
                S[MARK, q] = st
                nl += 1
        x = S[NEXT, x]
        if x == h:
            break
    return nl


# --------------------------------------------------------------------- moves
@njit(cache=True)
def play_pass(meta):
    meta[M_LAST2] = meta[M_LAST]
    meta[M_LAST] = -1
    meta[M_KO] = -1
    meta[M_NCAPT] = 0


@njit(cache=True)
def play(S, meta, nbr, nbr8, p, c, dirty):
    """Play a legal move of colour c at p. Updates strings, liberties, ko, captures (row CAPT,
    count meta[M_NCAPT]) and the 3x3 codes; returns the number of "dirty" points (listed in
    ``dirty``): those whose 3x3 code or occupancy may have changed.

    The strings whose liberties change are listed as they were ("touched": old head in row
    TREP, old capped liberty count in row TOLD) for the atari lists and the dirty points."""
    nt = _take_liberty(S, nbr, p)
    S[COL, p] = c
    S[HEAD, p] = p
    S[NEXT, p] = p
    S[SIZE, p] = 1
    S[LIBS, p] = 0
    ncap = _capture(S, 3 - c, nt)
    nt = _free_liberties(S, nbr, p, c, ncap, nt)
    hm = _merge(S, nbr, p, c)
    S[LIBS, hm] = count_libs(S, meta, nbr, hm)
    _update_atari_lists(S, meta, c, hm, nt)
    # ko: one stone captured by a lone stone left with one liberty
    ko = -1
    if ncap == 1 and S[SIZE, hm] == 1 and S[LIBS, hm] == 1:
        ko = S[CAPT, 0]
    meta[M_KO] = ko
    meta[M_LAST2] = meta[M_LAST]
    meta[M_LAST] = p
    meta[M_NCAPT] = ncap
    nd = _mark_dirty(S, meta, nbr8, p, ncap, nt, dirty)
    _recode(S, nbr8, dirty, nd)
    return nd


@inner_kernel
def _take_liberty(S, nbr, p):
    """The strings touching p lose the liberty p (each once); lists them as touched."""
    col = S[COL]
    head = S[HEAD]
    libs = S[LIBS]
    trep = S[TREP]
    told = S[TOLD]
    nt = 0
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and col[q] != 0:
            h = head[q]
            dup = False
            for t in range(nt):
                if trep[t] == h:
                    dup = True
            if not dup:
                trep[nt] = h
                told[nt] = min(libs[h], 3)
                nt += 1
                libs[h] -= 1
    return nt


@inner_kernel
def _capture(S, opp, nt):
    """Remove the touched strings of ``opp`` left without liberties, listing their stones in
    row CAPT; returns how many."""
    col = S[COL]
    head = S[HEAD]
    nxt = S[NEXT]
    libs = S[LIBS]
    capt = S[CAPT]
    trep = S[TREP]
    ncap = 0
    for t in range(nt):
        h = trep[t]
        if col[h] == opp and libs[h] == 0:
            first = ncap
            x = h
            while True:
                capt[ncap] = x
                ncap += 1
                x = nxt[x]
                if x == h:
                    break
            for i in range(first, ncap):
                col[capt[i]] = 0
                head[capt[i]] = -1
    return ncap


@inner_kernel
def _free_liberties(S, nbr, p, c, ncap, nt):
    """Each captured stone is a liberty again for the strings of c next to it (each once);
    those strings join the touched list. Returns its new length."""
    col = S[COL]
    head = S[HEAD]
    libs = S[LIBS]
    capt = S[CAPT]
    trep = S[TREP]
    told = S[TOLD]
    for i in range(ncap):
        x = capt[i]
        for k in range(4):
            q = nbr[x, k]
            if q < 0 or col[q] != c:
                continue
            h = head[q]
            dup = False
            for k2 in range(k):
                q2 = nbr[x, k2]
                if q2 >= 0 and col[q2] == c and head[q2] == h:
                    dup = True
            if dup:
                continue
            if h != p:
                known = False
                for t in range(nt):
                    if trep[t] == h:
                        known = True
                if not known:
                    trep[nt] = h
                    told[nt] = min(libs[h], 3)
                    nt += 1
            libs[h] += 1
    return nt


@inner_kernel
def _merge(S, nbr, p, c):
    """Merge p with the mover's strings around it (the smaller string relabelled); returns
    the head of the string p is part of."""
    col = S[COL]
    head = S[HEAD]
    nxt = S[NEXT]
    size = S[SIZE]
    for k in range(4):
        q = nbr[p, k]
        if q < 0 or col[q] != c:
            continue
        h = head[q]
        hb = head[p]
        if h == hb:
            continue
        if size[h] > size[hb]:
            h, hb = hb, h
        x = h
        while True:
            head[x] = hb
            x = nxt[x]
            if x == h:
                break
        tmp = nxt[h]
        nxt[h] = nxt[hb]
        nxt[hb] = tmp
        size[hb] += size[h]
    return head[p]


@inner_kernel
def _update_atari_lists(S, meta, c, hm, nt):
    """The lists of strings in atari after a move: the touched strings had TOLD (capped)
    liberties under their old heads TREP, the strings they are part of now (and p's, headed
    by hm) have LIBS; every string whose count changed is among them. All the old heads leave
    the lists before any new one joins (a merge can make an old head the new one)."""
    opp = 3 - c
    for t in range(nt):
        if S[TOLD, t] == 1:
            r = S[TREP, t]
            _atari_remove(S, meta, (S[COL, r] if S[COL, r] != 0 else opp) - 1, r)
    ast = new_stamp(meta, M_STAMP, S, MARK)
    for t in range(nt):
        r = S[TREP, t]
        if S[COL, r] == 0:
            continue
        h = S[HEAD, r]
        if S[MARK, h] != ast:
            S[MARK, h] = ast
            if S[LIBS, h] == 1:
                _atari_add(S, meta, S[COL, r] - 1, h)
    if S[MARK, hm] != ast and S[LIBS, hm] == 1:
        _atari_add(S, meta, c - 1, hm)


@inner_kernel
def _mark_dirty(S, meta, nbr8, p, ncap, nt, dirty):
    """The dirty points of a move at p (listed in ``dirty``, each once): p and its 8
    neighbours, each captured stone and its neighbours, the empty 8-neighbours of the strings
    whose capped liberty count changed. Returns their count. (No helper taking arrays in the
    loops: see rollout.playout's note.)"""
    dst = new_stamp(meta, M_DSTAMP, S, DMARK)
    nd = 0
    for i in range(-1, ncap):
        x = p if i < 0 else S[CAPT, i]
        for k in range(-1, 8):
            q = x if k < 0 else nbr8[x, k]
            if q >= 0 and S[DMARK, q] != dst:
                S[DMARK, q] = dst
                dirty[nd] = q
                nd += 1
    wst = new_stamp(meta, M_STAMP, S, MARK)   # marks string heads already walked
    for t in range(nt):
        r = S[TREP, t]
        if S[COL, r] == 0:
            continue
        h = S[HEAD, r]
        if min(S[LIBS, h], 3) == S[TOLD, t] or S[MARK, h] == wst:
            continue
        S[MARK, h] = wst
        x = h
        while True:
            for k in range(8):
                q = nbr8[x, k]
                if q >= 0 and S[COL, q] == 0 and S[DMARK, q] != dst:
                    S[DMARK, q] = dst
                    dirty[nd] = q
                    nd += 1
            x = S[NEXT, x]
            if x == h:
                break
    return nd


@inner_kernel
def _recode(S, nbr8, dirty, nd):
    """The new 3x3 codes of the dirty points: code3 written out (see rollout.playout's note on
    inlined helpers)."""
    col = S[COL]
    head = S[HEAD]
    libs = S[LIBS]
    for i in range(nd):
        q = dirty[i]
        code = 0
        if col[q] == 0:
            for k in range(8):
                x = nbr8[q, k]
                st = 1
                if x >= 0:
                    cx = col[x]
                    st = 0 if cx == 0 else stone_cell(cx, libs[head[x]])
                code |= st << (3 * k)
        S[CODE, q] = code
