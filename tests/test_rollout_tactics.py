"""The playout tactics (:mod:`gopolicy.rollout.tactics`) on hand-drawn positions: what the
local atari check answers, what counts as a bad self-atari, and that the playouts obey the
rules at probability 1 and ignore them at 0."""
from __future__ import annotations

import numpy as np

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.rollout import pattern_tables as P
from gopolicy.rollout import tactics as T
from gopolicy.rollout.playout import Rollouts
from gopolicy.rollout.tactics import NO_TACTICS, PlayoutTactics
from tests.test_rollout_features import refreshed, state_of


def pt(name: str, size: int = 7) -> int:
    return from_gtp(name, size)


def names(points, size: int = 7) -> set[str]:
    from gopolicy.go.coords import to_gtp
    return {to_gtp(int(p), size) for p in points}


def atari_moves(b: Board):
    S, meta = state_of(b)
    pp = refreshed(S, meta, b.size)
    out = np.empty(b.n, np.int32)
    k, forced = T.local_atari_moves(S, meta, P.tables(b.size).nbr, pp.val, b.to_move, out)
    return names(out[:k], b.size), bool(forced)


def after(diagram: str, last: str, to_move: int) -> Board:
    """The position, ``last`` the opponent's previous move."""
    b = Board.from_diagram(diagram, to_move=to_move)
    b.moves.append((3 - to_move, pt(last, b.size)))
    return b


def test_the_last_moves_string_in_atari_is_captured():
    # White's D4 was played into atari: Black takes it at its liberty
    b = after("""
        . . . . . . .
        . . . . . . .
        . . . X . . .
        . . X O X . .
        . . . . . . .
        . . . . . . .
        . . . . . . .""", "D4", BLACK)
    assert atari_moves(b) == ({"D3"}, False)


def test_a_big_string_in_atari_is_saved_by_extending_and_the_save_is_forced():
    # White's D3 leaves B4-D4 one liberty, E4, where the string gets E5, E3 and F4
    b = after("""
        . . . . . . .
        . . . . . . .
        . O O O . . .
        O X X X . . .
        . O O O . . .
        . . . . . . .
        . . . . . . .""", "D3", BLACK)
    assert atari_moves(b) == ({"E4"}, True)
    # the same stones with two liberties: nothing to answer
    b = after("""
        . . . . . . .
        . . . . . . .
        . O O O . . .
        . X X X . . .
        . O O O . . .
        . . . . . . .
        . . . . . . .""", "D3", BLACK)
    assert atari_moves(b) == (set(), False)


def test_an_escape_into_two_liberties_is_left_to_the_policy_but_capturing_an_attacker_is_not():
    # White's E4 puts D4 in atari and is itself in atari: D3 would give D4 only two
    # liberties (a ladder the playout cannot read), so the answer is E3, capturing E4
    b = after("""
        . . . . . . .
        . . . . . . .
        . . . O X . .
        . . O X O X .
        . . O . . . .
        . . . . . . .
        . . . . . . .""", "E4", BLACK)
    assert atari_moves(b) == ({"E3"}, False)


def test_bad_self_atari_spares_lone_stones_and_captures():
    b = Board.from_diagram("""
        . . . . . . .
        . . . . . . .
        . . . O . . .
        . . O X O . .
        . . O . O . .
        . . . . . . .
        . . . . . . .""", to_move=BLACK)
    S, meta = state_of(b)
    nbr = P.tables(7).nbr
    assert T.bad_self_atari(S, meta, nbr, pt("D3"), BLACK)           # joins D4, one liberty left
    assert not T.bad_self_atari(S, meta, nbr, pt("A1"), BLACK)       # a lone stone
    b2 = Board.from_diagram("""
        . . . . . . .
        . . . . . . .
        . . . O . . .
        . . O X O . .
        . . . . . . .
        . . . . . . .
        . . . . . . .""", to_move=WHITE)
    S2, meta2 = state_of(b2)
    assert not T.bad_self_atari(S2, meta2, nbr, pt("D3"), WHITE)     # captures D4


def test_playouts_answer_the_atari_at_probability_one_only():
    b = after("""
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . X . . . .
        . . . X O X . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .""", "E5", BLACK)
    capture = from_gtp("E4", 9)
    on = Rollouts(9, 7.5, policy="uniform", tactics=PlayoutTactics(capture=1.0, self_atari=0.0))
    off = Rollouts(9, 7.5, policy="uniform", tactics=NO_TACTICS)
    first_on = {int(on.run(b, n=1, seed=s).trace[0]) for s in range(20)}
    first_off = {int(off.run(b, n=1, seed=s).trace[0]) for s in range(20)}
    assert first_on == {capture}
    assert len(first_off) > 5


def test_zero_rates_draw_no_random_numbers():
    """NO_TACTICS plays the same playouts as the policy alone always did: the rules draw no
    random number when off, so a seed gives one game whatever the rates' object."""
    b = Board(9, 7.5)
    for mv in ("E5", "C3", "G7", "D5"):
        b.play(from_gtp(mv, 9))
    a = Rollouts(9, 7.5, policy="uniform", tactics=NO_TACTICS).run(b, n=3, seed=5)
    c = Rollouts(9, 7.5, policy="uniform", tactics=PlayoutTactics(0.0, 0.0)).run(b, n=3, seed=5)
    t = Rollouts(9, 7.5, policy="uniform", tactics=PlayoutTactics(0.9, 0.6)).run(b, n=3, seed=5)
    assert np.array_equal(a.trace, c.trace) and np.array_equal(a.scores, c.scores)
    assert not np.array_equal(a.trace, t.trace)
