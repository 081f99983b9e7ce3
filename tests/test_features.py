"""The 48 AlphaGo planes on hand-drawn positions (diagrams: top row first),
one test per plane family, plus symmetry equivariance on many positions."""
from pathlib import Path

import numpy as np

from gopolicy.go import symmetry
from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.go.features import PLANE_NAMES, describe, planes

LADDER = """
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . X O . . . . . .
    . . X X . . . . .
    . . . . . . . . .
"""


def at(p, plane, vertex):
    size = p.shape[-1]
    return int(p[plane].reshape(-1)[from_gtp(vertex, size)])


def block(p, first, count, vertex):
    """Index within a one-hot block (first..first+count-1) set at vertex, or None."""
    vals = [at(p, first + i, vertex) for i in range(count)]
    assert sum(vals) <= 1, f"block {first} not one-hot at {vertex}: {vals}"
    return vals.index(1) if 1 in vals else None


def test_shape_dtype_and_constant_planes():
    b = Board()
    p = planes(b)
    assert p.shape == (48, 19, 19) and p.dtype == np.uint8
    assert p[3].all() and not p[47].any() and p[2].all()
    assert planes(b, colour_plane=True)[48].all()
    assert not planes(b, WHITE, colour_plane=True)[48].any()
    assert len(PLANE_NAMES) == 49


def test_stone_colour_is_relative_to_player():
    b = Board(9)
    b.play(from_gtp("E5", 9))               # black stone, white to move
    p = planes(b)
    assert at(p, 1, "E5") == 1 and at(p, 0, "E5") == 0 and at(p, 2, "E5") == 0
    p = planes(b, BLACK)
    assert at(p, 0, "E5") == 1


def test_turns_since_counts_passes_and_setup_is_old():
    b = Board(9)
    b.setup(white=[from_gtp("A1", 9)])
    for v in ("C3", "D4", "pass", "E5"):
        b.play(from_gtp(v, 9))
    p = planes(b)
    assert block(p, 4, 8, "E5") == 0      # last move
    assert block(p, 4, 8, "D4") == 2      # two moves ago (the pass counts)
    assert block(p, 4, 8, "C3") == 3
    assert block(p, 4, 8, "A1") == 7      # setup stone: 8 or more
    assert block(p, 4, 8, "J9") is None   # empty


def test_liberties_of_strings():
    b = Board.from_diagram("""
        X X . . .
        O . . . .
        . . . . .
        . . . . .
        . . . . .
    """)
    p = planes(b)
    assert block(p, 12, 8, "A5") == 1     # black string A5-B5: liberties C5, B4
    assert block(p, 12, 8, "A4") == 1     # white A4: A3, B4
    assert block(p, 12, 8, "A5") == block(p, 12, 8, "B5")


def test_capture_size_several_strings_at_once_and_illegal_points_zero():
    b = Board.from_diagram("""
        . . . . .
        . X X X .
        X O . O X
        . X X X .
        . . . . .
    """)
    p = planes(b, BLACK)
    assert block(p, 20, 8, "C3") == 2     # captures B3 and D3
    assert block(p, 20, 8, "E5") == 0     # legal, captures nothing
    # For White, C3 is suicide: zero in every legal-move plane
    pw = planes(b, WHITE)
    assert not pw[20:47, 2, 2].any()
    assert at(pw, 2, "C3") == 1


def test_snapback_self_atari_and_liberties_after():
    b = Board.from_diagram("""
        . . . . .
        . . . . .
        O O O O .
        X X X O .
        . . X O .
    """, to_move=WHITE)
    p = planes(b)
    assert block(p, 28, 8, "B1") == 0     # self-atari of size 1
    assert block(p, 36, 8, "B1") == 0     # one liberty after
    assert block(p, 20, 8, "B1") == 0     # captures nothing
    b.play(from_gtp("B1", 5))
    p = planes(b)                          # Black: A1 captures B1 but is left in atari
    assert block(p, 20, 8, "A1") == 1
    assert block(p, 28, 8, "A1") == 4     # self-atari size 5
    b.play(from_gtp("A1", 5))
    p = planes(b)
    assert block(p, 20, 8, "B1") == 5     # the snapback takes 5
    assert block(p, 36, 8, "B1") == 2     # A1, C1, B2 free again


def test_ko_recapture_is_illegal_then_legal_after_a_threat():
    b = Board.from_diagram("""
        . . . . .
        . X O . .
        X O . O .
        . X O . .
        . . . . .
    """)
    b.play(from_gtp("C3", 5))             # Black takes the ko
    p = planes(b)                          # White to move: B3 is the ko point
    assert not p[20:47].reshape(27, -1)[:, from_gtp("B3", 5)].any()
    b.play(from_gtp("E5", 5))
    b.play(from_gtp("E1", 5))
    p = planes(b)
    assert block(p, 20, 8, "B3") == 1 and at(p, 46, "B3") == 1


def test_sensibleness_true_and_false_eyes_edge():
    b = Board.from_diagram("""
        . X . X .
        X . X . X
        . X . X O
        . . X . .
        . . . . .
    """)
    p = planes(b, BLACK)
    for eye in ("A5", "B4", "C5", "D4", "C3"):
        assert at(p, 46, eye) == 0, eye
    assert at(p, 46, "A1") == 1 and at(p, 46, "A3") == 1
    pw = planes(b, WHITE)
    assert not pw[20:47, 3, 3].any()     # D4 is suicide for White: all zero
    assert at(pw, 46, "A1") == 1
    false_eye = Board.from_diagram("""
        . . . . .
        . O X . .
        . X . X .
        . . X O .
        . . . . .
    """)
    assert at(planes(false_eye, BLACK), 46, "C3") == 1


def test_ladder_capture_works_and_breaker_stops_it():
    b = Board.from_diagram(LADDER)
    p = planes(b, BLACK)
    assert at(p, 44, "C4") == 1            # the ladder runs to the edge
    assert at(p, 44, "D3") == 0            # atari the wrong way: White gets 3 liberties
    assert p[44].sum() == 1
    b.setup(white=[from_gtp("G7", 9)])     # breaker on the ladder's path
    assert planes(b, BLACK)[44].sum() == 0


def test_ladder_escape_only_with_breaker_or_counter_atari():
    b = Board.from_diagram(LADDER)
    b.setup(black=[from_gtp("C4", 9)])     # White C3 in atari, White to move
    p = planes(b, WHITE)
    assert at(p, 45, "D3") == 0            # extending fails: ladder works
    assert at(p, 36 + 1, "D3") == 1        # ...though it has 2 liberties after
    breaker = b.copy()
    breaker.setup(white=[from_gtp("G7", 9)])
    assert at(planes(breaker, WHITE), 45, "D3") == 1
    counter = b.copy()                     # the chasing stones C2-D2 get into atari
    counter.setup(white=[from_gtp(v, 9) for v in ("C1", "B2", "D1")])
    assert at(planes(counter, WHITE), 45, "D3") == 1


def test_ladder_escape_with_three_liberties_and_no_candidates():
    b = Board.from_diagram("""
        . . . . .
        . . . . .
        . X O . .
        . . X . .
        . . . . .
    """)
    b.setup(black=[from_gtp("C4", 5)])
    p = planes(b, WHITE)                   # White C3 in atari: D3 gives 3 liberties
    assert at(p, 45, "D3") == 1
    assert planes(Board(9))[44:46].sum() == 0


def test_describe_dump_is_readable():
    b = Board.from_diagram(LADDER)
    text = describe(planes(b, BLACK))
    assert "ladder_capture" in text and "plane 44" in text


def _random_positions(n_games=6, moves=120, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_games):
        b = Board(19)
        for _ in range(moves):
            mask = b.legal_mask()
            mask[-1] = False
            pts = np.flatnonzero(mask)
            b.play(int(rng.choice(pts)) if len(pts) else b.pass_move)
            out.append(b.copy())
    return out


def _shipped_positions(limit=400):
    from gopolicy.corpus import sgf as sgf_io

    data = Path(__file__).resolve().parents[1] / "data" / "selfplay"
    out = []
    for name, raw in sgf_io.iter_sources([data]):
        try:
            game = sgf_io.parse_game(raw, name)
            for board, color, move, n in sgf_io.replay(game):
                if n % 7 == 0:
                    out.append(board.copy())
        except sgf_io.SkipGame:
            continue
        if len(out) >= limit:
            break
    return out


def transformed(board, s):
    """The same position under symmetry s (stones, ages and ko move together)."""
    t = board.copy()
    m = symmetry.point_map(s, board.size)[: board.n]
    t.stones = np.empty_like(board.stones)
    t.placed_at = np.empty_like(board.placed_at)
    t.stones[m] = board.stones
    t.placed_at[m] = board.placed_at
    t.ko = int(m[board.ko]) if board.ko >= 0 else -1
    return t


def test_planes_are_equivariant_under_the_8_symmetries():
    positions = _random_positions()
    try:
        positions += _shipped_positions()
    except (ImportError, FileNotFoundError):
        pass
    checked = 0
    for board in positions:
        base = planes(board)
        for s in range(1, 8):
            got = planes(transformed(board, s))
            assert np.array_equal(got, symmetry.apply_np(base, s)), (s, board.move_count)
        checked += 1
    assert checked >= 300
