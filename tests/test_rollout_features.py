"""The rollout/tree-policy features: the incremental state equals a state built from scratch
after long random games (captures, ko), the kernels agree with the Board's own rules, and each
feature fires on hand-drawn positions (symmetric patterns share a key, colour swap included)."""
from __future__ import annotations

import numpy as np
import pytest

from gopolicy.go import symmetry
from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.rollout import incremental_board as B
from gopolicy.rollout import move_features as F
from gopolicy.rollout import pattern_tables as P
from gopolicy.rollout.incremental_board import board_inputs
from gopolicy.rollout.model import RolloutPolicy, bundled_path
from gopolicy.rollout.playout import Rollouts
from gopolicy.rollout.tree_policy import TreePolicy

EMPTY_TABLE = P.build_table(np.zeros(0, np.int64), np.zeros(0, np.int32))


def state_of(board: Board):
    pos = board_inputs(board)
    t = P.tables(board.size)
    S, meta = B.new_state(board.n)
    B.init_state(S, meta, pos.stones, t.nbr, t.nbr8, pos.ko, pos.last, pos.last2)
    B.set_captures(S, meta, pos.capt)
    return S, meta


def refreshed(S, meta, size, table=EMPTY_TABLE):
    n = size * size
    pp = F.new_point_patterns(n)
    F.refresh_points(S, meta, np.arange(n, dtype=np.int32), n, 0, P.half_tables(), table, pp, True)
    return pp


def features_of(board: Board, tree: bool = True) -> dict[int, set[int]]:
    """{candidate point: set of fixed-feature ids} for the side to move (no pattern table)."""
    S, meta = state_of(board)
    pp = refreshed(S, meta, board.size)
    fx = F.new_features(board.n)
    nc = F.position_features(S, meta, P.tables(board.size), EMPTY_TABLE, board.to_move, tree, pp, fx)
    return {int(fx.cand[j]): set(int(f) for f in fx.feats[j, :fx.nf[j]]) for j in range(nc)}


def random_game_check(size: int, seed: int, moves: int):
    rng = np.random.default_rng(seed)
    t = P.tables(size)
    n = size * size
    b = Board(size)
    S, meta = B.new_state(n)
    B.init_state(S, meta, b.stones.astype(np.int8), t.nbr, t.nbr8, -1, -1, -1)
    pp = refreshed(S, meta, size)
    val, k3 = pp.val, pp.k3
    dirty = np.empty(n, np.int32)
    save = np.empty(n, np.int32)
    captures = kos = 0
    for _ in range(moves):
        legal = np.flatnonzero(b.legal_mask()[:n])
        # no eye filling, so that groups live, die and get captured as in real games
        legal = [int(p) for p in legal if not b.is_eye(int(p), b.to_move)]
        if not legal or rng.random() < 0.02:
            b.play(n)
            B.play_pass(meta)
            continue
        p = int(rng.choice(legal))
        c = b.to_move
        captures += b.play(p) > 0
        nd = B.play(S, meta, t.nbr, t.nbr8, p, c, dirty)
        F.refresh_points(S, meta, dirty, nd, 0, t.halves, EMPTY_TABLE, pp, True)
        kos += b.ko >= 0
        S2, meta2 = state_of(b)
        assert np.array_equal(S[B.COL], S2[B.COL])
        occ = S[B.COL] > 0
        libs = S[B.LIBS][np.maximum(S[B.HEAD], 0)]
        libs2 = S2[B.LIBS][np.maximum(S2[B.HEAD], 0)]
        assert np.array_equal(libs[occ], libs2[occ])
        # same partition into strings: heads map one-to-one
        pairs = set(zip(S[B.HEAD][occ].tolist(), S2[B.HEAD][occ].tolist()))
        assert len(pairs) == len(set(S[B.HEAD][occ].tolist())) == len(set(S2[B.HEAD][occ].tolist()))
        assert np.array_equal(S[B.SIZE][S[B.HEAD][occ]], S2[B.SIZE][S2[B.HEAD][occ]])
        assert np.array_equal(S[B.CODE][~occ], S2[B.CODE][~occ])
        assert meta[B.M_KO] == b.ko and meta[B.M_LAST] == p == meta2[B.M_LAST]
        assert meta[B.M_NCAPT] == meta2[B.M_NCAPT]
        assert np.array_equal(meta[B.M_ATARI:B.M_ATARI + 2], meta2[B.M_ATARI:B.M_ATARI + 2])
        pp2 = refreshed(S2, meta2, size)
        val2, k32 = pp2.val, pp2.k3
        assert np.array_equal(val, val2) and np.array_equal(k3[val > 0], k32[val2 > 0])
        for mover in (BLACK, WHITE):
            # the kept list of strings in atari = the heads found from scratch ...
            atari = (S2[B.COL] == mover) & (S2[B.HEAD] == np.arange(n)) & (S2[B.LIBS] == 1)
            kept = S[B.ALIST + mover - 1, :meta[B.M_ATARI + mover - 1]]
            assert sorted(kept.tolist()) == sorted(S[B.HEAD][S2[B.HEAD][atari]].tolist())
            assert np.array_equal(S[B.AIDX, kept], np.arange(len(kept)))
            # ... so the save-atari points are the Board's: the liberty of each string in
            # atari (strings in board order of their heads), when it is a candidate and
            # leaves the string it makes 2+ liberties
            an = b.analyze(mover)
            want = []
            for h in sorted(kept.tolist()):
                x = next(int(q) for q in b.nbr[np.flatnonzero(S[B.HEAD] == h)].ravel()
                         if q >= 0 and b.stones[q] == 0)
                if val[mover - 1, x] and x != b.ko and an.libs_after[x] >= 2 and x not in want:
                    want.append(x)
            k = F.save_atari_points(S, meta, t.nbr, mover, val, save)
            assert list(save[:k]) == want
            assert np.array_equal(S[B.AIDX, kept], np.arange(len(kept)))   # still, after sorting
    return captures, kos


@pytest.mark.parametrize("size,seed,moves", [(9, 0, 400), (9, 1, 400), (13, 7, 500), (19, 3, 700)])
def test_incremental_equals_scratch(size, seed, moves):
    captures, kos = random_game_check(size, seed, moves)
    assert captures > 10 and kos > 0        # the games did exercise captures and ko


def test_kernels_agree_with_board_rules():
    rng = np.random.default_rng(7)
    for game in range(4):
        b = Board(9)
        for _ in range(120):
            n = b.n
            S, meta = state_of(b)
            val = refreshed(S, meta, 9).val
            for c in (BLACK, WHITE):
                an = b.analyze(c)
                for q in range(n):
                    if b.stones[q]:
                        continue
                    legal = bool(an.legal[q]) or (q == b.ko and c == b.to_move)
                    assert bool(val[c - 1, q]) == (legal and not b.is_eye(q, c)), (q, c, str(b))
                    if legal:
                        assert F.libs_after(S, meta, P.tables(9).nbr, q, c, 99) == an.libs_after[q]
            legal = [int(p) for p in np.flatnonzero(b.legal_mask()[:n]) if not b.is_eye(int(p), b.to_move)]
            if not legal:
                break
            b.play(int(rng.choice(legal)))


# ------------------------------------------------------------------ hand-drawn positions
def pt(name: str, size: int) -> int:
    return from_gtp(name, size)


def key3_at(board: Board, p: int, c: int) -> int:
    S, meta = state_of(board)
    t = P.tables(board.size)
    return int(P.key3(S[B.CODE, p], c, *t.halves))


def transformed(board: Board, s: int, swap: bool = False) -> Board:
    g = symmetry.apply_np(board.grid(), s).copy()
    if swap:
        g = np.where(g == 1, 2, np.where(g == 2, 1, 0))
    b = Board(board.size)
    flat = g.reshape(-1)
    b.setup(np.flatnonzero(flat == 1).tolist(), np.flatnonzero(flat == 2).tolist())
    return b


PATTERN = """
    . . . . . . .
    . . X O . . .
    . X . O O . .
    . . X X O . .
    . . . . . . .
    . . . . . . .
    . . . . . . ."""


def test_3x3_pattern_symmetries_and_colour_swap():
    b = Board.from_diagram(PATTERN)
    c3 = pt("C5", 7)                      # the empty point inside the shape
    k = key3_at(b, c3, BLACK)
    for s in range(8):
        m = symmetry.point_map(s, 7)
        assert key3_at(transformed(b, s), int(m[c3]), BLACK) == k
        # colours swapped and White to move: the same pattern from the mover's side
        assert key3_at(transformed(b, s, swap=True), int(m[c3]), WHITE) == k
    # the other side to move sees a different pattern
    assert key3_at(b, c3, WHITE) != k
    # one liberty less for a neighbouring string changes the pattern (liberties are cells)
    b2 = Board.from_diagram(PATTERN)
    b2.setup(white=[pt("C7", 7)])       # outside the 3x3, takes a liberty of C6
    assert key3_at(b2, c3, BLACK) != k


def test_response_pattern_and_neighbour():
    b = Board(9)
    b.play(pt("E5", 9))                   # Black; White to respond
    f = features_of(b)
    diamond = {"E6", "E4", "D5", "F5", "E7", "E3", "C5", "G5", "D6", "F6", "D4", "F4"}
    for name in diamond:
        assert P.F_RESP in f[pt(name, 9)], name
    assert all(P.F_RESP not in v for q, v in f.items() if q not in {pt(x, 9) for x in diamond})
    assert P.F_NBR_ORTH in f[pt("E6", 9)] and P.F_NBR_DIAG in f[pt("F6", 9)]
    assert P.F_NBR_ORTH not in f[pt("E7", 9)] and P.F_NBR_DIAG not in f[pt("E7", 9)]
    # response keys: the four orthogonal neighbours of a lone stone share one key
    S, meta = state_of(b)
    pp = refreshed(S, meta, 9)
    fx = F.new_features(81)
    ne = F.extras(S, meta, P.tables(9), EMPTY_TABLE, WHITE, pp.val, fx)
    keys = {int(fx.ext_pt[i]): int(fx.ext_key[i]) for i in range(ne) if fx.ext_key[i]}
    assert len({keys[pt(x, 9)] for x in ("E6", "E4", "D5", "F5")}) == 1
    assert keys[pt("E6", 9)] != keys[pt("F6", 9)] != keys[pt("E7", 9)]


def test_save_atari_and_self_atari():
    b = Board.from_diagram("""
        . . . . . . .
        . . . . . . .
        . . . O . . .
        . . O X O . .
        . . . . . . .
        . . . . . . .
        . . . . . . .""", to_move=BLACK)
    b.moves.append((WHITE, pt("E4", 7)))   # as if White's E4 had just put D4 in atari
    f = features_of(b)
    assert P.F_SAVE in f[pt("D3", 7)]      # extending gives 3 liberties
    assert sum(P.F_SAVE in v for v in f.values()) == 1
    # a liberty that does not rescue: extending into a 1-liberty dead end
    b2 = Board.from_diagram("""
        . . . . . . .
        . . . . . . .
        . . . O . . .
        . . O X O . .
        . . O . O . .
        . . . . . . .
        . . . . . . .""", to_move=BLACK)
    f2 = features_of(b2)
    assert P.F_SAVE not in f2[pt("D3", 7)]
    assert P.F_SELFATARI in f2[pt("D3", 7)]    # ... and it is a self-atari
    assert P.F_SELFATARI not in f[pt("D3", 7)]
    # White playing D3 captures: not a self-atari (the capture frees a liberty ... and more)
    b3 = Board.from_diagram("""
        . . . . . . .
        . . . . . . .
        . . . O . . .
        . . O X O . .
        . . . . . . .
        . . . . . . .
        . . . . . . .""", to_move=WHITE)
    assert P.F_SELFATARI not in features_of(b3)[pt("D3", 7)]
    # without a tree policy the self-atari feature is not computed
    assert all(P.F_SELFATARI not in v for v in features_of(b2, tree=False).values())


@pytest.mark.parametrize("shape,vital", [
    (("C2", "D2", "E2"), "D2"),                    # straight three
    (("C2", "D2", "C3"), "C2"),                    # bent three
    (("C2", "D2", "E2", "D3"), "D2"),              # pyramid four
    (("C2", "D2", "C3", "D3", "E2"), "D2"),        # bulky five
    (("C2", "D2", "C3", "D3"), None),              # square four: no vital point
])
def test_nakade_vital_point(shape, vital):
    size = 7
    pts = {pt(x, size) for x in shape}
    t = P.tables(size)
    # White stones of the shape, surrounded by Black except one liberty that Black fills
    ring = set()
    for p in pts:
        for q in t.nbr[p]:
            if q >= 0 and q not in pts:
                ring.add(int(q))
    last = min(ring)
    b = Board(size)
    b.setup(black=sorted(ring - {last}), white=sorted(pts))
    b.to_move = BLACK
    assert b.play(last) == len(pts)
    f = features_of(b)                      # White to move, right after the capture
    nak = [q for q, v in f.items() if any(P.F_NAKADE <= x < P.F_NAKADE + 4 for x in v)]
    if vital is None:
        assert nak == []
    else:
        assert nak == [pt(vital, size)]
        assert P.F_NAKADE + len(pts) - 3 in f[pt(vital, size)]


def test_distance_features():
    b = Board(9)
    b.play(pt("C3", 9))
    b.play(pt("G7", 9))
    f = features_of(b)
    v = f[pt("C4", 9)]                     # 1 from C3 (Black's own last), 7 from G7
    assert P.F_DIST1 + 7 - 1 in v and P.F_DIST2 + 1 - 1 in v


def test_rollout_kernel_draws_from_the_softmax():
    """The rollout kernel's overrides (response, save-atari, ko...) give the same first-move
    distribution as the softmax computed from scratch."""
    rng = np.random.default_rng(11)
    w = rng.normal(0, 1.0, P.NFIX).astype(np.float32)
    b = Board(5)
    for mv in ("C3", "C2", "B3", "D2", "B2"):
        b.play(pt(mv, 5))
    # a rollout-kind policy: no tree features, as in the kernel
    pol = RolloutPolicy(w, np.zeros(0, np.int64), "rollout")
    p = TreePolicy(pol).probabilities(b).astype(np.float64)
    r = Rollouts(5, policy=pol)
    draws = 4000
    counts = np.zeros(b.n + 1)
    for seed in range(draws):
        counts[r.run(b, n=1, seed=seed).trace[0]] += 1
    assert np.all(counts[p == 0] == 0)
    tv = 0.5 * np.abs(counts / draws - p).sum()
    assert tv < 0.05, (tv, np.round(p, 3), counts / draws)


def test_diamond_canon_equals_its_definition():
    """The fast canonical diamond (3x3 half tables per ring) equals the minimum over the 8
    symmetries' cell permutations, with the same set of minimising symmetries."""
    perm, _ = P.sym_perms(P.OFF12)
    rng = np.random.default_rng(5)
    for _ in range(3000):
        cells = rng.integers(0, 8, 12).astype(np.int32)
        if rng.random() < 0.3:                      # symmetric-ish patterns: ties between symmetries
            cells[rng.integers(0, 12, 6)] = 0
        codes = [sum(int(cells[perm[s, i]]) << (3 * i) for i in range(12)) for s in range(8)]
        best = min(codes)
        mask = sum(1 << s for s in range(8) if codes[s] == best)
        assert P.diamond_canon(cells) == (best, mask)


def test_response_rows_give_response_key_weights():
    """The rollout kernel's rows, keyed by the diamond as read from the board, give each of the
    12 cells the weight slot that canonicalising and ``response_key`` find in the bundled table:
    for random symmetric images of the table's own patterns (hits, ties between symmetries
    included) and for random diamonds (mostly misses)."""
    pol = RolloutPolicy.load(bundled_path("rollout"))
    row_keys, row_vals, slots = P.response_rows(pol.keys, pol.vals)
    perm, inv = P.sym_perms(P.OFF12)
    rng = np.random.default_rng(2)
    live = pol.keys[(pol.keys != -1) & ((pol.keys >> P.FAM_SHIFT) == P.FAMR)]
    cases = []
    for key in rng.choice(live, 400):
        cells = ((int(key) >> (3 * np.arange(12))) & 7).astype(np.int32)
        cases.append((cells[perm[rng.integers(8)]], (int(key) >> 40) & 3))
    for _ in range(200):
        cases.append((rng.integers(0, 8, 12).astype(np.int32), int(rng.integers(1, 4))))
    known = 0
    for cells, cl in cases:
        code, mask = P.diamond_canon(cells)
        row = P.table_get(row_keys, row_vals, P.diamond_raw(cells) | (cl << 40), len(slots) - 1)
        known += row < len(slots) - 1
        for j in range(12):
            want = P.table_get(pol.keys, pol.vals, P.response_key(code, mask, cl, j, inv), P.F_UNKR)
            assert slots[row, j] == want, (cells, cl, j)
    assert known >= 400


def test_raw3_table_gives_key3_weights():
    """The rollout kernel's 3x3 table, keyed by the code as read (White's colour-swapped), gives
    every valid code the weight that canonicalising (``key3``) finds in the bundled table, for
    both movers: random symmetric images of the table's own patterns (hits) and random codes
    (mostly misses: the unknown-pattern weight)."""
    pol = RolloutPolicy.load(bundled_path("rollout"))
    ew = np.exp(pol.weights.astype(np.float64))
    table = P.raw3_table(pol.keys, pol.vals, ew)
    wts = table.view(np.float32)
    t_o, t_d, swap = P.half_tables()
    rng = np.random.default_rng(3)
    live = pol.keys[(pol.keys != -1) & ((pol.keys >> P.FAM_SHIFT) == P.FAM3)]
    codes = []
    for key in rng.choice(live, 500):
        s = int(rng.integers(8))
        code = int(t_o[int(key) & 0xFFF, s]) | (int(t_d[(int(key) >> 12) & 0xFFF, s]) << 12)
        codes.append((code, 1))
        codes.append((int(swap[code & 0xFFF]) | (int(swap[code >> 12]) << 12), 2))   # White's view
    codes += [(int(rng.integers(0, 1 << 24)), int(rng.integers(1, 3))) for _ in range(3000)]
    hits = 0
    for code, c in codes:
        if not P.code_valid(code, c):
            continue
        slot = P.table_get(pol.keys, pol.vals, P.key3(code, c, t_o, t_d, swap), P.F_UNK3)
        got = P.raw3_get(table, wts, code, c, swap, np.float32(ew[P.F_UNK3]))
        assert got == np.float32(ew[slot]), (code, c)
        hits += slot != P.F_UNK3
    assert hits >= 900
