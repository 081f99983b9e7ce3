"""Rollouts: play a position out to the end and score it by area, thousands of times a second.

Two move choices share one numba kernel (:func:`_rollouts`, ``nogil``): **uniform** (every
candidate equally likely: legal, not the mover's own eye) and the **rollout policy**, a linear
softmax over the local-pattern features of :mod:`gopolicy.rollout.move_features` (AlphaGo's fast
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
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
from numba import njit

from gopolicy.go.rules_kernels import area_count, inner_kernel
from gopolicy.numba_cache import ensure_fresh
from gopolicy.rollout.incremental_board import (
    CODE,
    COL,
    HEAD,
    LIBS,
    M_KO,
    M_LAST,
    M_NCAPT,
    NMETA,
    NROWS,
    board_inputs,
    diamond_cells,
    init_state,
    play,
    play_pass,
    set_captures,
)
from gopolicy.rollout.model import RolloutPolicy, bundled_path
from gopolicy.rollout.move_features import (
    PointPatterns,
    nakade_point,
    new_point_patterns,
    refresh_points,
    save_atari_points,
)
from gopolicy.rollout.pattern_tables import (
    F_NAKADE,
    F_NBR_DIAG,
    F_NBR_ORTH,
    F_RESP,
    F_SAVE,
    F_UNK3,
    NFIX,
    build_table,
    code_valid,
    diamond_raw,
    raw3_hash,
    raw3_table,
    response_rows,
    table_get,
    tables,
)
from gopolicy.rollout.tactics import (
    DEFAULT_TACTICS,
    MAX_REDRAWS,
    PlayoutTactics,
    bad_self_atari,
    local_atari_moves,
)

ensure_fresh()

RolloutTables = namedtuple("RolloutTables", "rkeys rvals rew r3 r3w")
RolloutTables.__doc__ = """A policy's weights regrouped for the kernel: the response rows
(``pattern_tables.response_rows``: table ``rkeys/rvals`` to rows of ``rew``, each cell's
exp(weight) already times the response and neighbour weights) and the 3x3 table ``r3``
(``pattern_tables.raw3_table``) with ``r3w`` its float32 view."""

PlayoutState = namedtuple("PlayoutState", "S meta pp base rs")
PlayoutState.__doc__ = """A playout's position: the incremental state ``S/meta``, the
candidates' 3x3 patterns ``pp``, per colour and point ``base`` = exp(weight of its 3x3
pattern) (0 when not a candidate) and per colour and board row ``rs`` = the sum of ``base``."""

DrawScratch = namedtuple("DrawScratch",
                         "dirty cells save_pts rs_saved omark opts saved tq tf rowmark rows stamps")
DrawScratch.__doc__ = """Work arrays of the moves: the overrides of one draw (points ``tq``,
factors ``tf``; the points touched ``opts`` with their stored weight ``saved``, the row sums
``rs_saved``), the rows to sum again after a move, and the stamps of ``omark``/``rowmark``
(kept from one playout to the next)."""

AreaScratch = namedtuple("AreaScratch", "own_i touched region stack pts")


@njit(cache=True, inline="always")
def _row_sums(base, rs, ci, r, size):
    s = 0.0
    for q in range(r * size, (r + 1) * size):
        s += base[ci, q]
    rs[ci, r] = s


@inner_kernel
def _overrides(S, meta, nbr, nbr12, rkeys, rvals, rew, ew, c, val, cells, save_pts, tq, tf):
    """The weights of the features that depend on the previous move, exactly as
    ``move_features.extras`` lists them (response, response pattern, neighbour, save-atari,
    nakade), as factors: point ``tq[i]``'s weight is to be multiplied by ``tf[i]``. Returns the
    count. The response pattern's 12 weights come as one row of ``rew``
    (``pattern_tables.response_rows``, keyed by the diamond as read), each already times the
    response and neighbour weights of its cell. Candidates are tested written out, not by
    ``is_candidate`` (see the module's note)."""
    ci = c - 1
    ko = meta[M_KO]
    nt = 0
    last = meta[M_LAST]
    if last >= 0 and S[COL, last] != 0:
        diamond_cells(S, nbr12, last, c, cells)
        cl = min(S[LIBS, S[HEAD, last]], 3)
        row = table_get(rkeys, rvals, diamond_raw(cells) | (np.int64(cl) << 40), rew.shape[0] - 1)
        for j in range(12):
            q = nbr12[last, j]
            if q >= 0 and val[ci, q] != 0 and q != ko:
                tq[nt] = q
                tf[nt] = rew[row, j]
                nt += 1
    nsv = save_atari_points(S, meta, nbr, c, val, save_pts)
    for i in range(nsv):
        tq[nt] = save_pts[i]
        tf[nt] = ew[F_SAVE]
        nt += 1
    v = nakade_point(S, meta, nbr)
    if v >= 0 and val[ci, v] != 0 and v != ko:
        tq[nt] = v
        tf[nt] = ew[F_NAKADE + meta[M_NCAPT] - 3]
        nt += 1
    return nt


@njit(cache=True, nogil=True)
def _rollouts(pos, to_move, n_playouts, seed, max_moves, t, table, w, rt, uniform, rates, own,
              scores, trace):
    """``n_playouts`` playouts from :class:`Position` ``pos``, ``to_move`` first, with the
    policy of weights ``w`` (its :class:`PatternTable` ``table``, regrouped as ``rt``) or
    ``uniform``, and the :mod:`gopolicy.rollout.tactics` at probabilities ``rates``
    (capture, self-atari); fills ``own`` (float32, +1 black / -1 white per playout), ``scores`` (B - W
    area, no komi, per playout) and ``trace`` (the moves of the first playout, pass = n).
    Returns (length of the trace, moves played in all)."""
    n = pos.stones.shape[0]
    np.random.seed(seed)
    ew = np.exp(w.astype(np.float64))
    start = _start_state(pos, t, table, ew, uniform)
    st = PlayoutState(start.S.copy(), start.meta.copy(),
                      PointPatterns(start.pp.val.copy(), start.pp.k3.copy(), start.pp.sl3.copy()),
                      start.base.copy(), start.rs.copy())
    size = t.size
    wk = DrawScratch(np.empty(n, np.int32), np.empty(12, np.int32), np.empty(n, np.int32),
                     np.zeros(size, np.float64), np.zeros(n, np.int32), np.empty(n, np.int32),
                     np.empty(n, np.float64), np.empty(2 * n + 16, np.int32),
                     np.empty(2 * n + 16, np.float64), np.zeros(size, np.int32),
                     np.empty(size, np.int32), np.zeros(2, np.int64))
    # touched: seki marks, which the rollouts don't use
    area = AreaScratch(np.zeros(n, np.int32), np.zeros(n, np.uint8), np.empty(n, np.int32),
                       np.empty(n, np.int32), np.empty(n, np.int32))
    ntrace = 0
    total_moves = 0
    for k in range(n_playouts):
        if k > 0:
            st.S[:, :] = start.S
            st.meta[:] = start.meta
            st.pp.val[:, :] = start.pp.val
            st.pp.k3[:, :] = start.pp.k3
            st.pp.sl3[:, :] = start.pp.sl3
            st.base[:, :] = start.base
            st.rs[:, :] = start.rs
        moves, nt = _playout(st, to_move, max_moves, t, table, rt, ew, uniform, rates, wk, trace,
                             k == 0)
        if k == 0:
            ntrace = nt
        total_moves += moves
        scores[k] = _score_playout(st.S, t.nbr, own, area)
    return ntrace, total_moves


@inner_kernel
def _start_state(pos, t, table, ew, uniform):
    """The :class:`PlayoutState` of the starting position."""
    n = pos.stones.shape[0]
    size = t.size
    S = np.zeros((NROWS, n), np.int32)
    meta = np.zeros(NMETA, np.int64)
    init_state(S, meta, pos.stones, t.nbr, t.nbr8, pos.ko, pos.last, pos.last2)
    set_captures(S, meta, pos.capt)
    pp = new_point_patterns(n)
    refresh_points(S, meta, np.arange(n).astype(np.int32), n, 0, t.halves, table, pp, not uniform)
    base = np.zeros((2, n), np.float64)
    for ci in range(2):
        for q in range(n):
            if pp.val[ci, q]:
                base[ci, q] = 1.0 if uniform else ew[pp.sl3[ci, q]]
    rs = np.zeros((2, size), np.float64)
    for ci in range(2):
        for r in range(size):
            _row_sums(base, rs, ci, r, size)
    return PlayoutState(S, meta, pp, base, rs)


@inner_kernel
def _playout(st, c, max_moves, t, table, rt, ew, uniform, rates, wk, trace, record):
    """One playout from ``st``, c to move, until two passes in a row (a side passes when it
    has no candidate) or ``max_moves`` moves; its moves go to ``trace`` when ``record``.
    Returns (moves played, length of the trace).

    The move loop calls helpers that take the arrays they use, not the tuples (numba increfs
    every array of a tuple argument), and whose increfs numba's pruning removes: measured
    with the counts of NRT_incref in their LLVM code (``inspect_llvm``), each one loop or two
    at most and no random draw (``_pick`` gets its number from its caller)."""
    S, meta, pp, base, rs = st
    val = pp.val
    nbr, nbr8, nbr12, size, halves = t.nbr, t.nbr8, t.nbr12, t.size, t.halves
    swap = halves.swap
    rkeys, rvals, rew, r3, r3w = rt
    cells, save_pts, tq, tf, dirty = wk.cells, wk.save_pts, wk.tq, wk.tf, wk.dirty
    omark, opts, saved, rs_saved, rowmark, rows = wk.omark, wk.opts, wk.saved, wk.rs_saved, wk.rowmark, wk.rows
    n = S.shape[1]
    unk3 = ew[F_UNK3]
    rstamp = wk.stamps[1]
    passes = 0
    moves = 0
    ntrace = 0
    while passes < 2 and moves < max_moves:
        # 0. tactics: answer a string in atari at the last move
        move = -1
        if rates[0] > 0.0:
            nq, forced = local_atari_moves(S, meta, nbr, val, c, save_pts)
            if nq > 0 and (forced or np.random.random() < rates[0]):
                move = save_pts[int(np.random.random() * nq)]
        if move < 0:
            move = _draw(S, meta, nbr, nbr12, rkeys, rvals, rew, ew, c, val, cells, save_pts, tq,
                         tf, base, rs, size, omark, wk.stamps, opts, saved, rs_saved, uniform,
                         rates[1])
        # 1. the policy's draw, unless a tactic chose; 2. play and refresh what changed
        if move < 0:
            play_pass(meta)
            passes += 1
        else:
            passes = 0
            nd = play(S, meta, nbr, nbr8, move, c, dirty)
            if uniform:
                refresh_points(S, meta, dirty, nd, 0, halves, table, pp, False)
            _dirty_weights(S, val, base, dirty, nd, swap, r3, r3w, unk3, uniform)
            rstamp += 1
            nr = _dirty_rows(dirty, nd, size, rowmark, rstamp, rows)
            _sum_rows(base, rs, rows, nr, size)
        if record:
            trace[ntrace] = n if move < 0 else move
            ntrace += 1
        c = 3 - c
        moves += 1
    wk.stamps[1] = rstamp
    return moves, ntrace


@inner_kernel
def _draw(S, meta, nbr, nbr12, rkeys, rvals, rew, ew, c, val, cells, save_pts, tq, tf, base, rs,
          size, omark, stamps, opts, saved, rs_saved, uniform, self_atari):
    """One move of colour c drawn from the weights ``base`` (-1: no candidate, pass): the
    one-move overrides applied (previous-move features, the ko point), a bad self-atari refused
    with probability ``self_atari`` and drawn again, then everything restored exactly (row
    sums copied back, not subtracted)."""
    ci = c - 1
    nt = 0
    if not uniform:
        nt = _overrides(S, meta, nbr, nbr12, rkeys, rvals, rew, ew, c, val, cells, save_pts,
                        tq, tf)
    ko = meta[M_KO]
    if ko >= 0:
        tq[nt] = ko
        tf[nt] = 0.0
        nt += 1
    stamps[0] += 1
    ostamp = stamps[0]
    no = _apply_overrides(base, rs, ci, size, tq, tf, nt, omark, ostamp, opts, saved, rs_saved)
    move = -1
    for attempt in range(MAX_REDRAWS + 1):
        total = 0.0
        for r in range(size):
            total += rs[ci, r]
        if total <= 0.0:
            move = -1
            break
        move = _pick(base, rs, ci, size, np.random.random() * total)
        if (self_atari <= 0.0 or attempt == MAX_REDRAWS or move < 0
                or not bad_self_atari(S, meta, nbr, move, c) or np.random.random() >= self_atari):
            break
        if omark[move] != ostamp:       # refused: out of this draw, restored below
            omark[move] = ostamp
            opts[no] = move
            saved[no] = base[ci, move]
            no += 1
        base[ci, move] = 0.0
        r = move // size
        s = 0.0
        for q in range(r * size, (r + 1) * size):
            s += base[ci, q]
        rs[ci, r] = s
    for i in range(no):
        base[ci, opts[i]] = saved[i]
    for r in range(size):
        rs[ci, r] = rs_saved[r]
    return move


@inner_kernel
def _apply_overrides(base, rs, ci, size, tq, tf, nt, omark, ostamp, opts, saved, rs_saved):
    """Multiply the weights of points ``tq[:nt]`` by ``tf[:nt]`` for one draw (exp(sum of
    weights) = product of the stored exp(weight): no exp() per move), keeping the row sums.
    Saves what :func:`_playout` restores after the draw: the row sums in ``rs_saved``, each
    point touched once (``omark`` = ``ostamp``) in ``opts`` with its stored weight in
    ``saved``. Returns how many points."""
    for r in range(size):
        rs_saved[r] = rs[ci, r]
    no = 0
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
    return no


@inner_kernel
def _pick(base, rs, ci, size, u):
    """The point where ``u`` (uniform in [0, sum of the row sums)) falls among the weights
    ``base`` of colour index ci: a walk over the row sums, then one row."""
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
                return q
            u -= b
    return last_pos


@inner_kernel
def _dirty_weights(S, val, base, dirty, nd, swap, r3, r3w, unk3, uniform):
    """After a move: the weights ``base`` (and candidate flags ``val``) of the dirty points,
    for both colours."""
    r3mask = r3.shape[0] - 1
    for i in range(nd):
        q = dirty[i]
        for cj in range(2):
            if uniform:
                base[cj, q] = 1.0 if val[cj, q] else 0.0
            elif S[COL, q] != 0:
                base[cj, q] = 0.0
                val[cj, q] = 0
            else:
                # exp(weight of the 3x3 pattern), 0 when not a candidate:
                # pattern_tables.raw3_get written out (no helper taking arrays here:
                # see the module's note)
                code = S[CODE, q]
                b = 0.0
                if code_valid(code, cj + 1):
                    if cj == 1:
                        code = swap[code & 0xFFF] | (swap[(code >> 12) & 0xFFF] << 12)
                    j = raw3_hash(code, r3mask)
                    while r3[j, 0] != code and r3[j, 0] != -1:
                        j = (j + 1) & r3mask
                    b = r3w[j, 1] if r3[j, 0] == code else unk3
                base[cj, q] = b
                val[cj, q] = 1 if b > 0.0 else 0


@inner_kernel
def _dirty_rows(dirty, nd, size, rowmark, rstamp, rows):
    """The board rows of the dirty points, each once (``rowmark`` = ``rstamp``), into
    ``rows``; returns how many."""
    nr = 0
    for i in range(nd):
        r = dirty[i] // size
        if rowmark[r] != rstamp:
            rowmark[r] = rstamp
            rows[nr] = r
            nr += 1
    return nr


@inner_kernel
def _sum_rows(base, rs, rows, nr, size):
    """The row sums of rows ``rows[:nr]``, both colours, from scratch."""
    for i in range(nr):
        r = rows[i]
        s0 = 0.0
        s1 = 0.0
        for q in range(r * size, (r + 1) * size):
            s0 += base[0, q]
            s1 += base[1, q]
        rs[0, r] = s0
        rs[1, r] = s1


@inner_kernel
def _score_playout(S, nbr, own, area):
    """The area count (B - W, no komi) of a finished playout; adds its ownership to ``own``."""
    n = S.shape[1]
    stones = S[COL].astype(np.int8)
    area.own_i[:] = 0
    sc = area_count(stones, nbr, area.own_i, area.touched, area.region, area.stack, area.pts)
    for q in range(n):
        own[q] += area.own_i[q]
    return sc


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
    ``tactics``: the :class:`gopolicy.rollout.tactics.PlayoutTactics` (default
    ``DEFAULT_TACTICS``; ``NO_TACTICS`` = the policy alone).
    ``run`` releases the GIL inside the kernel, so Python threads run playouts in parallel.
    """

    def __init__(self, size: int = 19, komi: float = 7.5, policy=None, max_moves: int | None = None,
                 tactics: PlayoutTactics | None = None):
        self.size = size
        self.tactics = DEFAULT_TACTICS if tactics is None else tactics
        self._rates = self.tactics.rates()
        self.n = size * size
        self.komi = float(komi)
        self.policy = resolve_policy(policy)
        self.uniform = self.policy is None
        self.max_moves = max_moves or 3 * self.n
        self.tables = tables(size)
        if self.uniform:
            self._w = np.zeros(NFIX, np.float32)
            self._table = build_table(np.zeros(0, np.int64), np.zeros(0, np.int32))
        else:
            self._w = self.policy.weights
            self._table = self.policy.table
        rkeys, rvals, slots = response_rows(*self._table)
        ew = np.exp(self._w.astype(np.float64))
        # diamond cell j: exp(response + response pattern + neighbour-by-position weights)
        cellw = ew[F_RESP] * np.array([ew[F_NBR_ORTH]] * 4 + [1.0] * 4 + [ew[F_NBR_DIAG]] * 4)
        r3 = raw3_table(*self._table, ew)
        self._rt = RolloutTables(rkeys, rvals, ew[slots] * cellw, r3, r3.view(np.float32))

    @property
    def name(self) -> str:
        return "uniform" if self.uniform else "rollout policy"

    def run(self, board, n: int = 16, seed: int | None = None) -> RolloutResult:
        """``n`` playouts from ``board`` (not modified), ``board.to_move`` first."""
        if board.size != self.size:
            raise ValueError(f"board size {board.size} != rollouts size {self.size}")
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little") ^ threading.get_ident() & 0x7FFFFFFF
        own = np.zeros(self.n, np.float32)
        scores = np.zeros(max(n, 1), np.int64)
        trace = np.zeros(self.max_moves + 1, np.int32)
        nt = moves = 0
        if n > 0:
            nt, moves = _rollouts(board_inputs(board), int(board.to_move), int(n),
                                  int(seed) & 0x7FFFFFFF, self.max_moves, self.tables,
                                  self._table, self._w, self._rt, self.uniform, self._rates,
                                  own, scores, trace)
        sc = scores[:n].astype(np.float64) - self.komi
        wins = float(np.count_nonzero(sc > 0)) + 0.5 * float(np.count_nonzero(sc == 0))
        return RolloutResult(int(n), wins, float(sc.sum()), own, sc, trace[:nt].copy(), int(moves))
