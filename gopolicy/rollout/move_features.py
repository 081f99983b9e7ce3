"""The move features of AlphaGo's rollout and tree policies, read off the incremental state.

Decisions the paper leaves open (Silver et al. 2016, Methods and Extended Data Table 4), as
far as features go (the patterns themselves: :mod:`gopolicy.rollout.pattern_tables`):

* **Rare patterns.** The weights file holds only patterns seen at least ``min_count`` times
  among the candidate moves of the training positions; any other pattern gets its family's
  "unknown pattern" weight, which is trained like the others (the table is fixed before SGD).
* **Neighbour.** The paper's 8 "8-connected to the previous move" features collapse under the
  symmetries to 2: orthogonal and diagonal neighbour.
* **Nakade.** When the previous move captured 3..6 stones, the captured point with the most
  orthogonal neighbours inside the captured region, if exactly one point has the most, is the
  vital point (straight/bent three, pyramid four, bulky/crossed five, rabbity six: the classic
  nakade shapes; square four and straight four have no such point). Playing it fires one
  feature per region size (4 features instead of the paper's 8192 hashed shapes).
* **Save-atari.** The move is the liberty of one of the mover's strings in atari and the string
  it makes has >= 2 liberties afterwards (captures counted exactly).
* **Self-atari (tree).** The string the move makes has exactly one liberty afterwards.
* **Distance (tree).** Manhattan distance 1..16, 17+ to the previous move and, separately, to the
  move before it: 17 + 17 = 34 features, as in the paper.
* **Candidates.** Empty points that are neither suicide nor the ko point nor the mover's own
  eye (AlphaGo's eye, as in ``rules_kernels.is_eye``): the policy never fills its own eye. The
  3x3 code alone decides suicide and eye-filling, because it holds the liberty counts.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from gopolicy.go.rules_kernels import inner_kernel
from gopolicy.numba_cache import ensure_fresh
from gopolicy.rollout.incremental_board import (
    AIDX,
    ALIST,
    CAPT,
    CODE,
    COL,
    HEAD,
    LIBS,
    M_ATARI,
    M_KO,
    M_LAST,
    M_LAST2,
    M_NCAPT,
    M_STAMP,
    MARK,
    NEXT,
    TOLD,
    diamond_cells,
    new_stamp,
)
from gopolicy.rollout.pattern_tables import (
    F_DIST1,
    F_DIST2,
    F_NAKADE,
    F_NBR_DIAG,
    F_NBR_ORTH,
    F_RESP,
    F_SAVE,
    F_SELFATARI,
    F_UNK3,
    F_UNKD,
    F_UNKR,
    FAM_SHIFT,
    FAMD,
    code_valid,
    diamond_canon,
    key3,
    response_key,
    table_get,
)

ensure_fresh()

MAXF = 12   # features per candidate: 3x3, response x3, save, nakade, self-atari, 2 distances, diamond

PointPatterns = namedtuple("PointPatterns", "val k3 sl3")
PointPatterns.__doc__ = """Per colour and point (``[2, n]``), kept beside the state:
``val`` 1 when the point is a candidate for that colour, ``k3`` the key of its 3x3 pattern
and ``sl3`` that pattern's weight slot."""

Features = namedtuple("Features", "cand cidx feats fkeys nf ext_pt ext_f ext_key cells")
Features.__doc__ = """The candidates of a position and their features, with the work arrays
that :func:`position_features` fills them through: candidate ``j`` is point ``cand[j]``
(``cidx[q]`` = j, -1 for a point that is none) with ``nf[j]`` feature slots ``feats[j]`` and
their pattern keys ``fkeys[j]`` (0 for a fixed feature)."""


@njit(cache=True)
def new_point_patterns(n):
    return PointPatterns(np.zeros((2, n), np.uint8), np.zeros((2, n), np.int64),
                         np.zeros((2, n), np.int32))


@njit(cache=True)
def new_features(n):
    """:class:`Features` arrays for an n-point board."""
    m = 4 * n + 64
    return Features(np.empty(n, np.int32), np.empty(n, np.int32), np.zeros((n, MAXF), np.int32),
                    np.zeros((n, MAXF), np.int64), np.zeros(n, np.int32), np.empty(m, np.int32),
                    np.empty(m, np.int32), np.empty(m, np.int64), np.empty(12, np.int32))


@njit(cache=True)
def libs_after(S, meta, nbr, x, c, cap):  # noqa: C901  (written out for speed, see below)
    """Liberties (counted up to ``cap``) of the string that mover ``c`` makes at empty x,
    captures included: empty points and captured stones next to x or to the strings it joins.
    One function, written out: it runs for every save-atari point of a rollout move and every
    candidate of the tree policy, and a helper taking arrays costs numba refcounts there."""
    opp = 3 - c
    col = S[COL]
    head = S[HEAD]
    libs = S[LIBS]
    nxt = S[NEXT]
    mark = S[MARK]
    caps = S[TOLD]          # scratch: heads of the strings x captures (at most 4)
    st = new_stamp(meta, M_STAMP, S, MARK)
    mark[x] = st
    ncs = 0
    nl = 0
    for k in range(4):
        q = nbr[x, k]
        if q < 0:
            continue
        if col[q] == 0:
            if mark[q] != st:
                mark[q] = st
                nl += 1
        elif col[q] == opp and libs[head[q]] == 1:
            caps[ncs] = head[q]
            ncs += 1
            if mark[q] != st:
                mark[q] = st
                nl += 1
    if nl >= cap:
        return nl
    for k in range(4):
        q = nbr[x, k]
        if q < 0 or col[q] != c:
            continue
        h = head[q]
        if mark[h] == st:     # own stones are never liberties: the mark means "walked"
            continue
        mark[h] = st
        y = h
        while True:
            for k2 in range(4):
                z = nbr[y, k2]
                if z < 0 or mark[z] == st:
                    continue
                if col[z] == 0:
                    mark[z] = st
                    nl += 1
                elif col[z] == opp:
                    hz = head[z]
                    for i in range(ncs):
                        if caps[i] == hz:
                            mark[z] = st
                            nl += 1
                            break
            if nl >= cap:
                return nl
            y = nxt[y]
            if y == h:
                break
    return nl


@njit(cache=True)
def nakade_point(S, meta, nbr):
    """The vital point of the region the previous move captured (3..6 stones), or -1."""
    ncap = meta[M_NCAPT]
    if ncap < 3 or ncap > 6:
        return -1
    capt = S[CAPT]
    best = -1
    bestc = -1
    tie = False
    for i in range(ncap):
        x = capt[i]
        cnt = 0
        for k in range(4):
            q = nbr[x, k]
            if q >= 0:
                for j in range(ncap):
                    if capt[j] == q:
                        cnt += 1
        if cnt > bestc:
            bestc = cnt
            best = x
            tie = False
        elif cnt == bestc:
            tie = True
    return -1 if tie else best


@njit(cache=True, inline="always")
def is_candidate(val, meta, q, c):
    """q is a move mover c may play (``val`` fresh for c): not suicide, ko or own eye."""
    return q >= 0 and val[c - 1, q] != 0 and q != meta[M_KO]


@njit(cache=True, inline="always")
def _save_point(S, meta, nbr, c, val, h, out, nout):
    """Add the liberty of c's string in atari headed by h to ``out`` if playing it rescues
    the string (the string it makes has >= 2 liberties); returns the new count."""
    x = -1
    y = h
    while x < 0:
        for k in range(4):
            z = nbr[y, k]
            if z >= 0 and S[COL, z] == 0:
                x = z
        y = S[NEXT, y]
    if not is_candidate(val, meta, x, c):
        return nout
    for i in range(nout):
        if out[i] == x:
            return nout
    if libs_after(S, meta, nbr, x, c, 2) >= 2:
        out[nout] = x
        nout += 1
    return nout


@njit(cache=True)
def save_atari_points(S, meta, nbr, c, val, out):
    """Candidates that rescue one of mover c's strings in atari (the string they make has >= 2
    liberties), each once, into ``out``; returns the count. The strings come from the list
    ``play`` keeps (no board scan: the scan was a tenth of a rollout's time), sorted in place
    into board order first, so the points come in the order a scan of the board gives."""
    k = meta[M_ATARI + c - 1]
    row = ALIST + c - 1
    for i in range(1, k):         # insertion sort: k is a handful
        h = S[row, i]
        j = i
        while j > 0 and S[row, j - 1] > h:
            S[row, j] = S[row, j - 1]
            S[AIDX, S[row, j]] = j
            j -= 1
        S[row, j] = h
        S[AIDX, h] = j
    nout = 0
    for i in range(k):
        nout = _save_point(S, meta, nbr, c, val, S[row, i], out, nout)
    return nout


@njit(cache=True, inline="always")
def _ext_add(fx, ne, q, f, key):
    fx.ext_pt[ne] = q
    fx.ext_f[ne] = f
    fx.ext_key[ne] = key
    return ne + 1


@njit(cache=True)
def extras(S, meta, t, table, c, val, fx):
    """The features that depend on more than the candidate's 3x3 pattern, for mover c, as
    (point, feature slot, pattern key or 0) triples in ``fx.ext_pt/ext_f/ext_key``: response,
    response pattern, neighbour, save-atari, nakade. Only candidate points get entries.
    Returns the count."""
    ne = 0
    last = meta[M_LAST]
    if last >= 0 and S[COL, last] != 0:
        diamond_cells(S, t.nbr12, last, c, fx.cells)
        code, mask = diamond_canon(fx.cells)
        cl = min(S[LIBS, S[HEAD, last]], 3)
        for j in range(12):
            q = t.nbr12[last, j]
            if not is_candidate(val, meta, q, c):
                continue
            key = response_key(code, mask, cl, j, t.i12)
            ne = _ext_add(fx, ne, q, F_RESP, 0)
            ne = _ext_add(fx, ne, q, table_get(table.keys, table.vals, key, F_UNKR), key)
            if j < 4:
                ne = _ext_add(fx, ne, q, F_NBR_ORTH, 0)
            elif j >= 8:
                ne = _ext_add(fx, ne, q, F_NBR_DIAG, 0)
    # save-atari: the liberty of one of the mover's strings in atari, if the move rescues it
    nsv = save_atari_points(S, meta, t.nbr, c, val, fx.ext_pt[ne:])
    for i in range(nsv):
        fx.ext_f[ne + i] = F_SAVE
        fx.ext_key[ne + i] = 0
    ne += nsv
    v = nakade_point(S, meta, t.nbr)
    if is_candidate(val, meta, v, c):
        ne = _ext_add(fx, ne, v, F_NAKADE + meta[M_NCAPT] - 3, 0)
    return ne


@inner_kernel
def tree_features(S, meta, t, table, c, fx):
    """Add the tree policy's own features to each candidate of ``fx`` (those ``cidx`` lists,
    in board order): self-atari, distance to the previous two moves, the 12-point diamond
    around it."""
    nbr, nbr12, size = t.nbr, t.nbr12, t.size
    keys, vals = table
    cidx, feats, fkeys, nf, cells = fx.cidx, fx.feats, fx.fkeys, fx.nf, fx.cells
    for q in range(S.shape[1]):
        j = cidx[q]
        if j < 0:
            continue
        if libs_after(S, meta, nbr, q, c, 2) == 1:
            feats[j, nf[j]] = F_SELFATARI
            fkeys[j, nf[j]] = 0
            nf[j] += 1
        r, cc = q // size, q % size
        for which in range(2):
            m = meta[M_LAST] if which == 0 else meta[M_LAST2]
            if m < 0:
                continue
            d = abs(m // size - r) + abs(m % size - cc)
            d = min(max(d, 1), 17)   # 0: the move before last was captured on q
            feats[j, nf[j]] = (F_DIST1 if which == 0 else F_DIST2) + d - 1
            fkeys[j, nf[j]] = 0
            nf[j] += 1
        diamond_cells(S, nbr12, q, c, cells)
        code, _ = diamond_canon(cells)
        key = (np.int64(FAMD) << FAM_SHIFT) | code
        feats[j, nf[j]] = table_get(keys, vals, key, F_UNKD)
        fkeys[j, nf[j]] = key
        nf[j] += 1


@njit(cache=True)
def refresh_points(S, meta, pts, npts, c_only, halves, table, pp, with_keys):
    """Recompute the candidate flag (and with ``with_keys`` the 3x3 key and slot) in ``pp`` of
    points ``pts[:npts]`` for both colours (``c_only`` = 0) or one; ``halves``: the
    :class:`Halves` tables."""
    val = pp.val
    for i in range(npts):
        q = pts[i]
        for ci in range(2):
            c = ci + 1
            if c_only != 0 and c != c_only:
                continue
            if S[COL, q] != 0:
                val[ci, q] = 0
                continue
            code = S[CODE, q]
            ok = code_valid(code, c)
            val[ci, q] = 1 if ok else 0
            if not with_keys:
                continue
            if not ok:
                pp.k3[ci, q] = 0
                pp.sl3[ci, q] = F_UNK3
                continue
            k = key3(code, c, halves.t_o, halves.t_d, halves.swap)
            pp.k3[ci, q] = k
            pp.sl3[ci, q] = table_get(table.keys, table.vals, k, F_UNK3)


@njit(cache=True)
def position_features(S, meta, t, table, c, tree, pp, fx):
    """All candidates of mover c and their features into ``fx`` (see :class:`Features`);
    ``pp`` must be fresh for c. Returns the number of candidates."""
    ci = c - 1
    n = S.shape[1]
    ko = meta[M_KO]
    cand = fx.cand
    cidx = fx.cidx
    feats = fx.feats
    fkeys = fx.fkeys
    nf = fx.nf
    ncand = 0
    for q in range(n):
        cidx[q] = -1
        if pp.val[ci, q] and q != ko:
            cand[ncand] = q
            cidx[q] = ncand
            feats[ncand, 0] = pp.sl3[ci, q]
            fkeys[ncand, 0] = pp.k3[ci, q]
            nf[ncand] = 1
            ncand += 1
    ne = extras(S, meta, t, table, c, pp.val, fx)
    for i in range(ne):
        j = cidx[fx.ext_pt[i]]
        if j >= 0:
            feats[j, nf[j]] = fx.ext_f[i]
            fkeys[j, nf[j]] = fx.ext_key[i]
            nf[j] += 1
    if tree:
        tree_features(S, meta, t, table, c, fx)
    return ncand
