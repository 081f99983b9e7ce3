"""Rollouts: play a position out to the end and score it by area, thousands of times a second.

Two move choices share one numba kernel (:func:`_rollouts`, ``nogil``): **uniform** (every
candidate equally likely: legal, not the mover's own eye) and the **rollout policy**, a linear
softmax over the local-pattern features of :mod:`gopolicy.rollout.patterns` (AlphaGo's fast
rollout policy). Per move the kernel does no Python and touches only what changed:

* the incremental state updates strings, liberties and the 3x3 codes of the "dirty" points;
* each empty point keeps, per colour, ``exp(weight of its 3x3 pattern)`` (0 when it is not a
  candidate), and each board row keeps the sum of its points;
* the features that depend on the previous move (response, response pattern, neighbour,
  save-atari, nakade) touch at most a few dozen points: their weights are written over the
  stored ones for one draw and restored afterwards;
* a move is drawn by walking the row sums, then one row.

The loops over points inside a move call no ``inline="always"`` helper that takes arrays:
numba gives each such call an atomic incref/decref pair per array that its pruning pass often
cannot remove (found with perf: a third of the rollout time went there); such code is written
out instead.

A playout ends after two passes in a row (a side passes when it has no candidate) or after
``max_moves`` moves (3 x points); it is scored Tromp-Taylor (stones + empty regions reaching
one colour), exactly like :meth:`gopolicy.go.board.Board.area_score`, with komi.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np
from numba import njit

from gopolicy._numba_cache import ensure_fresh
from gopolicy.go.rules_kernels import area_count
from gopolicy.rollout import patterns as P

ensure_fresh()


@njit(cache=True, inline="always")
def _row_sums(base, rs, ci, r, size):
    s = 0.0
    for q in range(r * size, (r + 1) * size):
        s += base[ci, q]
    rs[ci, r] = s


@njit(cache=True)
def _overrides(S, meta, nbr, nbr12, rkeys, rvals, rew, ew, c, val, cells, save_pts, tq, tf):
    """The weights of the features that depend on the previous move, exactly as
    ``patterns.extras`` lists them (response, response pattern, neighbour, save-atari, nakade),
    as factors: point ``tq[i]``'s weight is to be multiplied by ``tf[i]``. Returns the count.
    The response pattern's 12 weights come as one row (``patterns.response_rows``, keyed by
    the diamond as read), each already times the response and neighbour weights of its cell.
    Candidates are tested written out, not by ``is_candidate`` (see the module's note)."""
    ci = c - 1
    ko = meta[P.M_KO]
    nt = 0
    last = meta[P.M_LAST]
    if last >= 0 and S[P.COL, last] != 0:
        P.diamond_cells(S, nbr12, last, c, cells)
        cl = min(S[P.LIBS, S[P.HEAD, last]], 3)
        row = P.table_get(rkeys, rvals, P.diamond_raw(cells) | (np.int64(cl) << 40),
                          rew.shape[0] - 1)
        for j in range(12):
            q = nbr12[last, j]
            if q >= 0 and val[ci, q] != 0 and q != ko:
                tq[nt] = q
                tf[nt] = rew[row, j]
                nt += 1
    nsv = P.save_atari_points(S, meta, nbr, c, val, save_pts)
    for i in range(nsv):
        tq[nt] = save_pts[i]
        tf[nt] = ew[P.F_SAVE]
        nt += 1
    v = P.nakade_point(S, meta, nbr)
    if v >= 0 and val[ci, v] != 0 and v != ko:
        tq[nt] = v
        tf[nt] = ew[P.F_NAKADE + meta[P.M_NCAPT] - 3]
        nt += 1
    return nt


@njit(cache=True, nogil=True)
def _rollouts(stones0, ko0, last0, last20, capt0, to_move, n_playouts, seed, max_moves, size,
              nbr, nbr8, nbr12, t_o, t_d, swap, keys, vals, w, rkeys, rvals, rew, r3, uniform,
              own, scores, trace):
    """``n_playouts`` playouts from the position; fills ``own`` (float32, +1 black / -1 white
    per playout), ``scores`` (B - W area, no komi, per playout) and ``trace`` (the moves of
    the first playout, pass = n). Returns (length of the trace, moves played in all)."""
    n = stones0.shape[0]
    r3w = r3.view(np.float32)
    r3mask = r3.shape[0] - 1
    np.random.seed(seed)
    S0 = np.zeros((P.NROWS, n), np.int32)
    meta0 = np.zeros(P.NMETA, np.int64)
    P.init_state(S0, meta0, stones0, nbr, nbr8, ko0, last0, last20)
    P.set_captures(S0, meta0, capt0)
    val0 = np.zeros((2, n), np.uint8)
    k30 = np.zeros((2, n), np.int64)
    sl30 = np.zeros((2, n), np.int32)
    allpts = np.arange(n).astype(np.int32)
    P.refresh_points(S0, meta0, allpts, n, 0, t_o, t_d, swap, keys, vals, val0, k30, sl30,
                     not uniform)
    ew = np.exp(w.astype(np.float64))
    unk3 = ew[P.F_UNK3]
    save_pts = np.empty(n, np.int32)
    base0 = np.zeros((2, n), np.float64)
    for ci in range(2):
        for q in range(n):
            if val0[ci, q]:
                base0[ci, q] = 1.0 if uniform else ew[sl30[ci, q]]
    rs0 = np.zeros((2, size), np.float64)
    for ci in range(2):
        for r in range(size):
            _row_sums(base0, rs0, ci, r, size)
    S = S0.copy()
    meta = meta0.copy()
    val = val0.copy()
    k3 = k30.copy()
    sl3 = sl30.copy()
    base = base0.copy()
    rs = rs0.copy()
    dirty = np.empty(n, np.int32)
    cells = np.empty(12, np.int32)
    rs_saved = np.zeros(size, np.float64)
    omark = np.zeros(n, np.int32)
    opts = np.empty(n, np.int32)
    saved = np.empty(n, np.float64)
    tq = np.empty(2 * n + 16, np.int32)
    tf = np.empty(2 * n + 16, np.float64)
    rowmark = np.zeros(size, np.int32)
    rows = np.empty(size, np.int32)
    ostamp = 0
    rstamp = 0
    region = np.empty(n, np.int32)
    stack = np.empty(n, np.int32)
    pts = np.empty(n, np.int32)
    own_i = np.zeros(n, np.int32)
    touched = np.zeros(n, np.uint8)     # seki marks: the rollouts don't use them
    ntrace = 0
    total_moves = 0
    for k in range(n_playouts):
        if k > 0:
            S[:, :] = S0
            meta[:] = meta0
            val[:, :] = val0
            k3[:, :] = k30
            sl3[:, :] = sl30
            base[:, :] = base0
            rs[:, :] = rs0
        c = to_move
        passes = 0
        moves = 0
        while passes < 2 and moves < max_moves:
            ci = c - 1
            # 1. one-move overrides: previous-move features, the ko point. exp(sum of
            # weights) = product of the stored exp(weight): no exp() per move.
            ostamp += 1
            for r in range(size):
                rs_saved[r] = rs[ci, r]
            nt = 0
            if not uniform:
                nt = _overrides(S, meta, nbr, nbr12, rkeys, rvals, rew, ew, c, val, cells,
                                save_pts, tq, tf)
            ko = meta[P.M_KO]
            if ko >= 0:
                tq[nt] = ko
                tf[nt] = 0.0
                nt += 1
            no = 0      # points touched, each once, with their stored weight
            for i in range(nt):
                q = tq[i]
                if omark[q] != ostamp:
                    omark[q] = ostamp
                    opts[no] = q
                    saved[no] = base[ci, q]
                    no += 1
                base[ci, q] *= tf[i]
            for i in range(no):
                q = opts[i]
                rs[ci, q // size] += base[ci, q] - saved[i]
            # 2. draw
            total = 0.0
            for r in range(size):
                total += rs[ci, r]
            move = -1
            if total > 0.0:
                u = np.random.random() * total
                r = 0
                while r < size - 1 and (u >= rs[ci, r] or rs[ci, r] <= 0.0):
                    u -= rs[ci, r]
                    r += 1
                while rs[ci, r] <= 0.0:    # rounding walked past the last non-empty row
                    r -= 1
                last_pos = -1
                for q in range(r * size, (r + 1) * size):
                    b = base[ci, q]
                    if b > 0.0:
                        last_pos = q
                        if u < b:
                            move = q
                            break
                        u -= b
                if move < 0:
                    move = last_pos
            # 3. undo the overrides (row sums restored exactly, not by subtraction)
            for i in range(no):
                base[ci, opts[i]] = saved[i]
            for r in range(size):
                rs[ci, r] = rs_saved[r]
            # 4. play and refresh what changed
            if move < 0:
                P.play_pass(meta)
                passes += 1
                if k == 0:
                    trace[ntrace] = n
                    ntrace += 1
            else:
                passes = 0
                if k == 0:
                    trace[ntrace] = move
                    ntrace += 1
                nd = P.play(S, meta, nbr, nbr8, move, c, dirty)
                if uniform:
                    P.refresh_points(S, meta, dirty, nd, 0, t_o, t_d, swap, keys, vals, val, k3,
                                     sl3, False)
                rstamp += 1
                nr = 0
                for i in range(nd):
                    q = dirty[i]
                    for cj in range(2):
                        if uniform:
                            base[cj, q] = 1.0 if val[cj, q] else 0.0
                        elif S[P.COL, q] != 0:
                            base[cj, q] = 0.0
                            val[cj, q] = 0
                        else:
                            # exp(weight of the 3x3 pattern), 0 when not a candidate:
                            # patterns.raw3_get written out (no helper taking arrays here:
                            # see _overrides)
                            code = S[P.CODE, q]
                            b = 0.0
                            if P.code_valid(code, cj + 1):
                                if cj == 1:
                                    code = swap[code & 0xFFF] | (swap[(code >> 12) & 0xFFF] << 12)
                                j = P.raw3_hash(code, r3mask)
                                while r3[j, 0] != code and r3[j, 0] != -1:
                                    j = (j + 1) & r3mask
                                b = r3w[j, 1] if r3[j, 0] == code else unk3
                            base[cj, q] = b
                            val[cj, q] = 1 if b > 0.0 else 0
                    r = q // size
                    if rowmark[r] != rstamp:
                        rowmark[r] = rstamp
                        rows[nr] = r
                        nr += 1
                for i in range(nr):
                    r = rows[i]
                    s0 = 0.0
                    s1 = 0.0
                    for q in range(r * size, (r + 1) * size):
                        s0 += base[0, q]
                        s1 += base[1, q]
                    rs[0, r] = s0
                    rs[1, r] = s1
            c = 3 - c
            moves += 1
        total_moves += moves
        stones = S[P.COL].astype(np.int8)
        own_i[:] = 0
        scores[k] = area_count(stones, nbr, own_i, touched, region, stack, pts)
        for q in range(n):
            own[q] += own_i[q]
    return ntrace, total_moves


def board_inputs(board):
    """``(stones int8, ko, last, last2, captured int32[])`` of a Board for the kernels: the
    previous two moves (-1 for none or a pass) and the stones the last move captured."""
    n = board.n
    last, last2 = board.last_moves
    last = last if 0 <= last < n else -1
    last2 = last2 if 0 <= last2 < n else -1
    capt = np.zeros(0, np.int32)
    if last >= 0 and board._undo:
        before = board._undo[-1][0]
        capt = np.flatnonzero((before != 0) & (board.stones == 0)).astype(np.int32)
    return board.stones.astype(np.int8), int(board.ko), int(last), int(last2), capt


@dataclass
class RolloutResult:
    """Sums over ``n`` playouts. ``black_wins`` counts a drawn playout (possible only with
    an integer komi) as half a win, so it is a float; it is a whole number otherwise."""

    n: int
    black_wins: float
    score_sum: float              # sum of (Black area - White area - komi)
    ownership_sum: np.ndarray     # float32 [size*size]: +1 Black owns / -1 White, summed
    scores: np.ndarray            # float64 [n]: each playout's B - W - komi
    trace: np.ndarray             # int32: the moves of the first playout (pass = size*size)
    moves: int = 0                # moves (passes included) played in all the playouts


def resolve_policy(policy):
    """``RolloutPolicy`` or None (uniform) from None / "uniform" / a path / a policy."""
    from gopolicy.rollout.model import RolloutPolicy, bundled_path

    if policy is None:
        path = bundled_path("rollout")
        return RolloutPolicy.load(path) if path.is_file() else None
    if isinstance(policy, str) and policy == "uniform":
        return None
    if isinstance(policy, RolloutPolicy):
        return policy
    return RolloutPolicy.load(policy)


class Rollouts:
    """Playouts to the end with the rollout policy (or uniform), scored by area with komi.

    ``policy``: None = the bundled rollout weights (data/bundled/rollout.npz, uniform if
    absent); "uniform" = uniform-random eye-avoiding playouts; a path or a ``RolloutPolicy``.
    ``run`` releases the GIL inside the kernel, so Python threads run playouts in parallel.
    """

    def __init__(self, size: int = 19, komi: float = 7.5, policy=None, max_moves: int | None = None):
        self.size = size
        self.n = size * size
        self.komi = float(komi)
        self.policy = resolve_policy(policy)
        self.uniform = self.policy is None
        self.max_moves = max_moves or 3 * self.n
        self.tables = P.tables(size)
        if self.uniform:
            self._w = np.zeros(P.NFIX, np.float32)
            self._keys, self._vals = P.build_table(np.zeros(0, np.int64), np.zeros(0, np.int32))
        else:
            self._w = self.policy.weights
            self._keys, self._vals = self.policy.keys, self.policy.vals
        self._rkeys, self._rvals, slots = P.response_rows(self._keys, self._vals)
        ew = np.exp(self._w.astype(np.float64))
        # diamond cell j: exp(response + response pattern + neighbour-by-position weights)
        cellw = ew[P.F_RESP] * np.array([ew[P.F_NBR_ORTH]] * 4 + [1.0] * 4 + [ew[P.F_NBR_DIAG]] * 4)
        self._rew = ew[slots] * cellw
        self._r3 = P.raw3_table(self._keys, self._vals, ew)

    @property
    def name(self) -> str:
        return "uniform" if self.uniform else "rollout policy"

    def run(self, board, n: int = 16, seed: int | None = None) -> RolloutResult:
        """``n`` playouts from ``board`` (not modified), ``board.to_move`` first."""
        if board.size != self.size:
            raise ValueError(f"board size {board.size} != rollouts size {self.size}")
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little") ^ threading.get_ident() & 0x7FFFFFFF
        stones, ko, last, last2, capt = board_inputs(board)
        t = self.tables
        own = np.zeros(self.n, np.float32)
        scores = np.zeros(max(n, 1), np.int64)
        trace = np.zeros(self.max_moves + 1, np.int32)
        nt = moves = 0
        if n > 0:
            nt, moves = _rollouts(stones, ko, last, last2, capt, int(board.to_move), int(n),
                           int(seed) & 0x7FFFFFFF, self.max_moves, self.size, t.nbr, t.nbr8,
                           t.nbr12, t.t_o, t.t_d, t.swap, self._keys, self._vals, self._w,
                           self._rkeys, self._rvals, self._rew, self._r3, self.uniform, own,
                           scores, trace)
        sc = scores[:n].astype(np.float64) - self.komi
        wins = float(np.count_nonzero(sc > 0)) + 0.5 * float(np.count_nonzero(sc == 0))
        return RolloutResult(int(n), wins, float(sc.sum()), own, sc, trace[:nt].copy(), int(moves))
