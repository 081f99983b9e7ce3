"""Drawing a :class:`~gopolicy.go.board.Board`: a text diagram (``ansi``) and an
RGB image (``rgb_array``) made with numpy alone (no pygame, PIL or matplotlib).

The image is a pure function of the position (and the last move), so it is
reproducible: the same game gives the same pixels.

Layout of the image: a wooden square of ``cell * (size + 1)`` pixels, grid
lines ``cell`` pixels apart with a margin of ``cell`` around them, row 0 of the
board (GTP line 1) at the *bottom* and column 0 (GTP ``A``) at the left, as on
a printed board; star points (hoshi), anti-aliased black and white stones and a
red dot on the last move.
"""
from __future__ import annotations

import numpy as np

from gopolicy.go.coords import BLACK, COLOR_NAMES, WHITE, to_gtp

WOOD = np.array([220, 179, 92], np.float32)
LINE = np.array([40, 30, 20], np.float32)
BLACK_STONE = np.array([20, 20, 20], np.float32)
WHITE_STONE = np.array([240, 240, 235], np.float32)
STONE_EDGE = np.array([60, 60, 60], np.float32)
MARKER = np.array([220, 30, 30], np.float32)


def star_points(size: int) -> list[tuple[int, int]]:
    """Hoshi (row, col) for a board of ``size``: the 4-4 (3-3 below 13x13)
    points, the side stars on odd boards >= 13x13 and tengen on odd boards."""
    if size < 7:
        return [(size // 2, size // 2)] if size % 2 else []
    e = 3 if size >= 13 else 2
    lines = [e, size - 1 - e]
    if size % 2 and size >= 13:
        lines.insert(1, size // 2)
    pts = {(r, c) for r in lines for c in lines}
    if size % 2:
        pts.add((size // 2, size // 2))
    return sorted(pts)


def ansi(board, last_move: int | None = None, header: bool = True) -> str:
    """The board as text with GTP coordinates (``X`` black, ``O`` white, ``#``
    a point forbidden by simple ko, ``(X)`` the last move), plus a status line."""
    text = str(board)
    if not header:
        return text
    status = f"move {board.move_count}, {COLOR_NAMES[board.to_move]} to play, komi {board.komi:g}"
    if board.moves:
        color, mv = board.moves[-1]
        status += f", last: {COLOR_NAMES[color]} {to_gtp(mv, board.size)}"
    return text + "\n" + status + "\n"


def _disc_alpha(dist: np.ndarray, radius: float) -> np.ndarray:
    """Coverage of a disc of ``radius`` at pixel-centre distance ``dist`` (1-px ramp)."""
    return np.clip(radius + 0.5 - dist, 0.0, 1.0)


def rgb_array(board, cell: int | None = None, last_move: int | None = None) -> np.ndarray:
    """The board as an ``(H, W, 3)`` uint8 image, ``H = W = cell * (size + 1)``.

    ``cell`` (pixels between lines) defaults to 32 for boards up to 9x9,
    else 24 (19x19 -> 480 x 480). ``last_move`` defaults to the board's last
    non-pass move.
    """
    size = board.size
    if cell is None:
        cell = 32 if size <= 9 else 24
    cell = int(cell)
    if cell < 6:
        raise ValueError(f"cell must be >= 6 pixels, got {cell}")
    side = cell * (size + 1)
    img = np.empty((side, side, 3), np.float32)
    img[:] = WOOD
    # A little deterministic wood grain: horizontal bands of varying brightness.
    ys = np.arange(side, dtype=np.float32)
    grain = 6.0 * np.sin(ys * 0.21) + 4.0 * np.sin(ys * 0.057 + 1.3)
    img += grain[:, None, None]

    # Grid: pixel coordinate of line i is cell*(i+1); image row for board row r
    # is flipped so that row 0 (GTP line 1) is at the bottom.
    lo, hi = cell, cell * size
    thin = max(1, cell // 16)
    for i in range(size):
        w = 2 * thin if i in (0, size - 1) else thin  # a heavier outline
        p = cell * (i + 1)
        a, b = p - w // 2, p - w // 2 + w
        img[a:b, lo - thin:hi + thin + 1] = LINE
        img[lo - thin:hi + thin + 1, a:b] = LINE

    def centre(r: int, c: int) -> tuple[int, int]:
        return cell * (size - r), cell * (c + 1)

    # Local patch of pixel offsets around a point, reused for every disc.
    half = cell // 2 + 1
    off = np.arange(-half, half + 1, dtype=np.float32)
    dist = np.sqrt(off[:, None] ** 2 + off[None, :] ** 2)

    def paint(r: int, c: int, colour: np.ndarray, alpha: np.ndarray) -> None:
        y, x = centre(r, c)
        y0, x0 = y - half, x - half
        ya, xa = max(y0, 0), max(x0, 0)
        yb, xb = min(y0 + 2 * half + 1, side), min(x0 + 2 * half + 1, side)
        a = alpha[ya - y0:yb - y0, xa - x0:xb - x0, None]
        patch = img[ya:yb, xa:xb]
        patch[:] = patch * (1 - a) + colour * a

    star = _disc_alpha(dist, max(1.5, cell / 10))
    for r, c in star_points(size):
        paint(r, c, LINE, star)

    radius = cell * 0.47
    outer = _disc_alpha(dist, radius)
    inner = _disc_alpha(dist, radius - max(1.0, cell / 24))
    grid = board.grid()
    for r, c in zip(*np.nonzero(grid)):
        if grid[r, c] == BLACK:
            paint(r, c, BLACK_STONE, outer)
        elif grid[r, c] == WHITE:
            paint(r, c, STONE_EDGE, outer)
            paint(r, c, WHITE_STONE, inner)

    if last_move is None:
        last_move = board.moves[-1][1] if board.moves else -1
    if 0 <= last_move < size * size and grid.flat[last_move] != 0:
        r, c = divmod(int(last_move), size)
        paint(r, c, MARKER, _disc_alpha(dist, max(2.0, cell * 0.16)))

    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
