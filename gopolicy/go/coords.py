"""Colours, points and moves, and conversions between their spellings.

A point is a flat index ``r * size + c`` with sgfmill's ``(row, col)``: row 0 is
the line GTP calls 1 (the bottom), column 0 is GTP's ``A``. A *move* is a point
or ``PASS``; for a board of ``size`` the pass move is the integer ``size*size``
(the last action of the gym env), spelled ``pass_move(size)``.
"""
from __future__ import annotations

EMPTY, BLACK, WHITE = 0, 1, 2
GTP_COLUMNS = "ABCDEFGHJKLMNOPQRST"  # GTP skips the letter I
COLOR_NAMES = {BLACK: "black", WHITE: "white"}


def opponent(color: int) -> int:
    return 3 - color


def pass_move(size: int) -> int:
    return size * size


def point(row: int, col: int, size: int = 19) -> int:
    return row * size + col


def rowcol(pt: int, size: int = 19) -> tuple[int, int]:
    return divmod(pt, size)


def parse_color(text: str) -> int:
    t = text.strip().lower()
    if t in ("b", "black"):
        return BLACK
    if t in ("w", "white"):
        return WHITE
    raise ValueError(f"not a colour: {text!r}")


def to_gtp(move: int, size: int = 19) -> str:
    """Move index -> GTP vertex (``D4``, ``pass``)."""
    if move == pass_move(size):
        return "pass"
    if not 0 <= move < size * size:
        raise ValueError(f"move {move} off a {size}x{size} board")
    r, c = divmod(move, size)
    return f"{GTP_COLUMNS[c]}{r + 1}"


def from_gtp(text: str, size: int = 19) -> int:
    """GTP vertex -> move index; raises ValueError on anything malformed."""
    t = text.strip().upper()
    if t == "PASS":
        return pass_move(size)
    if len(t) < 2 or t[0] not in GTP_COLUMNS[:size] or not t[1:].isdigit():
        raise ValueError(f"not a vertex: {text!r}")
    c = GTP_COLUMNS.index(t[0])
    r = int(t[1:]) - 1
    if not 0 <= r < size:
        raise ValueError(f"vertex off the board: {text!r}")
    return r * size + c


def to_sgf(move: int, size: int = 19) -> str:
    """Move index -> SGF point letters (``dd``); SGF's rows count from the top."""
    if move == pass_move(size):
        return ""
    r, c = divmod(move, size)
    return "abcdefghijklmnopqrstuvwxyz"[c] + "abcdefghijklmnopqrstuvwxyz"[size - 1 - r]
