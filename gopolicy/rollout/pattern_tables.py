"""The pattern side of the rollout and tree policies: the weight vector's layout, symmetry
tables, hash tables and the 3-bit cells and codes that patterns are made of.

Decisions the paper leaves open (Silver et al. 2016, Methods and Extended Data Table 4), as
far as patterns go (the features: :mod:`gopolicy.rollout.move_features`):

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

A policy's weights are ``NFIX`` fixed features followed by one weight per known pattern; a
:class:`PatternTable` (open addressing) maps a pattern key (family in the top bits) to its
weight slot. :func:`response_rows` and :func:`raw3_table` regroup the table for the rollout
kernel, which reads patterns as they stand on the board instead of canonicalising them.
"""
from __future__ import annotations

from collections import namedtuple
from functools import lru_cache

import numpy as np
from numba import njit

from gopolicy.go.rules_kernels import neighbour_tables
from gopolicy.numba_cache import ensure_fresh

ensure_fresh()

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


Halves = namedtuple("Halves", "t_o t_d swap")


@lru_cache(maxsize=None)
def half_tables() -> Halves:
    """``(t_o, t_d, swap)``: the 12-bit half codes (orthogonal, diagonal) of a 3x3 pattern
    under each symmetry, and the colour swap of a half code."""
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
    return Halves(t_o, t_d, swap)


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



Tables = namedtuple("Tables", "size nbr nbr8 nbr12 p12 i12 halves")
Tables.__doc__ = """Everything about a board size and the symmetries that the kernels read: the
orthogonal, 8- and 12-point neighbour tables (-1 off the board), the diamond's symmetry
permutations ``(p12, i12)`` of :func:`sym_perms` and the 3x3 :class:`Halves` of
:func:`half_tables`."""


@lru_cache(maxsize=None)
def tables(size: int) -> Tables:
    nbr, _ = neighbour_tables(size)
    p12, i12 = sym_perms(OFF12)
    return Tables(size, nbr, offset_table(size, OFF8), offset_table(size, OFF12), p12, i12,
                  half_tables())


PatternTable = namedtuple("PatternTable", "keys vals")
PatternTable.__doc__ = """An open-addressing hash table from pattern key to weight slot:
``keys`` int64 (-1 = empty cell), ``vals`` int32 (see :func:`build_table`)."""


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


def build_table(key_list: np.ndarray, values: np.ndarray) -> PatternTable:
    """Open-addressing table (load <= 1/2) mapping ``key_list[i]`` to ``values[i]``."""
    cap = 1024
    while cap < 2 * len(key_list):
        cap *= 2
    keys = np.full(cap, -1, np.int64)
    vals = np.zeros(cap, np.int32)
    _fill_table(keys, vals, np.asarray(key_list, np.int64), np.asarray(values, np.int32))
    return PatternTable(keys, vals)


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
