"""Rollouts end, play only legal moves that never fill the mover's own eye, pass only when no
such move remains, and score exactly like Board.area_score."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from gopolicy.corpus import sgf as sgf_io
from gopolicy.go.board import Board
from gopolicy.rollout import Rollouts, TreePolicy
from gopolicy.rollout import pattern_tables as P
from gopolicy.rollout.model import RolloutPolicy


def random_policy(seed: int = 0) -> RolloutPolicy:
    """Random weights on every fixed feature (patterns all "unknown"): exercises every
    override path of the rollout kernel with a strongly non-uniform policy."""
    rng = np.random.default_rng(seed)
    return RolloutPolicy(rng.normal(0, 1.5, P.NFIX).astype(np.float32), np.zeros(0, np.int64))


def midgame_board(path, moves: int) -> Board:
    game = sgf_io.parse_game(path.read_bytes(), path.name)
    for board, _, _, number in sgf_io.replay(game):
        if number > moves:
            return board.copy()
    raise AssertionError("game too short")


def positions(shipped_sgf_files):
    ko = Board.from_diagram("""
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .""")
    ko.play(7)      # Black C4 captures at the ko? no: plays inside; keeps the position varied
    yield "empty 19", Board(19)
    yield "empty 9", Board(9, komi=7.0)
    yield "ko 5", ko
    yield "move 120", midgame_board(shipped_sgf_files[0], 120)
    yield "handicap", midgame_board(shipped_sgf_files[-1], 30)


def check_trace(board: Board, res, max_moves: int, komi: float = 0.0) -> None:
    b = board.copy()
    passes = 0
    for mv in res.trace.tolist():
        color = b.to_move
        if mv == b.n:
            # a pass: no legal move left that is not the mover's own eye
            legal = b.legal_mask()[:b.n]
            assert all(b.is_eye(int(p), color) for p in np.flatnonzero(legal)), str(b)
            b.play(b.n)
            passes += 1
        else:
            assert not b.is_eye(mv, color), f"filled own eye at {mv}\n{b}"
            b.play(mv)          # raises IllegalMove on an illegal move
            passes = 0
        if passes == 2:
            break
    assert passes == 2 or len(res.trace) == max_moves
    assert b.area_score(komi) == res.scores[0]


@pytest.mark.parametrize("policy", ["uniform", "random"])
def test_rollouts_legal_end_and_score(policy, shipped_sgf_files):
    pol = random_policy() if policy == "random" else "uniform"
    for name, board in positions(shipped_sgf_files):
        r = Rollouts(board.size, komi=0.0, policy=pol)
        before = board.stones.copy(), board.to_move, board.ko, len(board.moves)
        for seed in range(3):
            res = r.run(board, n=1, seed=seed)
            assert res.scores[0] == r.run(board, n=3, seed=seed).scores[0]
            check_trace(board, res, r.max_moves)
            # one playout: ownership sums to the area difference
            assert res.ownership_sum.sum() == pytest.approx(res.scores[0])
            assert res.black_wins == (1.0 if res.scores[0] > 0 else 0.5 if res.scores[0] == 0 else 0.0)
        assert np.array_equal(board.stones, before[0]) and board.to_move == before[1]
        assert board.ko == before[2] and len(board.moves) == before[3], name


def test_rollout_sums_and_seeds():
    board = Board(9)
    r = Rollouts(9, komi=7.5, policy=random_policy(1))
    a = r.run(board, n=20, seed=5)
    b = r.run(board, n=20, seed=5)
    assert a.n == 20 and np.array_equal(a.scores, b.scores)
    assert a.score_sum == pytest.approx(a.scores.sum())
    assert a.black_wins == np.count_nonzero(a.scores > 0)
    assert np.all(np.abs(a.ownership_sum) <= 20)
    assert float(np.abs(a.scores - np.round(a.scores + 7.5) + 7.5).max()) == 0.0
    c = r.run(board, n=20, seed=6)
    assert not np.array_equal(a.scores, c.scores)


def test_komi_and_ko_respected():
    # White to move may not retake the ko at once; Black's capture just made it.
    board = Board.from_diagram("""
        . . . . .
        . X O . .
        X O . O .
        . X O . .
        . . . . .""")
    board.play(12)              # Black C3 captures B3... (a ko shape)
    assert board.ko >= 0
    r = Rollouts(5, komi=0.5, policy="uniform")
    for seed in range(30):
        res = r.run(board, n=1, seed=seed)
        assert res.trace[0] != board.ko
        check_trace(board, res, r.max_moves, komi=0.5)


def test_threads_run_in_parallel_and_agree():
    board = Board(9)
    r = Rollouts(9, policy=random_policy(2))
    out = {}

    def work(i):
        out[i] = r.run(board, n=50, seed=i).scores

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert np.array_equal(out[0], r.run(board, n=50, seed=0).scores)
    assert np.array_equal(out[1], r.run(board, n=50, seed=1).scores)


def test_tree_policy_probabilities(shipped_sgf_files):
    board = midgame_board(shipped_sgf_files[2], 80)
    for tp in (TreePolicy.load(None), TreePolicy(random_policy(3))):
        p = tp.probabilities(board)
        assert p.dtype == np.float32 and p.shape == (board.n + 1,)
        assert p.sum() == pytest.approx(1.0, abs=1e-5)
        legal = board.legal_mask()
        assert np.all(p[:board.n][~legal[:board.n]] == 0)
        assert p[board.n] == 0
    # no candidate at all: pass gets everything
    full = Board.from_diagram("""
        X X X
        X . X
        X X X""")
    p = TreePolicy(random_policy(4)).probabilities(full)
    assert p[-1] == 1.0 and p[:-1].sum() == 0


def test_tree_policy_threads(shipped_sgf_files):
    board = midgame_board(shipped_sgf_files[3], 60)
    tp = TreePolicy(random_policy(5))
    want = tp.probabilities(board)
    got = []

    def work():
        for _ in range(20):
            got.append(np.array_equal(tp.probabilities(board), want))

    ts = [threading.Thread(target=work) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(got) == 60 and all(got)
