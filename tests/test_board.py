"""Rules of Go, checked on hand-drawn positions (diagrams: top row first)."""
import pytest

from gopolicy.go.board import Board, IllegalMove
from gopolicy.go.coords import BLACK, WHITE, from_gtp, to_gtp


def mv(v, size=9):
    return from_gtp(v, size)


def test_capture_of_two_strings_at_once():
    b = Board.from_diagram("""
        . . . . .
        . X X X .
        X O . O X
        . X X X .
        . . . . .
    """)
    assert b.play(mv("C3", 5)) == 2
    assert b.stones[mv("B3", 5)] == 0 and b.stones[mv("D3", 5)] == 0


def test_suicide_is_illegal_but_capture_is_not():
    b = Board.from_diagram("""
        . O . . .
        O . . . .
        . . . . .
        . . . . .
        . . . . .
    """)
    assert b.why_illegal(mv("A5", 5)) == "suicide"
    with pytest.raises(IllegalMove):
        b.play(mv("A5", 5))
    assert b.legal_mask()[mv("A5", 5)] == False  # noqa: E712
    assert b.is_legal(mv("A5", 5), WHITE)


def test_simple_ko_then_legal_after_a_threat():
    b = Board.from_diagram("""
        . . . . .
        . X O . .
        X O . O .
        . X O . .
        . . . . .
    """)
    b.play(mv("C3", 5), BLACK)            # captures B3
    assert b.ko == mv("B3", 5)
    assert b.why_illegal(mv("B3", 5), WHITE) == "ko"
    assert not b.legal_mask(WHITE)[mv("B3", 5)]
    b.play(mv("E5", 5), WHITE)           # threat
    b.play(mv("E1", 5), BLACK)           # answer
    assert b.is_legal(mv("B3", 5), WHITE)
    b.play(mv("B3", 5), WHITE)           # retakes
    assert b.stones[mv("C3", 5)] == 0


def test_snapback_recapture_is_not_ko():
    b = Board.from_diagram("""
        . . . . .
        . . . . .
        O O O O .
        X X X O .
        . . X O .
    """, to_move=WHITE)
    b.play(mv("B1", 5))                   # throw-in: self-atari
    assert b.play(mv("A1", 5)) == 1       # Black takes one stone...
    assert b.ko == -1                     # ...with a 5-stone string: no ko
    assert b.play(mv("B1", 5)) == 5       # snapback


def test_superko_option_forbids_repetition():
    diagram = """
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .
    """
    b = Board.from_diagram(diagram, superko=True)
    b.play(mv("C4", 5), BLACK)  # captures B4
    # simple ko forbids immediate retake; positional superko too
    assert b.why_illegal(mv("B4", 5), WHITE) == "ko"


def test_undo_restores_everything_and_copy_is_independent():
    b = Board(9)
    h0 = b.hash
    b.play(mv("E5"))
    c = b.copy()
    b.play(mv("E6"))
    b.undo()
    b.undo()
    assert b.hash == h0 and not b.stones.any() and b.to_move == BLACK and b.move_count == 0
    assert c.stones[mv("E5")] == BLACK and c.move_count == 1
    with pytest.raises(IndexError):
        b.undo()


def test_zobrist_hash_depends_only_on_stones():
    a, b = Board(9), Board(9)
    for v in ("C3", "G7", "E5"):
        a.play(mv(v))
    b.play(mv("E5"), BLACK)
    b.play(mv("G7"), WHITE)
    b.play(mv("C3"), BLACK)
    assert a.hash == b.hash
    b.play(b.pass_move)
    assert a.hash == b.hash


def test_passes_count_as_moves():
    b = Board(9)
    b.play(b.pass_move)
    b.play(b.pass_move)
    assert b.move_count == 2 and b.consecutive_passes == 2 and b.to_move == BLACK


def test_area_scoring_tromp_taylor():
    b = Board.from_diagram("""
        . X O . .
        . X O . .
        . X O . .
        . X O . .
        . X O . .
    """)
    # Black: 5 stones + 5 empty; White: 5 stones + 10 empty.
    assert b.area() == (10, 15)
    assert b.area_score(0.5) == pytest.approx(-5.5)


def test_eye_definition_true_false_edge():
    b = Board.from_diagram("""
        . X . X .
        X . X . X
        . X . X O
        . . X . .
        . . . . .
    """)
    assert b.is_eye(mv("A5", 5), BLACK)        # corner
    assert b.is_eye(mv("B4", 5), BLACK)        # centre, no opponent diagonal
    assert b.is_eye(mv("C5", 5), BLACK)        # edge, no opponent diagonal
    assert b.is_eye(mv("D4", 5), BLACK)        # centre, one opponent diagonal (E3) allowed
    assert not b.is_eye(mv("D4", 5), WHITE)
    assert not b.is_eye(mv("A3", 5), BLACK)    # A2 is empty
    assert not b.is_eye(mv("B5", 5), BLACK)    # a stone, not an eye
    two = Board.from_diagram("""
        . . . . .
        . O X . .
        . X . X .
        . . X O .
        . . . . .
    """)
    assert not two.is_eye(mv("C3", 5), BLACK)  # two opponent diagonals: false eye
    edge = Board.from_diagram("""
        . . . . .
        . . . . .
        . . . . .
        . X O . .
        X . X . .
    """)
    assert not edge.is_eye(mv("B1", 5), BLACK)  # edge: no opponent diagonal allowed


def test_setup_stones_and_sizes():
    for size in (2, 5, 13, 19):
        b = Board(size)
        b.setup(black=[0], white=[size * size - 1])
        assert b.stones[0] == BLACK and b.stones[-1] == WHITE
    with pytest.raises(ValueError):
        Board(20)
    assert to_gtp(mv("J9"), 9) == "J9"
