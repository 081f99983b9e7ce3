"""RAVE in the search tree (``SearchConfig.rave_equiv``): which edges a simulation's
all-moves-as-first statistics credit, checked by hand on a two-node path, and how the
blend changes selection."""
from __future__ import annotations

import numpy as np
import pytest

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, WHITE
from gopolicy.play.search import SearchConfig, Searcher
from gopolicy.play.search.searcher import Leaf
from gopolicy.play.search.tree import Node


@pytest.fixture(scope="module")
def searcher():
    return Searcher(None, threads=1, config=SearchConfig(rave_equiv=4000, score_weight=0.0))


def test_amaf_credits_the_points_each_player_played_first(searcher):
    n = 81
    root = Node(np.array([0, 1, 2, n]), np.full(4, 0.25), BLACK)
    child = Node(np.array([1, 2, 3, n]), np.full(4, 0.25), WHITE)
    b = Board(9, 7.5)
    b.play(0, BLACK)
    b.play(2, WHITE)                       # the tree: Black 0, White 2; Black to move at the leaf
    path = [(root, 0), (child, 1)]
    # the rollout: Black 1, White 3, Black 2 (White had it first), two passes
    trace = np.array([1, 3, 2, n, n], np.int32)
    searcher.backup_amaf(Leaf(b, path), black=1.0, score=5.0, trace=trace)
    # root (Black): 0 (tree) and 1 (rollout) were Black's first; 2 was White's; pass never
    assert root.AN.tolist() == [1, 1, 0, 0]
    assert root.AU.tolist() == [1.0, 1.0, 0.0, 0.0]        # Black won: worth 1 to Black
    # child (White): its own 2 and the rollout's 3; 1 was Black's
    assert child.AN.tolist() == [0, 1, 1, 0]
    assert child.AU.tolist() == [0.0, 0.0, 0.0, 0.0]       # worth 0 to White


def test_rave_lets_amaf_evidence_lift_an_unvisited_edge():
    """Edge 0: prior 0.95, 10 visits at 0.5. Edge 1: prior 0.05, unvisited, but 9 wins in
    10 AMAF visits. Without RAVE the unvisited edge sits at first-play urgency (0.32) and
    edge 0 is taken; with RAVE its value is the AMAF one (0.86) and it is tried."""
    node = Node(np.array([10, 20]), np.array([0.95, 0.05]), BLACK)
    node.N[:] = [10, 0]
    node.W[:] = node.U[:] = [5.0, 0.0]
    node.AN[:] = [10, 10]
    node.AU[:] = [5.0, 9.0]
    assert node.select(2.0, 0.25, rave_equiv=0.0) == 0
    assert node.select(2.0, 0.25, rave_equiv=4000.0) == 1
    # once visited, beta = AN / (AN + N + N * AN / equiv) weighs the edge's own result in
    node.N[:] = [10, 400]
    node.U[:] = [5.0, 40.0]                 # 0.1: its AMAF promise did not hold
    assert node.select(2.0, 0.25, rave_equiv=4000.0) == 0


def test_search_with_rave_and_tactics_keeps_its_bookkeeping():
    cfg = SearchConfig(rave_equiv=4000, playout_capture=0.9, playout_self_atari=0.6, expand_threshold=1)
    s = Searcher(None, threads=1, config=cfg, seed=3)
    b = Board(19, 7.5, superko=True)
    for mv in (72, 288, 60, 300):
        b.play(mv)
    root = s.search(b, playouts=120)
    assert root.N.sum() == 120
    assert (root.AN >= root.N).all()        # every visit of an edge is also an AMAF visit
    assert root.AN.sum() > root.N.sum()     # ... and the rollouts credit many more


def test_prior_as_virtual_experience_by_hand():
    """prior_eqex 100, even_eqex 20: edge 0 (P 0.64: 80 virtual wins) has 10 real visits all
    lost: (0 + 10 + 80) / (10 + 20 + 80) = 0.818; edge 1 (P 0.25: 50 virtual wins), unvisited:
    (10 + 50) / (20 + 50) = 0.857, so edge 1 is next (c_puct 0, no RAVE). Pass (last edge)
    gets no virtual wins: unvisited, it sits at first-play urgency."""
    node = Node(np.array([10, 20, 81]), np.array([0.64, 0.25, 0.11]), BLACK)
    node.N[:] = [10, 0, 0]
    assert node.select(0.0, 0.25, prior_eqex=100.0, even_eqex=20.0) == 1
    node.U[0] = 4.0          # 4 wins in 10: (4 + 90) / 110 = 0.855 < 0.857 still
    assert node.select(0.0, 0.25, prior_eqex=100.0, even_eqex=20.0) == 1
    node.U[0] = 5.0          # (5 + 90) / 110 = 0.864
    assert node.select(0.0, 0.25, prior_eqex=100.0, even_eqex=20.0) == 0


def test_progressive_prior_tapers_with_the_move_number(monkeypatch):
    """Pachi's progressive prior (the default): 1300 at move 0, 900 from move 150 on, linear
    between; with prior_eqex_late < 0 or equal to prior_eqex the weight is flat. The tree walk asks for the weight at
    each node's own move number (root move + depth)."""
    cfg = SearchConfig(prior_eqex=1300, prior_eqex_late=900)
    assert [cfg.prior_weight(m) for m in (0, 75, 150, 400)] == [1300.0, 1100.0, 900.0, 900.0]
    assert SearchConfig(prior_eqex=500, prior_eqex_late=-1).prior_weight(75) == 500.0    # flat
    assert SearchConfig(prior_eqex=500, prior_eqex_late=500).prior_weight(75) == 500.0   # ... as the CLI says it
    seen = []
    real = Node.select

    def spy(self, c_puct, fpu, rave_equiv=0.0, prior_eqex=0.0, even_eqex=0.0):
        seen.append(prior_eqex)
        return real(self, c_puct, fpu, rave_equiv, prior_eqex, even_eqex)

    monkeypatch.setattr(Node, "select", spy)
    b = Board(19, 7.5, superko=True)
    for mv in range(0, 60, 2):       # 30 moves in
        b.play(mv)
    Searcher(None, threads=1, config=SearchConfig(prior_eqex=1300, prior_eqex_late=900, expand_threshold=1),
             seed=1).search(b, playouts=40)
    assert seen and max(seen) == 1300 - 400 * 30 / 150 and min(seen) < max(seen)   # deeper nodes: later
