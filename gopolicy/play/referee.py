"""One refereed game between two GTP engines, by the project's rules.

:func:`play_game` asks two engines for moves in turn and checks every move
with :class:`gopolicy.go.board.Board` (positional superko): an illegal or
unparsable move, a failed ``genmove`` or a timeout forfeits the game. An engine
whose process dies (GNU Go has died with signal 11) ends the game with no result
(``RE[Void]``; :attr:`GameResult.crashed` says who): a crash says nothing about
who was winning. The game ends on two consecutive passes, a resignation or the
move cap; it is then scored by area with komi, by a scorer engine when one is
given (the game is replayed into it and asked ``final_score``; GNU Go is a good
one), else by our own count (:func:`gopolicy.go.scoring.final_score`: dead
stones by Monte-Carlo ownership, then Tromp-Taylor). If the *other* engine
refuses a move our referee accepted (a rules disagreement), the game is void.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, COLOR_NAMES, WHITE, from_gtp, opponent, to_gtp
from gopolicy.go.scoring import final_score, score_text
from gopolicy.play.game import BOARD_SIZE, DEFAULT_KOMI, SCORE_PLAYOUTS
from gopolicy.play.gtp_client import EngineDied, GtpError, GtpTimeout

COLOR_LETTER = {BLACK: "B", WHITE: "W"}
MAX_MOVES = 600             # the move cap of a game, passes included


@dataclass
class GameResult:
    """How one game ended. ``winner`` is BLACK, WHITE, 0 (draw) or None (void,
    or no result when ``crashed`` names the colour whose engine died)."""

    winner: int | None
    result: str            # SGF RE: "B+12.5", "W+R", "B+F", "0", "Void"
    reason: str            # "two passes", "move cap", "resignation", "illegal move ...", ...
    moves: list = field(default_factory=list)   # [(color, move)]
    score: float | None = None                  # B - W - komi when scored
    scorer: str = ""
    seconds: float = 0.0
    board: Board | None = None
    crashed: int | None = None                  # BLACK / WHITE: that engine's process died


def parse_score(text: str) -> float:
    """``B+3.5`` / ``W+0.5`` / ``0`` (GTP final_score) -> B - W."""
    t = text.strip().upper()
    if t in ("0", "DRAW", "JIGO"):
        return 0.0
    if len(t) >= 3 and t[0] in "BW" and t[1] == "+":
        v = float(t[2:])
        return v if t[0] == "B" else -v
    raise ValueError(f"not a score: {text!r}")


def setup_game(client, komi: float) -> None:
    client.send(f"boardsize {BOARD_SIZE}")
    client.send("clear_board")
    client.send(f"komi {komi:g}")


def score_with(scorer, moves, komi: float) -> float:
    """Replay ``moves`` into a scorer engine and return its ``final_score`` (B - W)."""
    setup_game(scorer, komi)
    for color, mv in moves:
        scorer.play(COLOR_NAMES[color], to_gtp(mv, BOARD_SIZE))
    return parse_score(scorer.send("final_score"))


class Referee:
    """The board, the record and the clients of one game, and the ways it ends."""

    def __init__(self, black, white, komi: float, on_move=None):
        self.t0 = time.perf_counter()
        self.clients = {BLACK: black, WHITE: white}
        self.komi = komi
        self.on_move = on_move
        self.board = Board(BOARD_SIZE, komi, superko=True)
        self.moves: list[tuple[int, int]] = []

    def end(self, winner, result, reason, score=None, scorer_name="") -> GameResult:
        return GameResult(winner, result, reason, self.moves, score, scorer_name,
                          time.perf_counter() - self.t0, self.board)

    def forfeit(self, color: int, why: str) -> GameResult:
        w = opponent(color)
        return self.end(w, f"{COLOR_LETTER[w]}+F", f"{COLOR_NAMES[color]} forfeits: {why}")

    def crash(self, color: int, exc: Exception) -> GameResult:
        res = self.end(None, "Void", f"no result: {COLOR_NAMES[color]} crashed: {str(exc).splitlines()[0]}")
        res.crashed = color
        return res

    def setup(self) -> GameResult | None:
        """Board size, a clear board and komi for both engines; a result if one fails."""
        for color in (BLACK, WHITE):
            try:
                setup_game(self.clients[color], self.komi)
            except EngineDied as exc:
                return self.crash(color, exc)
            except (GtpError, GtpTimeout) as exc:
                return self.forfeit(color, f"setup failed: {exc}")
        return None

    def turn(self, color: int) -> GameResult | None:
        """``color``'s move, checked, played and told to the other engine (unless it
        ended the game by a second pass); a result when the game ended otherwise."""
        player, other = self.clients[color], self.clients[opponent(color)]
        try:
            reply = player.genmove(COLOR_NAMES[color])
        except GtpError as exc:
            return self.forfeit(color, f"genmove failed: {exc.message}")
        except EngineDied as exc:
            return self.crash(color, exc)
        except GtpTimeout as exc:
            return self.forfeit(color, str(exc).splitlines()[0])
        vertex = reply.split()[0].lower() if reply.split() else ""
        if vertex == "resign":
            w = opponent(color)
            return self.end(w, f"{COLOR_LETTER[w]}+R", f"{COLOR_NAMES[color]} resigned")
        try:
            move = from_gtp(vertex, BOARD_SIZE)
        except ValueError:
            return self.forfeit(color, f"unparsable move {reply!r}")
        why = self.board.why_illegal(move, color)
        if why:
            return self.forfeit(color, f"illegal move {vertex.upper()} ({why})")
        self.board.play(move, color)
        self.moves.append((color, move))
        if self.on_move is not None:
            self.on_move(self.board, color, move)
        if self.board.consecutive_passes >= 2:
            return None
        try:
            other.play(COLOR_NAMES[color], to_gtp(move, BOARD_SIZE))
        except GtpError as exc:
            return self.end(None, "Void", f"void: {getattr(other, 'name', 'engine')} rejected "
                                          f"{COLOR_NAMES[color]} {to_gtp(move, BOARD_SIZE)} ({exc.message})")
        except EngineDied as exc:
            return self.crash(opponent(color), exc)
        except GtpTimeout as exc:
            return self.forfeit(opponent(color), str(exc).splitlines()[0])
        return None

    def score(self, reason: str, scorer, score_playouts: int) -> GameResult:
        """The finished game's result: the scorer engine's count, else our own."""
        score, scorer_name = None, ""
        if scorer is not None:
            try:
                score = score_with(scorer, self.moves, self.komi)
                scorer_name = getattr(scorer, "name", "scorer")
            except (GtpError, EngineDied, GtpTimeout, ValueError) as exc:
                print(f"[match] scorer failed ({exc}); using our own count", file=sys.stderr)
        if score is None:
            score = final_score(self.board, self.komi, playouts=score_playouts)
            scorer_name = "gopolicy"
        winner = BLACK if score > 0 else WHITE if score < 0 else 0
        return self.end(winner, score_text(score), reason, score, scorer_name)


def play_game(black, white, komi: float = DEFAULT_KOMI, max_moves: int = MAX_MOVES, scorer=None,
              on_move=None, score_playouts: int = SCORE_PLAYOUTS) -> GameResult:
    """One game between two GTP clients (see the module docstring).

    ``on_move(board, color, move)`` is called after every accepted move;
    ``score_playouts``: the playouts of our own count when there is no scorer.
    """
    ref = Referee(black, white, komi, on_move)
    res = ref.setup()
    if res is not None:
        return res
    color = BLACK
    while len(ref.moves) < max_moves:
        res = ref.turn(color)
        if res is not None:
            return res
        if ref.board.consecutive_passes >= 2:
            return ref.score("two passes", scorer, score_playouts)
        color = opponent(color)
    return ref.score("move cap", scorer, score_playouts)
