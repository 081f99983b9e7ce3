"""The rules of Go: a board for sizes 2..19 with captures, ko, superko, passes,
setup stones, undo, Zobrist hashing, eyes and area scoring.

State is a few numpy arrays (minigo's ``go.py`` style); the heavy lifting
(strings, liberties, captures, move analysis) is in :mod:`gopolicy.go.rules_kernels`
so that the board, the feature planes and the ladder reader share one
implementation of the rules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gopolicy.go import rules_kernels as K
from gopolicy.go.coords import BLACK, EMPTY, GTP_COLUMNS, WHITE, opponent, to_gtp

# placed_at value of setup/handicap stones: older than any move, so they count
# as "8 or more turns ago" in the feature planes.
SETUP_TIME = -(1 << 20)


class IllegalMove(ValueError):
    """A move the rules forbid (occupied, suicide, ko, superko, off the board)."""


def _zobrist(size: int) -> np.ndarray:
    rng = np.random.default_rng(0x60B0A11 + size)
    return rng.integers(1, 2**63, size=(3, size * size), dtype=np.uint64)


_ZOBRIST: dict[int, np.ndarray] = {}


def zobrist_table(size: int) -> np.ndarray:
    if size not in _ZOBRIST:
        _ZOBRIST[size] = _zobrist(size)
    return _ZOBRIST[size]


@dataclass
class MoveAnalysis:
    """Per-point consequences of a move by ``color`` (see ``analyze_moves``)."""

    color: int
    legal: np.ndarray       # uint8 [n]
    capture: np.ndarray     # int32 [n] stones captured
    libs_after: np.ndarray  # int32 [n] liberties of the new string
    size_after: np.ndarray  # int32 [n] size of the new string


class Board:
    """A Go position plus the history needed for ko, superko, undo and features."""

    def __init__(self, size: int = 19, komi: float = 7.5, superko: bool = False):
        if not 2 <= size <= 19:
            raise ValueError(f"board size must be 2..19, got {size}")
        self.size = size
        self.n = size * size
        self.komi = float(komi)
        self.superko = superko
        self.nbr, self.diag = K.neighbour_tables(size)
        self._zob = zobrist_table(size)
        self.stones = np.zeros(self.n, np.int8)
        self.placed_at = np.zeros(self.n, np.int32)  # move_count when each stone was played
        self.to_move = BLACK
        self.move_count = 0
        self.ko = -1
        self.hash = np.uint64(0)
        self.consecutive_passes = 0
        self.moves: list[tuple[int, int]] = []
        self.history: set[int] = {0}  # position hashes seen (positional superko)
        self._undo: list[tuple] = []
        self._strings = K.Strings(self.n)
        self._removed = np.empty(self.n, np.int32)

    @classmethod
    def from_diagram(cls, text: str, to_move: int = BLACK, komi: float = 7.5,
                     superko: bool = False) -> "Board":
        """Board from an ASCII diagram: one line per row, top row first;
        ``X``/``B`` black, ``O``/``W`` white, ``.``/``+`` empty; spaces ignored.
        Stones count as setup stones (>= 8 moves old)."""
        rows = [ln.replace(" ", "") for ln in text.strip().splitlines() if ln.strip()]
        size = len(rows)
        if any(len(r) != size for r in rows):
            raise ValueError("diagram must be square")
        board = cls(size, komi, superko)
        black, white = [], []
        for i, line in enumerate(rows):
            r = size - 1 - i
            for c, ch in enumerate(line):
                if ch in "XB":
                    black.append(r * size + c)
                elif ch in "OW":
                    white.append(r * size + c)
                elif ch not in ".+":
                    raise ValueError(f"bad diagram character {ch!r}")
        board.setup(black, white)
        board._undo.clear()
        board.to_move = to_move
        return board

    # ------------------------------------------------------------------ basics
    @property
    def pass_move(self) -> int:
        return self.n

    @property
    def last_moves(self) -> tuple[int, int]:
        """(last move, the move before it); -1 where there is none, ``n`` for a pass. Read from
        ``moves``, so play(), undo() and copy() keep it."""
        m = self.moves
        return (m[-1][1] if m else -1, m[-2][1] if len(m) > 1 else -1)

    def captured_by_last_move(self) -> np.ndarray:
        """The points whose stones the last move captured (int32, empty after a pass or
        when there is no move to undo)."""
        if not self._undo:
            return np.zeros(0, np.int32)
        before = self._undo[-1][0]
        return np.flatnonzero((before != 0) & (self.stones == 0)).astype(np.int32)

    def copy(self) -> "Board":
        b = Board.__new__(Board)
        b.__dict__.update(self.__dict__)
        b.stones = self.stones.copy()
        b.placed_at = self.placed_at.copy()
        b.moves = list(self.moves)
        b.history = set(self.history)
        b._undo = list(self._undo)
        b._strings = K.Strings(self.n)
        b._removed = np.empty(self.n, np.int32)
        return b

    def grid(self) -> np.ndarray:
        """Stones as ``(size, size)`` indexed ``[row, col]`` (row 0 = GTP line 1)."""
        return self.stones.reshape(self.size, self.size)

    def _snapshot(self) -> tuple:
        return (self.stones.copy(), self.placed_at.copy(), self.to_move, self.move_count,
                self.ko, self.hash, self.consecutive_passes, len(self.moves), set(self.history))

    def undo(self) -> None:
        """Take back the last play or setup; IndexError when there is none."""
        if not self._undo:
            raise IndexError("nothing to undo")
        (stones, placed_at, self.to_move, self.move_count, self.ko, self.hash,
         self.consecutive_passes, nmoves, history) = self._undo.pop()
        # Copies: snapshots may be shared with a Board.copy() made earlier.
        self.stones, self.placed_at, self.history = stones.copy(), placed_at.copy(), set(history)
        del self.moves[nmoves:]

    # ------------------------------------------------------------------ setup
    def setup(self, black=(), white=(), empty=()) -> None:
        """Place or clear stones without captures (SGF AB/AW/AE, handicap)."""
        self._undo.append(self._snapshot())
        for pts, col in ((black, BLACK), (white, WHITE), (empty, EMPTY)):
            for p in pts:
                p = int(p)
                if not 0 <= p < self.n:
                    raise ValueError(f"setup point {p} off the board")
                old = int(self.stones[p])
                if old:
                    self.hash ^= self._zob[old, p]
                if col:
                    self.hash ^= self._zob[col, p]
                self.stones[p] = col
                self.placed_at[p] = SETUP_TIME if col else 0
        self.ko = -1
        self.history.add(int(self.hash))

    # ------------------------------------------------------------------ analysis
    def analyze(self, color: int | None = None) -> MoveAnalysis:
        """What a move of ``color`` at each point would do (legality under simple ko)."""
        color = self.to_move if color is None else color
        s = self._strings
        s.label(self.stones, self.nbr)
        legal = np.empty(self.n, np.uint8)
        capture = np.empty(self.n, np.int32)
        libs_after = np.empty(self.n, np.int32)
        size_after = np.empty(self.n, np.int32)
        ko = self.ko if color == self.to_move else -1
        K.analyze_moves(self.stones, self.nbr, ko, color, s.sid, s.size_of, s.libs_of,
                        s.order, s.start, s.lib_list, s.lib_start,
                        legal, capture, libs_after, size_after)
        return MoveAnalysis(color, legal, capture, libs_after, size_after)

    def _hash_after(self, p: int, color: int) -> int:
        stones = self.stones.copy()
        ncap = K.play_stone(stones, self.nbr, p, color, self._removed)
        h = self.hash ^ self._zob[color, p]
        for x in self._removed[:max(ncap, 0)]:
            h ^= self._zob[3 - color, x]
        return int(h)

    def legal_mask(self, color: int | None = None) -> np.ndarray:
        """Bool ``[n + 1]``: legal points for ``color``, then pass (always legal)."""
        color = self.to_move if color is None else color
        mask = np.zeros(self.n + 1, bool)
        mask[:self.n] = self.analyze(color).legal.astype(bool)
        if self.superko:
            for p in np.flatnonzero(mask[:self.n]):
                if self._hash_after(int(p), color) in self.history:
                    mask[p] = False
        mask[self.n] = True
        return mask

    def why_illegal(self, move: int, color: int | None = None) -> str | None:
        """None if legal, else a short reason ("occupied", "suicide", "ko", "superko")."""
        color = self.to_move if color is None else color
        if move == self.n:
            return None
        if not 0 <= move < self.n:
            return "off the board"
        if self.stones[move] != EMPTY:
            return "occupied"
        if color == self.to_move and move == self.ko:
            return "ko"
        stones = self.stones.copy()
        if K.play_stone(stones, self.nbr, move, color, self._removed) < 0:
            return "suicide"
        if self.superko and self._hash_after(move, color) in self.history:
            return "superko"
        return None

    def is_legal(self, move: int, color: int | None = None) -> bool:
        return self.why_illegal(move, color) is None

    # ------------------------------------------------------------------ playing
    def play(self, move: int, color: int | None = None) -> int:
        """Play ``move`` for ``color`` (default: side to move); returns stones captured."""
        color = self.to_move if color is None else int(color)
        if color not in (BLACK, WHITE):
            raise ValueError(f"bad colour {color}")
        move = int(move)
        if move == self.n:
            self._undo.append(self._snapshot())
            self.moves.append((color, move))
            self.move_count += 1
            self.consecutive_passes += 1
            self.ko = -1
            self.to_move = opponent(color)
            return 0
        reason = self.why_illegal(move, color)
        if reason:
            where = to_gtp(move, self.size) if 0 <= move < self.n else str(move)
            raise IllegalMove(f"illegal move {where} ({reason})")
        self._undo.append(self._snapshot())
        ncap = K.play_stone(self.stones, self.nbr, move, color, self._removed)
        opp = opponent(color)
        self.hash ^= self._zob[color, move]
        captured = self._removed[:ncap]
        for x in captured:
            self.hash ^= self._zob[opp, x]
        self.placed_at[captured] = 0
        self.move_count += 1
        self.placed_at[move] = self.move_count
        # Simple ko: a single stone captured by a single stone left with one liberty.
        self.ko = -1
        if ncap == 1:
            libs = np.empty(2, np.int32)
            if K.string_liberties(self.stones, self.nbr, move, 2, libs) == 1 and \
                    all(q < 0 or self.stones[q] != color for q in self.nbr[move]):
                self.ko = int(captured[0])
        self.moves.append((color, move))
        self.history.add(int(self.hash))
        self.consecutive_passes = 0
        self.to_move = opp
        return int(ncap)

    # ------------------------------------------------------------------ eyes, score
    def is_eye(self, p: int, color: int) -> bool:
        """AlphaGo's eye: all orthogonal neighbours are ``color``'s stones and of the
        diagonal points at most one is the opponent's (none on the edge)."""
        return bool(K.is_eye(self.stones, self.nbr, self.diag, int(p), int(color)))

    def area_owner(self) -> np.ndarray:
        """Tromp-Taylor owner of each point: +1 Black, -1 White (stones, and empty
        regions reaching only that colour), 0 neutral."""
        n = self.n
        own = np.zeros(n, np.int32)
        K.area_count(self.stones, self.nbr, own, np.zeros(n, np.uint8), np.empty(n, np.int32),
                     np.empty(n, np.int32), np.empty(n, np.int32))
        return np.sign(own)

    def area(self) -> tuple[int, int]:
        """Tromp-Taylor area: (black, white) stones plus empty regions reaching only one colour."""
        own = self.area_owner()
        return int(np.count_nonzero(own > 0)), int(np.count_nonzero(own < 0))

    def area_score(self, komi: float | None = None) -> float:
        """Black's area minus White's area minus komi (> 0: Black wins)."""
        b, w = self.area()
        return b - w - (self.komi if komi is None else komi)

    # ------------------------------------------------------------------ display
    def __str__(self) -> str:
        cols = GTP_COLUMNS[:self.size]
        lines = ["   " + " ".join(cols)]
        g = self.grid()
        last = self.moves[-1][1] if self.moves else -1
        for r in range(self.size - 1, -1, -1):
            row = []
            for c in range(self.size):
                v = g[r, c]
                ch = ".XO"[v]
                if v == EMPTY and r * self.size + c == self.ko:
                    ch = "#"
                row.append(ch)
            line = f"{r + 1:2d} " + " ".join(row) + f" {r + 1:2d}"
            if 0 <= last < self.n and last // self.size == r:
                c = last % self.size
                pos = 3 + 2 * c
                line = line[:pos - 1] + "(" + line[pos] + ")" + line[pos + 2:]
            lines.append(line)
        lines.append("   " + " ".join(cols))
        return "\n".join(lines)
