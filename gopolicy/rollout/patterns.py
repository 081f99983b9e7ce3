"""Incremental board state and the local-pattern features of AlphaGo's rollout and tree policies.

One numba state serves the rollouts, the trainer and the tree policy. It is a set of ``int32``
rows ``S[ROW, point]`` (colour, string head, circular next-stone list, exact liberty count and
size per string head, the 3x3 pattern code of every empty point, scratch marks, the points the
last move captured) and a few scalars in ``meta`` (ko point, last two moves, stamps). ``play``
updates strings and liberties exactly (liberties are counted, not pseudo-liberties) and
recomputes the 3x3 code only for the points whose neighbourhood changed, which it returns as
the "dirty" list so that a policy can refresh the weights of just those points.

Decisions the paper leaves open (Silver et al. 2016, Methods and Extended Data Table 4):

* **Cells.** A pattern cell is one of 8 states: empty, off-board, or a stone of the player to
  move / the opponent with 1, 2 or >= 3 liberties (3 bits). The 3x3 code is 8 cells = 24 bits.
* **Colour.** Patterns are read from the mover's side (a White-to-move pattern is colour-swapped
  before lookup), so one weight serves both colours.
* **Symmetry.** A pattern and its 7 rotations/reflections share one weight: the key is the
  smallest code over the 8 symmetries (for the 3x3 pattern through two 4096-entry tables, one
  for the orthogonal and one for the diagonal half, since every symmetry maps each half onto
  itself). The response pattern's key also holds the candidate's cell inside the diamond,
  mapped by the same minimising symmetry (the smallest cell index when several symmetries tie).
* **12-point diamond.** The cells at Manhattan distance 1 and 2 of the centre. The response
  pattern (around the previous move) also holds the liberties (1/2/3+) of the previous move's
  string; the tree policy's non-response diamond is centred on the candidate move (an empty
  point, nothing more to add).
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

from functools import lru_cache

import numpy as np
from numba import njit

from gopolicy._numba_cache import ensure_fresh

ensure_fresh()

# rows of the state array S (int32 [NROWS, n])
COL, HEAD, NEXT, LIBS, SIZE, MARK, DMARK, CODE, CAPT, TREP, TOLD, AIDX, ALIST, ALIST_W, NROWS = range(15)
# ALIST: the heads of the black strings in atari, in any order; ALIST_W = ALIST + 1: the white;
# AIDX[h]: h's index in its list (valid only while h heads a string in atari)
# meta (int64 [NMETA])
# M_ATARI + c - 1: how many strings of colour c have exactly one liberty (its list's length)
M_KO, M_LAST, M_LAST2, M_NCAPT, M_STAMP, M_DSTAMP = range(6)
M_ATARI, NMETA = 6, 8

# fixed feature slots; pattern slots follow from NFIX on
F_RESP, F_SAVE, F_NBR_ORTH, F_NBR_DIAG = 0, 1, 2, 3
F_NAKADE = 4            # + size - 3 for sizes 3..6
F_UNK3, F_UNKR, F_UNKD = 8, 9, 10
F_SELFATARI = 11        # tree only
F_DIST1 = 12            # 17 bins: distance to the previous move
F_DIST2 = 29            # 17 bins: distance to the move before it
NFIX = 46
FEATURE_NAMES = (["response", "save_atari", "neighbour_orth", "neighbour_diag"]
                 + [f"nakade_{k}" for k in range(3, 7)]
                 + ["unknown_3x3", "unknown_response", "unknown_diamond", "self_atari"]
                 + [f"dist_last_{d}" for d in range(1, 17)] + ["dist_last_17+"]
                 + [f"dist_last2_{d}" for d in range(1, 17)] + ["dist_last2_17+"])
assert len(FEATURE_NAMES) == NFIX

# pattern families (top bits of a key)
FAM3, FAMR, FAMD = 1, 2, 3
FAM_SHIFT = 56

# cell order: orthogonal first (3x3 and diamond), then the rest
OFF8 = ((1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (1, -1), (-1, -1), (-1, 1))
OFF12 = ((1, 0), (0, 1), (-1, 0), (0, -1), (2, 0), (0, 2), (-2, 0), (0, -2),
         (1, 1), (1, -1), (-1, -1), (-1, 1))


def _sym(s: int, dr: int, dc: int) -> tuple[int, int]:
    if s & 4:
        dr, dc = dc, dr
    for _ in range(s & 3):
        dr, dc = dc, -dr
    return dr, dc


@lru_cache(maxsize=None)
def sym_perms(offsets: tuple) -> tuple[np.ndarray, np.ndarray]:
    """``(perm, inv)``, int32 [8, k]: cell i of the pattern under symmetry s reads cell
    ``perm[s, i]`` of the original; original cell j lands on ``inv[s, j]``."""
    k = len(offsets)
    perm = np.empty((8, k), np.int32)
    inv = np.empty((8, k), np.int32)
    for s in range(8):
        for i, (dr, dc) in enumerate(offsets):
            j = offsets.index(_sym(s, dr, dc))
            perm[s, i] = j
            inv[s, j] = i
    return perm, inv


@lru_cache(maxsize=None)
def half_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t_orth, t_diag, swap)``: the 12-bit half codes of a 3x3 pattern under each symmetry,
    and the colour swap of a half code."""
    perm, _ = sym_perms(OFF8)
    codes = np.arange(4096)
    cells = np.stack([(codes >> (3 * i)) & 7 for i in range(4)], axis=1)
    # [half code, symmetry]: the 8 images of one half share a cache line
    t_o = np.zeros((4096, 8), np.int32)
    t_d = np.zeros((4096, 8), np.int32)
    for s in range(8):
        for i in range(4):
            t_o[:, s] |= (cells[:, perm[s, i]] << (3 * i)).astype(np.int32)
            t_d[:, s] |= (cells[:, perm[s, 4 + i] - 4] << (3 * i)).astype(np.int32)
    sw_cells = np.where(cells >= 5, cells - 3, np.where(cells >= 2, cells + 3, cells))
    swap = np.zeros(4096, np.int32)
    for i in range(4):
        swap |= sw_cells[:, i] << (3 * i)
    return t_o, t_d, swap


@lru_cache(maxsize=None)
def offset_table(size: int, offsets: tuple) -> np.ndarray:
    """``t[p, i]`` = the point at ``offsets[i]`` (d_row, d_col) from p, -1 off the board."""
    n = size * size
    t = np.full((n, len(offsets)), -1, np.int32)
    for p in range(n):
        r, c = divmod(p, size)
        for i, (dr, dc) in enumerate(offsets):
            rr, cc = r + dr, c + dc
            if 0 <= rr < size and 0 <= cc < size:
                t[p, i] = rr * size + cc
    return t        # writeable, like rules_kernels.neighbour_tables (why: see there)


class Tables:
    """Everything about a board size and the symmetries that the kernels read."""

    def __init__(self, size: int):
        from gopolicy.go.rules_kernels import neighbour_tables

        self.size = size
        self.n = size * size
        self.nbr, self.diag = neighbour_tables(size)
        self.nbr8 = offset_table(size, OFF8)
        self.nbr12 = offset_table(size, OFF12)
        self.t_o, self.t_d, self.swap = half_tables()
        self.p12, self.i12 = sym_perms(OFF12)


@lru_cache(maxsize=None)
def tables(size: int) -> Tables:
    return Tables(size)


def new_state(n: int) -> tuple[np.ndarray, np.ndarray]:
    S = np.zeros((NROWS, n), np.int32)
    meta = np.zeros(NMETA, np.int64)
    return S, meta


# --------------------------------------------------------------------- hashing
@njit(cache=True, inline="always")
def hash64(key):
    x = np.uint64(key)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    x = x ^ (x >> np.uint64(33))
    return x


@njit(cache=True, inline="always")
def table_find(keys, key):
    """Index of ``key`` in the open-addressing table ``keys`` (-1 = empty), or of the
    empty cell where it would go."""
    mask = np.uint64(keys.shape[0] - 1)
    i = np.int64(hash64(key) & mask)
    while keys[i] != key and keys[i] != -1:
        i = np.int64((np.uint64(i) + np.uint64(1)) & mask)
    return i


@njit(cache=True, inline="always")
def table_get(keys, vals, key, default):
    i = table_find(keys, key)
    if keys[i] == key:
        return vals[i]
    return default


def build_table(key_list: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open-addressing table (load <= 1/2) mapping ``key_list[i]`` to ``values[i]``."""
    cap = 1024
    while cap < 2 * len(key_list):
        cap *= 2
    keys = np.full(cap, -1, np.int64)
    vals = np.zeros(cap, np.int32)
    _fill_table(keys, vals, np.asarray(key_list, np.int64), np.asarray(values, np.int32))
    return keys, vals


@njit(cache=True)
def _fill_table(keys, vals, key_list, values):
    for j in range(key_list.shape[0]):
        i = table_find(keys, key_list[j])
        keys[i] = key_list[j]
        vals[i] = values[j]


# --------------------------------------------------------------------- cells and codes
@njit(cache=True, inline="always")
def stone_cell(c, libs):
    """3-bit state of a stone of colour c (1 black, 2 white) whose string has ``libs``
    liberties: 2..4 black with 1/2/3+ liberties, 5..7 white with 1/2/3+ liberties."""
    return 2 + (c - 1) * 3 + min(libs, 3) - 1


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
def key3(code, c, t_o, t_d, swap):
    """Canonical key of a 3x3 code for mover ``c`` (colour swap, then min over the symmetries)."""
    o = code & 0xFFF
    d = (code >> 12) & 0xFFF
    if c == 2:
        o = swap[o]
        d = swap[d]
    best = np.int64(1) << 40
    for s in range(8):
        v = np.int64(t_o[o, s]) | (np.int64(t_d[d, s]) << 12)
        if v < best:
            best = v
    return (np.int64(FAM3) << FAM_SHIFT) | best


@njit(cache=True, inline="always")
def code_valid(code, c):
    """True when mover ``c`` may play the centre of 3x3 ``code``: not suicide, not its own eye."""
    own_lo = 2 if c == 1 else 5
    opp_lo = 5 if c == 1 else 2
    breathes = False
    all_own = True
    for k in range(4):
        st = (code >> (3 * k)) & 7
        if st == 0:
            breathes = True
            all_own = False
        elif st == 1:
            pass
        elif own_lo <= st < own_lo + 3:
            if st > own_lo:         # own string with 2+ liberties: it keeps one
                breathes = True
        else:
            all_own = False
            if st == opp_lo:        # opponent string in atari: captured
                breathes = True
    if not breathes:
        return False
    if all_own:
        off = 0
        bad = 0
        for k in range(4, 8):
            st = (code >> (3 * k)) & 7
            if st == 1:
                off += 1
            elif opp_lo <= st < opp_lo + 3:
                bad += 1
        if (off > 0 and bad == 0) or (off == 0 and bad <= 1):
            return False
    return True


@njit(cache=True, inline="always")
def swap_cell(st):
    if st >= 5:
        return st - 3
    if st >= 2:
        return st + 3
    return st


@njit(cache=True, inline="always")
def diamond_cells(S, nbr12, q, c, out):
    """The 12 diamond cells around q from mover ``c``'s side (Black's cells = the mover's)."""
    for i in range(12):
        st = cell(S, nbr12[q, i])
        if c == 2:
            st = swap_cell(st)
        out[i] = st


@njit(cache=True, inline="always")
def diamond_raw(cells):
    """The 12 cells packed as read (3 bits each): the key of ``response_rows``."""
    code = np.int64(0)
    for i in range(12):
        code |= np.int64(cells[i]) << (3 * i)
    return code


_T_O, _T_D, _ = half_tables()   # numba freezes module-level arrays into the compiled code


@njit(cache=True, inline="always")
def diamond_canon(cells):
    """``(min code, bitmask of the symmetries reaching it)``. The diamond's three rings of 4
    (distance 1, distance 2 straight, diagonal) each map onto themselves like the 3x3 halves,
    so the 3x3 half tables give each ring's image: 3 lookups per symmetry (the tests check this
    against the cell permutations ``sym_perms(OFF12)``)."""
    o = cells[0] | (cells[1] << 3) | (cells[2] << 6) | (cells[3] << 9)
    m = cells[4] | (cells[5] << 3) | (cells[6] << 6) | (cells[7] << 9)
    d = cells[8] | (cells[9] << 3) | (cells[10] << 6) | (cells[11] << 9)
    best = np.int64(1) << 40
    mask = 0
    for s in range(8):
        v = np.int64(_T_O[o, s]) | (np.int64(_T_O[m, s]) << 12) | (np.int64(_T_D[d, s]) << 24)
        if v < best:
            best = v
            mask = 1 << s
        elif v == best:
            mask |= 1 << s
    return best, mask


@njit(cache=True, inline="always")
def response_key(code, mask, centre_libs, j, inv):
    pos = 99
    for s in range(8):
        if mask & (1 << s) and inv[s, j] < pos:
            pos = inv[s, j]
    return ((np.int64(FAMR) << FAM_SHIFT) | code | (np.int64(pos) << 36)
            | (np.int64(centre_libs) << 40))


def response_rows(keys: np.ndarray, vals: np.ndarray):
    """The response patterns regrouped for the rollout kernel: one row per diamond as read
    from the board (not canonicalised) and centre liberty count, holding the weight slot of
    each of its 12 cells.

    Returns ``(row_keys, row_vals, slots)``: an open-addressing table from
    ``raw code | libs << 40`` (``raw code`` = the 12 cells of ``diamond_cells``, 3 bits each)
    to a row of ``slots`` (int32 [rows + 1, 12]; the last row, for a diamond the table lacks,
    and any cell the table lacks are ``F_UNKR``). Every symmetric image of a known pattern gets
    its own row, with ``response_key``'s choice of cell position. Why: one probe per move and no
    canonicalisation (8 symmetries) in the kernel; the weights are identical."""
    live = keys != -1
    key, slot_of = keys[live], vals[live]
    resp = (key >> FAM_SHIFT) == FAMR
    key, slot_of = key[resp], slot_of[resp]
    code = key & ((np.int64(1) << 36) - 1)
    pos = (key >> 36) & 15
    cl = (key >> 40) & 3
    canon_key, row = np.unique(code | (cl << 40), return_inverse=True)
    canon_slots = np.full((len(canon_key), 12), F_UNKR, np.int32)
    canon_slots[row, pos] = slot_of
    # every image of each canonical diamond, its canonical form and symmetry mask recomputed
    # exactly as diamond_canon does
    shifts = 3 * np.arange(12, dtype=np.int64)
    cells = (canon_key[:, None] >> shifts) & 7                       # [rows, 12]
    perm, inv = sym_perms(OFF12)
    t_o, t_d, _ = half_tables()
    raw_keys, raw_slots = [], []
    for s in range(8):
        img = cells[:, perm[s]]                                       # [rows, 12]
        o, m, d = ((img[:, 4 * r:4 * r + 4] << shifts[:4]).sum(1) for r in range(3))
        images = np.stack([t_o[o, g].astype(np.int64) | (t_o[m, g].astype(np.int64) << 12)
                           | (t_d[d, g].astype(np.int64) << 24) for g in range(8)], axis=1)
        best = images.min(1)
        assert np.array_equal(best, canon_key & ((np.int64(1) << 36) - 1))
        pos_of = np.full((len(img), 12), 99, np.int64)                # response_key's position
        for g in range(8):
            pos_of = np.where((images[:, g] == best)[:, None], np.minimum(pos_of, inv[g]), pos_of)
        raw_keys.append((img << shifts).sum(1) | (canon_key >> 40 << 40))
        raw_slots.append(np.take_along_axis(canon_slots, pos_of, axis=1))
    raw_key, first = np.unique(np.concatenate(raw_keys), return_index=True)
    slots = np.concatenate(raw_slots)[first]
    slots = np.concatenate([slots, np.full((1, 12), F_UNKR, np.int32)]).astype(np.int32)
    row_keys, row_vals = build_table(raw_key, np.arange(len(raw_key), dtype=np.int32))
    return row_keys, row_vals, slots


def raw3_table(keys: np.ndarray, vals: np.ndarray, ew: np.ndarray) -> np.ndarray:
    """The 3x3 weights regrouped for the rollout kernel: ``exp(weight)`` keyed by the 3x3 code
    as read for Black to move (White's code is colour-swapped first, as ``key3`` does).

    Returns ``table``: int32 [cap, 2], row = (code, float32 bits of the weight), code -1 for an
    empty row; ``raw3_get`` reads it. Every symmetric image of each known pattern gets its own
    row. Why: no canonicalisation (8 symmetries, 16 lookups) for each dirty point, and one probe
    into one cache line of a table that fits a core's L2 cache (8 bytes a row: with int64 rows
    the probe's cache misses cost more than the canonicalisation saved). The weights are
    float32 (relative error 6e-8 against the float64 exp), so draws match ``key3``'s only
    statistically."""
    live = keys != -1
    key, slot_of = keys[live], vals[live]
    fam3 = (key >> FAM_SHIFT) == FAM3
    o, d = key[fam3] & 0xFFF, (key[fam3] >> 12) & 0xFFF
    t_o, t_d, _ = half_tables()
    # the images of the canonical code under the 8 symmetries are its whole orbit
    raw = (t_o[o].astype(np.int64) | (t_d[d].astype(np.int64) << 12)).ravel()
    wts = np.repeat(ew[slot_of[fam3]].astype(np.float32), 8)
    raw, first = np.unique(raw, return_index=True)
    cap = 1024
    while cap < 1.25 * len(raw):    # load <= 0.8: short probes, and 2^17 rows = 1 MB
        cap *= 2
    table = np.full((cap, 2), -1, np.int32)
    _fill_raw3(table, table.view(np.float32), raw, wts[first])
    return table


@njit(cache=True, inline="always")
def raw3_hash(code, mask):
    """Multiplicative hash of a 24-bit code (bits 24 and up of the product mix all of it)."""
    return ((code * 0x9E3779B1) >> 24) & mask


@njit(cache=True, inline="always")
def _raw3_find(table, code):
    mask = table.shape[0] - 1
    i = raw3_hash(code, mask)
    while table[i, 0] != code and table[i, 0] != -1:
        i = (i + 1) & mask
    return i


@njit(cache=True)
def _fill_raw3(table, wts, raw, w):
    for j in range(raw.shape[0]):
        i = _raw3_find(table, raw[j])
        table[i, 0] = raw[j]
        wts[i, 1] = w[j]


@njit(cache=True, inline="always")
def raw3_get(table, wts, code, c, swap, default):
    """exp(weight) of 3x3 ``code`` for mover ``c`` from ``raw3_table`` (``wts`` = its float32
    view), ``default`` for a pattern the table lacks."""
    if c == 2:
        code = swap[code & 0xFFF] | (swap[(code >> 12) & 0xFFF] << 12)
    i = _raw3_find(table, np.int64(code))
    if table[i, 0] == code:
        return wts[i, 1]
    return default


# --------------------------------------------------------------------- state updates
@njit(cache=True, inline="always")
def _stamp(meta, which, row):
    meta[which] += 1
    if meta[which] > 2_000_000_000:
        row[:] = 0
        meta[which] = 1
    return meta[which]


@njit(cache=True, inline="always")
def _atari_add(S, meta, ci, h):
    k = meta[M_ATARI + ci]
    S[ALIST + ci, k] = h
    S[AIDX, h] = k
    meta[M_ATARI + ci] = k + 1


@njit(cache=True, inline="always")
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
    for p0 in range(n):
        if S[COL, p0] == 0 or S[HEAD, p0] >= 0:
            continue
        c = S[COL, p0]
        # flood fill, linking stones into a circular list headed by p0
        S[HEAD, p0] = p0
        S[NEXT, p0] = p0
        stack = S[TREP]
        stack[0] = p0
        top = 1
        cnt = 1
        while top > 0:
            top -= 1
            p = stack[top]
            for k in range(4):
                q = nbr[p, k]
                if q >= 0 and S[COL, q] == c and S[HEAD, q] < 0:
                    S[HEAD, q] = p0
                    S[NEXT, q] = S[NEXT, p0]
                    S[NEXT, p0] = q
                    stack[top] = q
                    top += 1
                    cnt += 1
        S[SIZE, p0] = cnt
        S[LIBS, p0] = count_libs(S, meta, nbr, p0)
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
def count_libs(S, meta, nbr, h):
    """Exact liberty count of the string headed by h."""
    st = _stamp(meta, M_STAMP, S[MARK])
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


@njit(cache=True, inline="always")
def _dirty_add(S, q, dst, dirty, nd):
    if q >= 0 and S[DMARK, q] != dst:
        S[DMARK, q] = dst
        dirty[nd] = q
        nd += 1
    return nd


@njit(cache=True, inline="always")
def _dirty_around(S, nbr8, q, dst, dirty, nd):
    nd = _dirty_add(S, q, dst, dirty, nd)
    for k in range(8):
        nd = _dirty_add(S, nbr8[q, k], dst, dirty, nd)
    return nd


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
    ``dirty``): those whose 3x3 code or occupancy may have changed."""
    col = S[COL]
    head = S[HEAD]
    nxt = S[NEXT]
    libs = S[LIBS]
    size = S[SIZE]
    capt = S[CAPT]
    trep = S[TREP]
    told = S[TOLD]
    opp = 3 - c
    # 1. strings touching p lose the liberty p (each once)
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
    col[p] = c
    head[p] = p
    nxt[p] = p
    size[p] = 1
    libs[p] = 0
    # 2. captures
    ncap = 0
    nt0 = nt
    for t in range(nt0):
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
    # 3. merge p with the mover's strings around it (smaller string relabelled)
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
    hm = head[p]
    libs[hm] = count_libs(S, meta, nbr, hm)
    # strings in atari: the touched strings had told[t] (capped) liberties under their old
    # heads trep[t], the strings they are part of now (and p's) have libs[]; every string whose
    # count changed is among them. All the old heads leave the lists before any new one joins
    # (a merge can make an old head the new one).
    for t in range(nt):
        if told[t] == 1:
            r = trep[t]
            _atari_remove(S, meta, (col[r] if col[r] != 0 else opp) - 1, r)
    ast = _stamp(meta, M_STAMP, S[MARK])
    for t in range(nt):
        r = trep[t]
        if col[r] != 0 and S[MARK, head[r]] != ast:
            S[MARK, head[r]] = ast
            if libs[head[r]] == 1:
                _atari_add(S, meta, col[r] - 1, head[r])
    if S[MARK, hm] != ast and libs[hm] == 1:
        _atari_add(S, meta, c - 1, hm)
    # 4. ko: one stone captured by a lone stone left with one liberty
    ko = -1
    if ncap == 1 and size[hm] == 1 and libs[hm] == 1:
        ko = capt[0]
    meta[M_KO] = ko
    meta[M_LAST2] = meta[M_LAST]
    meta[M_LAST] = p
    meta[M_NCAPT] = ncap
    # 5. dirty points: around p, around captured stones, around strings whose capped
    # liberty count changed
    dst = _stamp(meta, M_DSTAMP, S[DMARK])
    nd = _dirty_around(S, nbr8, p, dst, dirty, 0)
    for i in range(ncap):
        nd = _dirty_around(S, nbr8, capt[i], dst, dirty, nd)
    wst = _stamp(meta, M_STAMP, S[MARK])   # marks string heads already walked
    for t in range(nt):
        r = trep[t]
        if col[r] == 0:
            continue
        h = head[r]
        if min(libs[h], 3) == told[t] or S[MARK, h] == wst:
            continue
        S[MARK, h] = wst
        x = h
        while True:
            for k in range(8):
                q = nbr8[x, k]
                if q >= 0 and col[q] == 0:
                    nd = _dirty_add(S, q, dst, dirty, nd)
            x = nxt[x]
            if x == h:
                break
    # the new 3x3 codes: code3 written out (see rollout.playout's note on inlined helpers)
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
    return nd


# --------------------------------------------------------------------- move features
@njit(cache=True)
def libs_after(S, meta, nbr, x, c, cap):
    """Liberties (counted up to ``cap``) of the string that mover ``c`` makes at empty x,
    captures included: empty points and captured stones next to x or to the strings it joins."""
    opp = 3 - c
    col = S[COL]
    head = S[HEAD]
    libs = S[LIBS]
    nxt = S[NEXT]
    mark = S[MARK]
    caps = S[TOLD]          # scratch: heads of the strings x captures (at most 4)
    st = _stamp(meta, M_STAMP, mark)
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
def _ext_add(ext_pt, ext_f, ext_key, ne, q, f, key):
    ext_pt[ne] = q
    ext_f[ne] = f
    ext_key[ne] = key
    return ne + 1


@njit(cache=True)
def extras(S, meta, nbr, nbr12, p12, i12, keys, vals, c, val, ext_pt, ext_f, ext_key, cells):
    """The features that depend on more than the candidate's 3x3 pattern, for mover c, as
    (point, feature slot, pattern key or 0) triples: response, response pattern, neighbour,
    save-atari, nakade. Only candidate points get entries. Returns the count."""
    ne = 0
    last = meta[M_LAST]
    if last >= 0 and S[COL, last] != 0:
        diamond_cells(S, nbr12, last, c, cells)
        code, mask = diamond_canon(cells)
        cl = min(S[LIBS, S[HEAD, last]], 3)
        for j in range(12):
            q = nbr12[last, j]
            if not is_candidate(val, meta, q, c):
                continue
            key = response_key(code, mask, cl, j, i12)
            ne = _ext_add(ext_pt, ext_f, ext_key, ne, q, F_RESP, 0)
            ne = _ext_add(ext_pt, ext_f, ext_key, ne, q, table_get(keys, vals, key, F_UNKR), key)
            if j < 4:
                ne = _ext_add(ext_pt, ext_f, ext_key, ne, q, F_NBR_ORTH, 0)
            elif j >= 8:
                ne = _ext_add(ext_pt, ext_f, ext_key, ne, q, F_NBR_DIAG, 0)
    # save-atari: the liberty of one of the mover's strings in atari, if the move rescues it
    nsv = save_atari_points(S, meta, nbr, c, val, ext_pt[ne:])
    for i in range(nsv):
        ext_f[ne + i] = F_SAVE
        ext_key[ne + i] = 0
    ne += nsv
    v = nakade_point(S, meta, nbr)
    if is_candidate(val, meta, v, c):
        ne = _ext_add(ext_pt, ext_f, ext_key, ne, v, F_NAKADE + meta[M_NCAPT] - 3, 0)
    return ne


@njit(cache=True)
def tree_features(S, meta, nbr, nbr12, p12, keys, vals, size, q, c, cells, out_f, out_key):
    """The tree policy's own features of candidate q: self-atari, distance to the previous two
    moves, the 12-point diamond around q. Returns the count written to out_f/out_key."""
    nf = 0
    if libs_after(S, meta, nbr, q, c, 2) == 1:
        out_f[nf] = F_SELFATARI
        out_key[nf] = 0
        nf += 1
    r, cc = q // size, q % size
    for which in range(2):
        m = meta[M_LAST] if which == 0 else meta[M_LAST2]
        if m < 0:
            continue
        d = abs(m // size - r) + abs(m % size - cc)
        d = min(max(d, 1), 17)   # 0: the move before last was captured on q
        out_f[nf] = (F_DIST1 if which == 0 else F_DIST2) + d - 1
        out_key[nf] = 0
        nf += 1
    diamond_cells(S, nbr12, q, c, cells)
    code, _ = diamond_canon(cells)
    key = (np.int64(FAMD) << FAM_SHIFT) | code
    out_f[nf] = table_get(keys, vals, key, F_UNKD)
    out_key[nf] = key
    return nf + 1


@njit(cache=True)
def refresh_points(S, meta, pts, npts, c_only, t_o, t_d, swap, keys, vals, val, k3, sl3, with_keys):
    """Recompute candidate flag (and with ``with_keys`` the 3x3 key and slot) of points
    ``pts[:npts]`` for both colours (``c_only`` = 0) or one."""
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
                k3[ci, q] = 0
                sl3[ci, q] = F_UNK3
                continue
            k = key3(code, c, t_o, t_d, swap)
            k3[ci, q] = k
            sl3[ci, q] = table_get(keys, vals, k, F_UNK3)


MAXF = 12   # features per candidate: 3x3, response x3, save, nakade, self-atari, 2 distances, diamond


@njit(cache=True)
def position_features(S, meta, nbr, nbr12, p12, i12, keys, vals, size, c, tree, val, sl3, k3,
                      cand, cidx, feats, fkeys, nf, ext_pt, ext_f, ext_key, cells, tf, tk):
    """All candidates of mover c and their features (``feats[i, :nf[i]]``, pattern keys in
    ``fkeys``, 0 for fixed features). ``val``/``sl3``/``k3`` must be fresh for c. ``cidx[q]``
    = candidate index of q or -1. Returns the number of candidates."""
    ci = c - 1
    n = S.shape[1]
    ko = meta[M_KO]
    ncand = 0
    for q in range(n):
        cidx[q] = -1
        if val[ci, q] and q != ko:
            cand[ncand] = q
            cidx[q] = ncand
            feats[ncand, 0] = sl3[ci, q]
            fkeys[ncand, 0] = k3[ci, q]
            nf[ncand] = 1
            ncand += 1
    ne = extras(S, meta, nbr, nbr12, p12, i12, keys, vals, c, val, ext_pt, ext_f, ext_key, cells)
    for i in range(ne):
        j = cidx[ext_pt[i]]
        if j >= 0:
            feats[j, nf[j]] = ext_f[i]
            fkeys[j, nf[j]] = ext_key[i]
            nf[j] += 1
    if tree:
        for j in range(ncand):
            m = tree_features(S, meta, nbr, nbr12, p12, keys, vals, size, cand[j], c, cells, tf, tk)
            for i in range(m):
                feats[j, nf[j]] = tf[i]
                fkeys[j, nf[j]] = tk[i]
                nf[j] += 1
    return ncand


class Scratch:
    """Per-thread work arrays for :func:`position_features` on an n-point board."""

    def __init__(self, n: int):
        self.S, self.meta = new_state(n)
        self.val = np.zeros((2, n), np.uint8)
        self.k3 = np.zeros((2, n), np.int64)
        self.sl3 = np.zeros((2, n), np.int32)
        self.cand = np.empty(n, np.int32)
        self.cidx = np.empty(n, np.int32)
        self.feats = np.zeros((n, MAXF), np.int32)
        self.fkeys = np.zeros((n, MAXF), np.int64)
        self.nf = np.zeros(n, np.int32)
        self.ext_pt = np.empty(4 * n + 64, np.int32)
        self.ext_f = np.empty(4 * n + 64, np.int32)
        self.ext_key = np.empty(4 * n + 64, np.int64)
        self.cells = np.empty(12, np.int32)
        self.tf = np.empty(8, np.int32)
        self.tk = np.empty(8, np.int64)
        self.dirty = np.empty(n, np.int32)
        self.allpts = np.arange(n, dtype=np.int32)


@njit(cache=True)
def set_captures(S, meta, capt):
    for i in range(capt.shape[0]):
        S[CAPT, i] = capt[i]
    meta[M_NCAPT] = capt.shape[0]


@njit(cache=True)
def scores_from_scratch(stones, ko, last, last2, capt, c, size, nbr, nbr8, nbr12, p12, i12,
                        t_o, t_d, swap, keys, vals, w, tree, S, meta, val, k3, sl3, cand, cidx,
                        feats, fkeys, nf, ext_pt, ext_f, ext_key, cells, tf, tk, allpts, out):
    """Softmax probabilities of mover c's candidates into ``out`` (n + 1, pass last: 1 when
    there is no candidate)."""
    n = stones.shape[0]
    init_state(S, meta, stones, nbr, nbr8, ko, last, last2)
    set_captures(S, meta, capt)
    refresh_points(S, meta, allpts, n, c, t_o, t_d, swap, keys, vals, val, k3, sl3, True)
    ncand = position_features(S, meta, nbr, nbr12, p12, i12, keys, vals, size, c, tree, val,
                              sl3, k3, cand, cidx, feats, fkeys, nf, ext_pt, ext_f, ext_key,
                              cells, tf, tk)
    for q in range(n + 1):
        out[q] = 0.0
    if ncand == 0:
        out[n] = 1.0
        return
    sc = np.empty(ncand, np.float64)
    mx = -1e300
    for j in range(ncand):
        s = 0.0
        for i in range(nf[j]):
            s += w[feats[j, i]]
        sc[j] = s
        if s > mx:
            mx = s
    tot = 0.0
    for j in range(ncand):
        sc[j] = np.exp(sc[j] - mx)
        tot += sc[j]
    for j in range(ncand):
        out[cand[j]] = sc[j] / tot
