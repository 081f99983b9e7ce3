"""The game a GTP engine plays: its board, the record of set-up stones and moves,
and that record as SGF (``loadsgf``, ``printsgf``).

The board uses positional superko. ``komi`` is applied as given (no extra handicap
compensation: controllers set komi 0.5 or 0 for handicap games themselves).
"""
from __future__ import annotations

from gopolicy.corpus.sgf import SkipGame, parse_game, write_sgf
from gopolicy.go.board import Board, IllegalMove
from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.go.scoring import final_score, score_text

BOARD_SIZE = 19
DEFAULT_KOMI = 7.5
# Random playouts (gopolicy.go.scoring.estimate) behind the quick count: the network
# player's count and resignation, seki, and the result printsgf writes.
SCORE_PLAYOUTS = 64

# GTP 2 spec, section 4.1.1: fixed handicap placement on 19x19, in spec order.
FIXED_HANDICAP_19 = {
    2: ["D4", "Q16"],
    3: ["D4", "Q16", "D16"],
    4: ["D4", "Q16", "D16", "Q4"],
    5: ["D4", "Q16", "D16", "Q4", "K10"],
    6: ["D4", "Q16", "D16", "Q4", "D10", "Q10"],
    7: ["D4", "Q16", "D16", "Q4", "D10", "Q10", "K10"],
    8: ["D4", "Q16", "D16", "Q4", "D10", "Q10", "K4", "K16"],
    9: ["D4", "Q16", "D16", "Q4", "D10", "Q10", "K4", "K16", "K10"],
}


class GameError(Exception):
    """The game refuses a request; the message is GTP's error text for it."""


class Game:
    """The board and its record: ``events`` holds ``("setup", black, white)`` and
    ``("move", color, move)`` in order."""

    def __init__(self, komi: float = DEFAULT_KOMI, score_playouts: int = SCORE_PLAYOUTS):
        self.size = BOARD_SIZE
        self.komi = float(komi)
        self.score_playouts = score_playouts
        self.clear()

    def clear(self) -> None:
        self.board = Board(self.size, self.komi, superko=True)
        self.events: list[tuple] = []

    def set_komi(self, komi: float) -> None:
        self.komi = komi
        self.board.komi = komi

    # ------------------------------------------------------------ moves
    def play(self, color: int, move: int) -> None:
        try:
            self.board.play(move, color)
        except IllegalMove:
            raise GameError("illegal move") from None
        self.events.append(("move", color, move))

    def undo(self) -> None:
        if not self.events or self.events[-1][0] != "move":
            raise GameError("cannot undo")
        self.board.undo()
        self.events.pop()

    # ------------------------------------------------------------ handicap
    def is_empty(self) -> bool:
        return not self.board.stones.any() and not self.events

    def place_handicap(self, pts: list[int]) -> None:
        """Black's handicap stones; White moves next."""
        if not self.is_empty():
            raise GameError("board not empty")
        self.board.setup(black=pts)
        self.board.to_move = WHITE
        self.events.append(("setup", tuple(pts), ()))

    def fixed_handicap(self, k: int) -> list[str]:
        """GTP ``fixed_handicap``: the spec's points for ``k`` stones, placed."""
        if k not in FIXED_HANDICAP_19:
            raise GameError("invalid number of stones")
        verts = FIXED_HANDICAP_19[k]
        self.place_handicap([from_gtp(v, self.size) for v in verts])
        return verts

    # ------------------------------------------------------------ SGF
    def load_sgf(self, path: str, upto: int | None = None) -> None:
        """``loadsgf path [move_number]``: the game up to (not including) move ``upto``."""
        try:
            with open(path, "rb") as f:
                data = f.read()
            # a position without moves (setup stones only) is fine here
            game = parse_game(data, name=path, require_size=None, require_moves=False)
        except (OSError, SkipGame):
            raise GameError("cannot load file") from None
        if game.size != self.size:
            raise GameError("unacceptable size")
        board = Board(self.size, game.komi, superko=True)
        events: list[tuple] = []
        played = 0
        next_color = None
        for ev in game.events:
            if ev[0] == "setup":
                if any(ev[3]):
                    board.setup(empty=ev[3])
                board.setup(black=ev[1], white=ev[2])
                events.append(("setup", tuple(ev[1]), tuple(ev[2])))
                continue
            _, color, mv = ev
            if upto is not None and played >= upto - 1:
                next_color = color
                break
            try:
                board.play(mv, color)
            except IllegalMove:
                raise GameError("cannot load file") from None
            events.append(("move", color, mv))
            played += 1
        if next_color is not None:
            board.to_move = next_color
        elif played == 0 and events:
            # Only setup stones: White moves first after a handicap (black stones only).
            whites = any(e[2] for e in events if e[0] == "setup")
            board.to_move = BLACK if whites else WHITE
        self.board, self.events, self.komi = board, events, game.komi

    def sgf_text(self) -> str:
        """The record as SGF, with the quick count's result once two passes ended it."""
        black, white = [], []
        moves = []
        for ev in self.events:
            if ev[0] == "setup":
                black += list(ev[1])
                white += list(ev[2])
            else:
                moves.append((ev[1], ev[2]))
        result = ""
        b = self.board
        if b.consecutive_passes >= 2:
            result = score_text(final_score(b, self.komi, playouts=self.score_playouts))
        text = write_sgf(None, self.size, self.komi, moves, black_name="Black", white_name="White",
                         result=result, handicap_stones=black, white_stones=white)
        return text.rstrip("\n")
