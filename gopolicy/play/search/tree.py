"""Search-tree nodes: one node per expanded position, its edges held as numpy
arrays (minigo's ``mcts.py`` layout) that one numba kernel (:func:`select_edge`) scans.

The default search (``SearchConfig``) is Pachi's tree: Q with the prior as virtual wins,
blended with RAVE, and no exploration term (``c_puct`` 0); PUCT, below, is the rest of
the formula and what ``prior_eqex`` 0 gives.

Edge statistics (Silver et al. 2016, Methods "Search algorithm"): ``N`` visits,
``W`` wins summed from the point of view of the player to move at this node,
``S`` rollout scores (Black's area minus White's minus komi) summed, ``U``
the search's utility summed (the win blended with a score term, see
:class:`gopolicy.play.search.searcher.SearchConfig`; ``U == W`` without it), ``VL``
simulations in flight through the edge (virtual loss: counted as visits that
lost), ``P`` the prior. Selection maximises

    Q + u,   Q = U / (N + VL),   u = c_puct * P * sqrt(sum(N + VL)) / (1 + N + VL)

with unvisited edges valued at the node's own win rate minus ``fpu_reduction``
times the square root of the prior mass already visited (first-play urgency as
in Leela Zero: AlphaGo's neutral 0 made every unvisited edge look like an even
game).

RAVE (all-moves-as-first; Gelly & Silver 2011, as Pachi's ``ucb1amaf``): ``AN`` and
``AU`` count, for each edge, the simulations through this node in which the player to
move here played that point later (first to play it from here on) and the utility they
gave. With ``rave_equiv`` > 0, Q is blended with the AMAF value
``(AU + v) / (AN + 1)`` (``v`` the node's own value, one virtual visit) by

    beta = AN / (AN + N + N * AN / rave_equiv)

(Pachi's "sylvain_rave" schedule): 1 before the edge's first visit, a third once N
reaches ``rave_equiv`` with as many AMAF visits, and falling towards 0 beyond.

Priors as virtual experience (Pachi 12.90's ``uct/prior.c``; ``prior_eqex`` > 0): each edge
starts with ``even_eqex`` simulations at 0.5 and ``prior_eqex * sqrt(P)`` won ones, so that Q
is ``(U + even_eqex / 2 + prior_eqex * sqrt(P)) / (N + even_eqex + prior_eqex * sqrt(P))``;
those virtual simulations also count in RAVE's beta. Pachi then explores by RAVE alone
(``c_puct`` 0). Pass (the last edge) gets no virtual experience: at an even 0.5 it drew
visits away from the moves the rollouts had already judged.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from gopolicy.go.coords import BLACK
from gopolicy.numba_cache import ensure_fresh

ensure_fresh()


class Node:
    """An expanded position: its candidate moves (legal points that don't fill
    the mover's own eye, then pass) and their edge statistics."""

    __slots__ = ("moves", "P", "N", "W", "S", "U", "VL", "AN", "AU", "bad", "children", "to_move",
                 "net_done", "queued", "terminal")

    def __init__(self, moves: np.ndarray, prior: np.ndarray, to_move: int):
        k = len(moves)
        self.moves = np.asarray(moves, np.int32)
        self.P = np.asarray(prior, np.float64)
        self.N = np.zeros(k, np.int64)
        self.W = np.zeros(k, np.float64)
        self.S = np.zeros(k, np.float64)
        self.U = np.zeros(k, np.float64)
        self.VL = np.zeros(k, np.int64)
        self.AN = np.zeros(k, np.int64)        # AMAF visits (see the module docstring)
        self.AU = np.zeros(k, np.float64)      # AMAF utility summed
        self.bad = np.zeros(k, bool)           # found illegal (superko) during descent
        self.children: dict[int, Node] = {}    # edge index -> expanded child
        self.to_move = int(to_move)
        self.net_done = False                  # P is the network's (else the tree policy's)
        self.queued = False                    # waiting for a network evaluation
        self.terminal: tuple | None = None     # (Black's result, score) when the game ended here

    @property
    def visits(self) -> int:
        return int(self.N.sum())

    def value(self) -> float:
        """Win rate of the player to move here, 0.5 before any visit."""
        n = self.N.sum()
        return float(self.W.sum() / n) if n else 0.5

    def select(self, c_puct: float, fpu_reduction: float, rave_equiv: float = 0.0,
               prior_eqex: float = 0.0, even_eqex: float = 0.0) -> int:
        """Index of the edge maximising Q + u (see the module docstring)."""
        return int(select_edge(self.P, self.N, self.VL, self.U, self.AN, self.AU, self.bad,
                               c_puct, fpu_reduction, rave_equiv, prior_eqex, even_eqex))

    def index_of(self, move: int) -> int:
        hit = np.flatnonzero(self.moves == move)
        return int(hit[0]) if len(hit) else -1

    def winrates(self) -> np.ndarray:
        """Q of every edge for the player to move here (0.5 where unvisited)."""
        return np.where(self.N > 0, self.W / np.maximum(self.N, 1), 0.5)

    def best(self) -> int:
        """Most visited edge (ties: higher Q, then higher prior)."""
        key = np.lexsort((self.P, self.winrates(), self.N))
        return int(key[-1])

    def choice(self, keep_margin: float = 0.0) -> int:
        """The edge to play: the most visited, unless the edge of highest prior (the
        network's move) was visited and trails it in win rate by less than
        ``keep_margin`` (``SearchConfig.keep_network_move``); 0 = most visited."""
        best = self.best()
        top = int(np.argmax(self.P))
        if keep_margin <= 0 or top == best or self.N[top] == 0:
            return best
        q = self.winrates()
        return top if q[best] - q[top] < keep_margin else best

    def pv(self, first: int | None = None, limit: int = 20) -> list[int]:
        """Principal variation: the most visited edge at each node, from edge ``first``."""
        out = []
        node, i = self, self.best() if first is None else first
        while node is not None and len(out) < limit and node.N[i] > 0:
            out.append(int(node.moves[i]))
            node = node.children.get(i)
            if node is None or node.visits == 0:
                break
            i = node.best()
        return out


@njit(cache=True)
def select_edge(P, N, VL, U, AN, AU, bad, c_puct, fpu_reduction, rave_equiv, prior_eqex, even_eqex):
    """:meth:`Node.select` in one pass over the edges (numba: the numpy version's dozen
    array operations cost ~90 us a node, a sixth of a simulation)."""
    k = P.shape[0]
    total = 0
    seen = 0.0
    usum = 0.0
    nsum = 0
    for i in range(k):
        total += N[i] + VL[i]
        usum += U[i]
        nsum += N[i]
        if N[i] > 0:
            seen += P[i]
    # Leela Zero's reduction: the more prior mass already explored, the less an
    # unexplored edge is presumed worth; (U + 0.5) / (N + 1) keeps one early lost
    # rollout from freezing the node on its first edge.
    v = (usum + 0.5) / (nsum + 1.0)
    fpu = v - fpu_reduction * np.sqrt(seen)
    root = np.sqrt(max(total, 1))
    best = -1
    best_score = -np.inf
    for i in range(k):
        if bad[i]:
            continue
        n = N[i] + VL[i]
        q = U[i] / n if n > 0 else fpu
        nq = n
        if prior_eqex > 0 and i < k - 1:    # the prior as virtual experience (not for pass)
            won = prior_eqex * np.sqrt(P[i])
            nq = n + even_eqex + won
            q = (U[i] + 0.5 * even_eqex + won) / nq
        if rave_equiv > 0:
            an = AN[i]
            if an > 0:
                beta = an / (an + nq + nq * an / rave_equiv)
                q = beta * (AU[i] + v) / (an + 1.0) + (1.0 - beta) * q
        score = q + c_puct * P[i] * root / (1.0 + n)
        if score > best_score:
            best, best_score = i, score
    return max(best, 0)


def win_for(to_move: int, black_result: float) -> float:
    """A Black result in [0, 1] seen by the player ``to_move``."""
    return black_result if to_move == BLACK else 1.0 - black_result
