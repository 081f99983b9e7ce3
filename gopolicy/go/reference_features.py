"""A slow, independent implementation of the AlphaGo planes on sgfmill's board.

Two jobs: a test oracle for :mod:`gopolicy.go.features` (it shares no code with
the numba kernels: every move is simulated with ``sgfmill.boards.Board.play``)
and the naive baseline of ``scripts/bench.py`` (the per-point "copy the board
and play" approach of dlgo-style encoders). Ladder planes (44, 45) are left at
zero here; they are checked on hand-drawn positions instead.
"""
from __future__ import annotations

import numpy as np
from sgfmill import boards

_COLOUR = {1: "b", 2: "w"}


def _string_and_libs(board: boards.Board, r: int, c: int):
    colour = board.get(r, c)
    size = board.side
    stack, seen, libs = [(r, c)], {(r, c)}, set()
    while stack:
        pr, pc = stack.pop()
        for qr, qc in ((pr - 1, pc), (pr + 1, pc), (pr, pc - 1), (pr, pc + 1)):
            if not (0 <= qr < size and 0 <= qc < size) or (qr, qc) in seen:
                continue
            v = board.get(qr, qc)
            if v is None:
                libs.add((qr, qc))
            elif v == colour:
                seen.add((qr, qc))
                stack.append((qr, qc))
    return seen, libs


def reference_planes(board: boards.Board, color: int, ages: dict, ko: tuple | None) -> np.ndarray:
    """Planes 0-43 and 46 for ``color`` (1 black, 2 white) to move.

    ``ages[(r, c)]`` = moves since the stone was played (1 = last move; absent
    = setup stone); ``ko`` = the point the simple-ko rule forbids, or None.
    """
    size = board.side
    me, opp = _COLOUR[color], _COLOUR[3 - color]
    out = np.zeros((48, size, size), np.uint8)
    out[3] = 1
    for r in range(size):
        for c in range(size):
            v = board.get(r, c)
            if v is not None:
                out[0 if v == me else 1, r, c] = 1
                out[4 + min(ages.get((r, c), 8), 8) - 1, r, c] = 1
                _, libs = _string_and_libs(board, r, c)
                out[12 + min(len(libs), 8) - 1, r, c] = 1
                continue
            out[2, r, c] = 1
            if ko == (r, c):
                continue
            after = board.copy()
            before_opp = sum(1 for _, pt in board.list_occupied_points() if after.get(*pt) == opp)
            after.play(r, c, me)
            if after.get(r, c) != me:   # sgfmill plays suicide by removing the string
                continue
            captured = before_opp - sum(1 for col, _ in after.list_occupied_points() if col == opp)
            stones, libs = _string_and_libs(after, r, c)
            out[20 + min(captured, 7), r, c] = 1
            if len(libs) == 1:
                out[28 + min(len(stones), 8) - 1, r, c] = 1
            out[36 + min(len(libs), 8) - 1, r, c] = 1
            if not _is_eye(board, r, c, me, opp):
                out[46, r, c] = 1
    return out


def _is_eye(board, r, c, me, opp) -> bool:
    size = board.side
    for qr, qc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
        if 0 <= qr < size and 0 <= qc < size and board.get(qr, qc) != me:
            return False
    diags = [(qr, qc) for qr, qc in ((r - 1, c - 1), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c + 1))
             if 0 <= qr < size and 0 <= qc < size]
    bad = sum(1 for q in diags if board.get(*q) == opp)
    return bad == 0 if len(diags) < 4 else bad <= 1


def replay_reference(game, every: int = 1):
    """Yield ``(planes, color, move_number)`` before every non-pass move of a
    :class:`gopolicy.corpus.sgf.Game` (only every ``every``-th move number),
    maintained with sgfmill alone."""
    size = game.size
    board = boards.Board(size)
    placed: dict = {}
    number = 0
    ko = None
    for ev in game.events:
        if ev[0] == "setup":
            black, white, empty = ([divmod(p, size) for p in pts] for pts in ev[1:4])
            board.apply_setup(black, white, empty)
            for pt in black + white + empty:
                placed.pop(pt, None)
            ko = None
            continue
        _, color, move = ev
        number += 1
        if move != size * size:
            if number % every == 0:
                ages = {pt: number - k for pt, k in placed.items()}
                yield reference_planes(board, color, ages, ko), color, number
            r, c = divmod(move, size)
            ko = board.play(r, c, _COLOUR[color])
            placed = {pt: k for pt, k in placed.items() if board.get(*pt) is not None}
            placed[(r, c)] = number
        else:
            ko = None
