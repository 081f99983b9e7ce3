"""Numba kernels for the rules of Go: strings, liberties, captures, move analysis.

Everything here works on flat ``int8`` boards (0 empty, 1 black, 2 white) and a
neighbour table ``nbr[p] = (up to 4 neighbours, -1 padded)``, so one
implementation serves the Python :class:`gopolicy.go.board.Board`, the feature
planes and the ladder reader. numba (rather than numpy) because these are
flood fills and per-point loops: numpy cannot vectorise them, and the feature
planes must reach thousands of positions per second per core.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from gopolicy.numba_cache import ensure_fresh

ensure_fresh()

EMPTY, BLACK, WHITE = 0, 1, 2


def inner_kernel(func):
    """``njit`` for a kernel that only other kernels call: numba then compiles no Python and no
    C wrapper for it (measured: a third to a half of a small kernel's compile time, which the
    split into named steps multiplied); Python cannot call it."""
    return njit(cache=True, no_cpython_wrapper=True, no_cfunc_wrapper=True)(func)


@lru_cache(maxsize=None)
def neighbour_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(nbr, diag)``: orthogonal and diagonal neighbours of each point, -1 padded."""
    n = size * size
    nbr = np.full((n, 4), -1, dtype=np.int32)
    diag = np.full((n, 4), -1, dtype=np.int32)
    for p in range(n):
        r, c = divmod(p, size)
        for k, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
            rr, cc = r + dr, c + dc
            if 0 <= rr < size and 0 <= cc < size:
                nbr[p, k] = rr * size + cc
        for k, (dr, dc) in enumerate(((-1, -1), (-1, 1), (1, -1), (1, 1))):
            rr, cc = r + dr, c + dc
            if 0 <= rr < size and 0 <= cc < size:
                diag[p, k] = rr * size + cc
    # Shared by every board, yet left writeable: numba types a read-only array
    # differently, and with read-only tables its kernels ran two search threads one
    # at a time (1,613 uniform playouts/s, CPU/wall 1.00; writeable: 3,114/s, 2.0)
    # and compiled a second copy of every kernel that also saw writeable arrays.
    return nbr, diag


@njit(cache=True, inline="always")
def flood_string(stones, nbr, p0, mark, stamp, points, top, libs, nlib, max_libs):
    """The string of stones at p0 and its liberties: the one flood fill of every kernel.

    A depth-first walk: its stack grows down from the end of ``points`` while the stones it
    has taken off the stack are appended from index ``top`` on (p0 first), so ``points``
    needs room for the string after ``top``. Each liberty is appended once to ``libs`` from
    index ``nlib`` on while it has room, and every point reached gets ``mark[q] = stamp``
    (``mark`` must hold no ``stamp`` on the string or its liberties beforehand). The walk
    stops as soon as ``max_libs`` liberties are found (the stones listed are then those
    taken off the stack so far). Returns the two lists' new ends ``(top, nlib)``.
    """
    col = stones[p0]
    mark[p0] = stamp
    sp = points.shape[0] - 1
    points[sp] = p0
    nl = 0
    while sp < points.shape[0]:
        p = points[sp]
        sp += 1
        points[top] = p
        top += 1
        for k in range(4):
            q = nbr[p, k]
            if q < 0 or mark[q] == stamp:
                continue
            if stones[q] == col:
                mark[q] = stamp
                sp -= 1
                points[sp] = q
            elif stones[q] == EMPTY:
                mark[q] = stamp
                if nlib + nl < libs.shape[0]:
                    libs[nlib + nl] = q
                nl += 1
                if nl >= max_libs:
                    return top, nlib + nl
    return top, nlib + nl


@njit(cache=True)
def label_strings(stones, nbr, sid, size_of, libs_of, order, start, lib_list, lib_start):
    """Label every string of stones; fill per-string size, liberty count and lists.

    sid[p]: string id of the stone at p (-1 if empty). Stones of string s are
    ``order[start[s]:start[s+1]]``, its liberties ``lib_list[lib_start[s]:lib_start[s+1]]``.
    Returns the number of strings.
    """
    n = stones.shape[0]
    for p in range(n):
        sid[p] = -1
    stamp = np.full(n, -1, np.int32)
    ns = 0
    top = 0
    nlib = 0
    for p0 in range(n):
        if stones[p0] == EMPTY or sid[p0] >= 0:
            continue
        start[ns] = top
        lib_start[ns] = nlib
        top, nlib = flood_string(stones, nbr, p0, stamp, ns, order, top, lib_list, nlib, n + 1)
        for i in range(start[ns], top):
            sid[order[i]] = ns
        size_of[ns] = top - start[ns]
        libs_of[ns] = nlib - lib_start[ns]
        ns += 1
    start[ns] = top
    lib_start[ns] = nlib
    return ns


class Strings:
    """Scratch arrays for :func:`label_strings` (allocated once per board size)."""

    def __init__(self, n: int):
        self.sid = np.empty(n, np.int32)
        self.size_of = np.empty(n + 1, np.int32)
        self.libs_of = np.empty(n + 1, np.int32)
        self.order = np.empty(n, np.int32)
        self.start = np.empty(n + 1, np.int32)
        self.lib_list = np.empty(4 * n, np.int32)
        self.lib_start = np.empty(n + 1, np.int32)

    def label(self, stones, nbr) -> int:
        return label_strings(stones, nbr, self.sid, self.size_of, self.libs_of,
                             self.order, self.start, self.lib_list, self.lib_start)


@njit(cache=True)
def analyze_moves(stones, nbr, ko, color, sid, size_of, libs_of, order, start,
                  lib_list, lib_start, legal, capture, libs_after, size_after):
    """For every empty point, what a move of ``color`` there would do.

    Needs the string labels of :func:`label_strings`. Fills, per point:
    legal (empty, not suicide, not the simple-ko point), stones captured,
    liberties of the new string after captures, and its size. Non-empty points
    get legal=0 and zeros.
    """
    n = stones.shape[0]
    mark = np.full(n, -1, np.int32)
    friend = np.empty(4, np.int32)
    caps = np.empty(4, np.int32)
    for p in range(n):     # the steps are inlined: as calls they doubled the time
        legal[p] = 0
        capture[p] = 0
        libs_after[p] = 0
        size_after[p] = 0
        if stones[p] != EMPTY:
            continue
        nf, nc = _neighbour_strings(stones, nbr, sid, libs_of, p, color, friend, caps)
        # Liberties of the merged string, counted once each via mark[] == p.
        nl, sz = _merged_liberties(stones, nbr, size_of, lib_list, lib_start, p, friend, nf,
                                   mark)
        ncap, nl = _freed_liberties(stones, nbr, sid, size_of, order, start, p, color,
                                    friend, nf, caps, nc, mark, nl)
        capture[p] = ncap
        libs_after[p] = nl
        size_after[p] = sz
        if nl > 0 and p != ko:
            legal[p] = 1


@njit(cache=True, inline="always")
def _neighbour_strings(stones, nbr, sid, libs_of, p, color, friend, caps):
    """The ids of ``color``'s strings next to p (``friend``) and of the opponent's strings
    next to p in atari (``caps``), each once. Returns their counts."""
    opp = 3 - color
    nf = 0
    nc = 0
    for k in range(4):
        q = nbr[p, k]
        if q < 0 or stones[q] == EMPTY:
            continue
        s = sid[q]
        if stones[q] == color:
            dup = False
            for i in range(nf):
                if friend[i] == s:
                    dup = True
            if not dup:
                friend[nf] = s
                nf += 1
        elif stones[q] == opp and libs_of[s] == 1:
            dup = False
            for i in range(nc):
                if caps[i] == s:
                    dup = True
            if not dup:
                caps[nc] = s
                nc += 1
    return nf, nc


@njit(cache=True, inline="always")
def _merged_liberties(stones, nbr, size_of, lib_list, lib_start, p, friend, nf, mark):
    """``(liberties, size)`` of the string a stone at p makes with its ``friend`` strings,
    before captures; the liberties get ``mark[] = p``."""
    mark[p] = p
    nl = 0
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and stones[q] == EMPTY and mark[q] != p:
            mark[q] = p
            nl += 1
    sz = 1
    for i in range(nf):
        s = friend[i]
        sz += size_of[s]
        for j in range(lib_start[s], lib_start[s + 1]):
            q = lib_list[j]
            if mark[q] != p:
                mark[q] = p
                nl += 1
    return nl, sz


@njit(cache=True, inline="always")
def _freed_liberties(stones, nbr, sid, size_of, order, start, p, color, friend, nf, caps, nc,
                     mark, nl):
    """``(stones captured, liberties)``: the strings ``caps`` a stone at p captures, and the
    liberty count ``nl`` plus the captured stones that touch the new string."""
    ncap = 0
    for i in range(nc):
        s = caps[i]
        ncap += size_of[s]
        # A captured stone becomes a liberty if it touches the new string.
        for j in range(start[s], start[s + 1]):
            x = order[j]
            for k in range(4):
                y = nbr[x, k]
                if y < 0:
                    continue
                touches = y == p
                if not touches and stones[y] == color:
                    for f in range(nf):
                        if sid[y] == friend[f]:
                            touches = True
                if touches:
                    if mark[x] != p:
                        mark[x] = p
                        nl += 1
                    break
    return ncap, nl


@njit(cache=True)
def string_liberties(stones, nbr, p0, max_libs, libs_out):
    """Flood-fill the string at p0; store up to ``max_libs`` liberties, return the count (capped)."""
    n = stones.shape[0]
    seen = np.zeros(n, np.uint8)
    stack = np.empty(n, np.int32)
    return flood_string(stones, nbr, p0, seen, 1, stack, 0, libs_out, 0, max_libs)[1]


@njit(cache=True)
def remove_string(stones, nbr, p0, removed, nremoved):
    """Empty the string at p0, appending its points to ``removed``; returns the new count."""
    col = stones[p0]
    stones[p0] = EMPTY
    removed[nremoved] = p0
    head = nremoved
    nremoved += 1
    while head < nremoved:
        p = removed[head]
        head += 1
        for k in range(4):
            q = nbr[p, k]
            if q >= 0 and stones[q] == col:
                stones[q] = EMPTY
                removed[nremoved] = q
                nremoved += 1
    return nremoved


@njit(cache=True)
def play_stone(stones, nbr, p, color, removed):
    """Play ``color`` at empty point p in place, removing captured strings.

    Returns the number of captured stones (listed in ``removed``), or -1 for a
    suicide, in which case the board is restored unchanged. Ko is the caller's
    business.
    """
    opp = 3 - color
    stones[p] = color
    libs = np.empty(1, np.int32)
    ncap = 0
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and stones[q] == opp:
            if string_liberties(stones, nbr, q, 1, libs) == 0:
                ncap = remove_string(stones, nbr, q, removed, ncap)
    if ncap == 0 and string_liberties(stones, nbr, p, 1, libs) == 0:
        stones[p] = EMPTY
        return -1
    return ncap


@njit(cache=True)
def is_eye(stones, nbr, diag, p, color):
    """AlphaGo's eye: every orthogonal neighbour is ``color``'s stone and of the
    diagonal points at most one is the opponent's (none when p is on the edge)."""
    if stones[p] != EMPTY:
        return False
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and stones[q] != color:
            return False
    ndiag = 0
    bad = 0
    for k in range(4):
        q = diag[p, k]
        if q >= 0:
            ndiag += 1
            if stones[q] == 3 - color:
                bad += 1
    if ndiag < 4:
        return bad == 0
    return bad <= 1


@njit(cache=True)
def area_count(stones, nbr, own, touched, region, stack, pts):
    """Tromp-Taylor area of ``stones``: returns Black's area minus White's (no komi).

    Adds +1 (Black) / -1 (White) to ``own`` for every stone and every empty point
    of a region that reaches one colour only, and sets ``touched[q] = 1`` for the
    stones next to a region that reaches both (dame; around living stones, seki).
    ``region``, ``stack``, ``pts`` are scratch arrays of length n. The one count
    behind :meth:`Board.area`, the scoring playouts and the rollouts."""
    n = stones.shape[0]
    sc = 0
    for p in range(n):
        region[p] = -1
        s = stones[p]
        if s == 1:
            own[p] += 1
            sc += 1
        elif s == 2:
            own[p] -= 1
            sc -= 1
    for p0 in range(n):
        if stones[p0] != 0 or region[p0] >= 0:
            continue
        npts, touches = _empty_region(stones, nbr, p0, region, stack, pts)
        if touches == 1 or touches == 2:
            sgn = 1 if touches == 1 else -1
            for i in range(npts):
                own[pts[i]] += sgn
            sc += sgn * npts
        elif touches == 3:
            for i in range(npts):
                for j in range(4):
                    q = nbr[pts[i], j]
                    if q >= 0 and stones[q] != 0:
                        touched[q] = 1
    return sc


@inner_kernel
def _empty_region(stones, nbr, p0, region, stack, pts):
    """The empty region of p0 into ``pts`` (``region[q] = p0``); returns its size and the
    colours it reaches (bit 1 Black, bit 2 White)."""
    region[p0] = p0
    stack[0] = p0
    top = 1
    npts = 0
    touches = 0
    while top > 0:
        top -= 1
        p = stack[top]
        pts[npts] = p
        npts += 1
        for j in range(4):
            q = nbr[p, j]
            if q < 0:
                continue
            if stones[q] == 0:
                if region[q] < 0:
                    region[q] = p0
                    stack[top] = q
                    top += 1
            else:
                touches |= stones[q]
    return npts, touches
