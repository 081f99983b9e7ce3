"""Reading ladders (shicho) for feature planes 44 (ladder capture) and 45 (escape).

Definition used (documented in the README):

* The *defender* owns a string in atari and is to move. Its options are
  (a) capture an adjacent attacking string that is itself in atari (this is how
  a counter-atari on the chasing stones breaks a ladder), or (b) extend on its
  last liberty. After either, 0-1 liberties: captured; 3 or more: escaped;
  exactly 2: the attacker reads on.
* The *attacker*, facing a string with exactly 2 liberties, tries an atari on
  each liberty (legal moves only); the ladder works if some atari leaves a
  position where every defender option fails.
* A ladder breaker (a defender stone on the ladder's path) shows up naturally:
  extending into it gives 3+ liberties.
* Limits: at most ``MAX_DEPTH`` plies and ``NODE_BUDGET`` positions per read;
  hitting either counts as "not captured" (a ladder that long is not a ladder).
* Order: where a read has a choice, moves are tried in a canonical order
  (``canonical_rank``: point indices on the board's canonical orientation), so
  even a read cut by its budget gives the same answer on all 8 symmetric
  versions of a position, and the planes stay equivariant.
  Ko is ignored inside the reading.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from gopolicy.go.rules_kernels import EMPTY, flood_string, inner_kernel, play_stone, string_liberties

MAX_DEPTH = 100   # plies: a ladder across a 19x19 board takes ~60
NODE_BUDGET = 300     # positions per read; a real ladder to the edge needs ~120


@njit(cache=True)
def canonical_rank(stones, zob, maps):
    """rank[p]: p's index on the canonical orientation of the board, the one of
    the 8 symmetric versions (``maps[s][p]`` = image of p) whose hash is lowest."""
    n = stones.shape[0]
    best = 0
    best_h = np.uint64(0)
    for s in range(maps.shape[0]):
        h = np.uint64(0)
        for p in range(n):
            if stones[p] != EMPTY:
                h ^= zob[stones[p], maps[s, p]]
        if s == 0 or h < best_h:
            best_h = h
            best = s
    return maps[best].copy()


@inner_kernel
def _sort_by_rank(moves, nm, rank):
    """Insertion-sort moves[:nm] by rank (nm <= 17)."""
    for i in range(1, nm):
        m = moves[i]
        j = i - 1
        while j >= 0 and rank[moves[j]] > rank[m]:
            moves[j + 1] = moves[j]
            j -= 1
        moves[j + 1] = m


@inner_kernel
def _atari_captures(stones, nbr, d, out):
    """Liberties of attacking strings in atari that touch the defender string at d."""
    n = stones.shape[0]
    opp = 3 - stones[d]
    # mark: 1 for the defender string and its liberties, 2, 3, ... for each attacking string;
    # pts: the defender's stones, then those of the attacking string being read
    mark = np.zeros(n, np.int32)
    pts = np.empty(n, np.int32)
    lib = np.empty(1, np.int32)
    size = flood_string(stones, nbr, d, mark, 1, pts, 0, lib[:0], 0, n + 1)[0]
    stamp = 1
    nout = 0
    for i in range(size):
        for k in range(4):
            q = nbr[pts[i], k]
            if q < 0 or stones[q] != opp or mark[q] != 0:
                continue
            stamp += 1      # each attacking string is read once
            if flood_string(stones, nbr, q, mark, stamp, pts, size, lib, 0, n + 1)[1] == 1:
                dup = False
                for j in range(nout):
                    if out[j] == lib[0]:
                        dup = True
                if not dup and nout < out.shape[0]:
                    out[nout] = lib[0]
                    nout += 1
    return nout


@inner_kernel
def _expand(boards, nbr, rank, depth, d, attacker_node, moves, nmoves):
    """Classify the options at ``boards[depth]``.

    Returns 1 (captured) or 0 (escaped) when the node is decided without
    reading deeper, else -1 with the moves that need reading in
    ``moves[depth, :nmoves[depth]]``.
    """
    stones = boards[depth]
    n = stones.shape[0]
    defender = stones[d]
    attacker = 3 - defender
    libs = np.empty(3, np.int32)
    tmp = np.empty(3, np.int32)
    removed = np.empty(n, np.int32)
    b = np.empty(n, np.int8)
    nl = string_liberties(stones, nbr, d, 3, libs)
    nm = 0
    if attacker_node:
        if nl != 2:
            return 1 if nl < 2 else 0
        for i in range(2):
            b[:] = stones
            if play_stone(b, nbr, libs[i], attacker, removed) < 0:
                continue
            if b[d] == EMPTY:
                return 1
            if string_liberties(b, nbr, d, 3, tmp) == 1:
                moves[depth, nm] = libs[i]
                nm += 1
        _sort_by_rank(moves[depth], nm, rank)
        nmoves[depth] = nm
        return -1 if nm > 0 else 0
    if nl != 1:
        return 1 if nl == 0 else 0
    # Defender: extend (tried first: it settles most reads at once), or
    # capture a chasing string in atari.
    b[:] = stones
    if play_stone(b, nbr, libs[0], defender, removed) >= 0:
        nl2 = string_liberties(b, nbr, d, 3, tmp)
        if nl2 >= 3:
            return 0
        if nl2 == 2:
            moves[depth, nm] = libs[0]
            nm += 1
    cands = np.empty(16, np.int32)
    nc = _atari_captures(stones, nbr, d, cands)
    for i in range(nc):
        b[:] = stones
        if play_stone(b, nbr, cands[i], defender, removed) < 0:
            continue
        nl2 = string_liberties(b, nbr, d, 3, tmp)
        if nl2 >= 3:
            return 0
        if nl2 == 2:
            moves[depth, nm] = cands[i]
            nm += 1
    _sort_by_rank(moves[depth], nm, rank)
    nmoves[depth] = nm
    return -1 if nm > 0 else 1


@inner_kernel
def _ladder_search(stones, nbr, rank, d, attacker_to_move, budget):
    """True if the string at ``d`` is captured by ladder.

    attacker_to_move=False: the string is in atari and its owner moves;
    True: the string has exactly 2 liberties and the attacker moves.
    ``budget`` is a 1-element array of positions left to read. An AND/OR
    search with an explicit stack (numba cannot cache recursive functions):
    a defender node is lost when every option is lost, an attacker node wins
    when some atari wins.
    """
    n = stones.shape[0]
    budget[0] -= 1
    # Most reads are settled at the root: decide those before allocating the stack.
    root_moves = np.empty((1, 17), np.int32)
    root_nm = np.zeros(1, np.int32)
    v = _expand(stones.reshape((1, n)), nbr, rank, 0, d, attacker_to_move, root_moves, root_nm)
    if v >= 0:
        return v == 1
    boards = np.empty((MAX_DEPTH + 1, n), np.int8)
    moves = np.empty((MAX_DEPTH + 1, 17), np.int32)
    nmoves = np.zeros(MAX_DEPTH + 1, np.int32)
    nxt = np.zeros(MAX_DEPTH + 1, np.int32)
    attacker = np.zeros(MAX_DEPTH + 1, np.bool_)
    removed = np.empty(n, np.int32)
    boards[0, :] = stones
    attacker[0] = attacker_to_move
    moves[0, :] = root_moves[0]
    nmoves[0] = root_nm[0]
    depth = 0
    while True:
        if nxt[depth] >= nmoves[depth]:
            # Exhausted: a defender had no saving option; an attacker no winning atari.
            v = 1 if not attacker[depth] else 0
        else:
            m = moves[depth, nxt[depth]]
            nxt[depth] += 1
            if depth + 1 > MAX_DEPTH or budget[0] <= 0:
                v = 0  # too long to be a ladder
            else:
                budget[0] -= 1
                boards[depth + 1, :] = boards[depth]
                mover = 3 - boards[depth, d] if attacker[depth] else boards[depth, d]
                play_stone(boards[depth + 1], nbr, m, mover, removed)
                attacker[depth + 1] = not attacker[depth]
                nxt[depth + 1] = 0
                v = _expand(boards, nbr, rank, depth + 1, d, attacker[depth + 1], moves, nmoves)
                if v < 0:
                    depth += 1
                    continue
            # v is the child's value: decide the parent now if it can be decided.
            if attacker[depth] and v == 1:
                pass
            elif (not attacker[depth]) and v == 0:
                pass
            else:
                continue
        # Node at `depth` has value v: return it to its parent.
        while True:
            if depth == 0:
                return v == 1
            depth -= 1
            if attacker[depth] and v == 1:
                continue
            if (not attacker[depth]) and v == 0:
                continue
            break


@njit(cache=True)
def ladder_read(stones, nbr, rank, d, attacker_to_move):
    """True if the string at ``d`` is captured by ladder (see :func:`_ladder_search`)."""
    budget = np.empty(1, np.int64)
    budget[0] = NODE_BUDGET
    return _ladder_search(stones, nbr, rank, d, attacker_to_move, budget)


@njit(cache=True)
def ladder_capture_move(stones, nbr, rank, p, color):
    """Is ``color`` at p a successful ladder capture? (p legal, empty.)

    The move must put an adjacent opponent string into atari (it had 2
    liberties) and that string must then be lost to the ladder.
    """
    n = stones.shape[0]
    opp = 3 - color
    lib = np.empty(3, np.int32)
    targets = np.empty(4, np.int32)
    nt = 0
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and stones[q] == opp and string_liberties(stones, nbr, q, 3, lib) == 2:
            targets[nt] = q
            nt += 1
    if nt == 0:
        return False
    b = stones.copy()
    removed = np.empty(n, np.int32)
    if play_stone(b, nbr, p, color, removed) < 0:
        return False
    for i in range(nt):
        q = targets[i]
        if b[q] != opp or string_liberties(b, nbr, q, 3, lib) != 1:
            continue
        # Extending onto a point with 3 empty neighbours always gives 3+
        # liberties: no ladder, no need to read.
        free = 0
        for k in range(4):
            x = nbr[lib[0], k]
            if x >= 0 and b[x] == EMPTY:
                free += 1
        if free >= 3:
            continue
        if ladder_read(b, nbr, rank, q, False):
            return True
    return False


@njit(cache=True)
def ladder_escape_move(stones, nbr, rank, p, color):
    """Is ``color`` at p a successful ladder escape?

    p must be the last liberty of one of ``color``'s strings in atari; after
    extending there the string has 3+ liberties, or 2 that no ladder can take.
    """
    n = stones.shape[0]
    lib = np.empty(3, np.int32)
    in_atari = False
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and stones[q] == color and string_liberties(stones, nbr, q, 2, lib) == 1:
            in_atari = True
    if not in_atari:
        return False
    b = stones.copy()
    removed = np.empty(n, np.int32)
    if play_stone(b, nbr, p, color, removed) < 0:
        return False
    nl = string_liberties(b, nbr, p, 3, lib)
    if nl >= 3:
        return True
    if nl <= 1:
        return False
    return not ladder_read(b, nbr, rank, p, True)
