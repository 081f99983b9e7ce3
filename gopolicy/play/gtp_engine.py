"""The GTP version 2 engine of ``gopolicy gtp``: GTP's commands over a Player and a Game.

:class:`GtpEngine` reads command lines (framing: :mod:`gopolicy.play.gtp_protocol`),
keeps the game (:class:`gopolicy.play.game.Game`: board, record, SGF) and asks its
:class:`gopolicy.play.player.Player` for moves, counts and analysis
(:mod:`gopolicy.play.gtp_analysis`), whichever player that is: the network alone or the
tree search. The engine never dies on input: any exception while executing a command
becomes ``? internal error: ...``. :meth:`GtpEngine.run` reads until ``quit`` or EOF,
with a reader thread so that a streamed analysis sees the next command arrive.
"""
from __future__ import annotations

import os
import queue
import sys
import threading
from functools import partial

import numpy as np

from gopolicy import __version__
from gopolicy.go.coords import BLACK, COLOR_NAMES, EMPTY, to_gtp
from gopolicy.go.scoring import score_text, strings_of
from gopolicy.play import warmup
from gopolicy.play.game import BOARD_SIZE, FIXED_HANDICAP_19, Game, GameError
from gopolicy.play.gtp_analysis import AnalysisCommands, AnalysisStream
from gopolicy.play.gtp_protocol import (
    STREAMED,
    GtpFailure,
    color,
    format_reply,
    integer,
    nargs,
    number,
    preprocess,
    split_command,
    vertex,
)
from gopolicy.play.player import Player

PROTOCOL_VERSION = "2"
ENGINE_NAME = "gopolicy"
STATUSES = ("alive", "dead", "seki")


class GtpEngine:
    """The command table of ``gopolicy gtp`` over ``player`` and ``game`` (default: a
    new :class:`Game`); ``log`` gets the engine's and the player's messages."""

    def __init__(self, player: Player, game: Game | None = None, name: str = ENGINE_NAME, log=None):
        self.player = player
        self.game = game if game is not None else Game()
        self.engine_name = name
        self.log = log if log is not None else sys.stderr
        self.quit = False
        self._pending = None            # run(): True when the next command is waiting
        self._out = None                # run(): the reply stream, for streamed analysis
        self._cid = None                # the id of the command being run
        player.log = self._log
        player.reset_game()
        self.commands = {
            "protocol_version": lambda args: PROTOCOL_VERSION,
            "name": lambda args: self.engine_name,
            "version": lambda args: __version__,
            "known_command": self.cmd_known_command,
            "list_commands": lambda args: "\n".join(self.commands),
            "quit": self.cmd_quit,
            "boardsize": self.cmd_boardsize,
            "clear_board": self.cmd_clear_board,
            "komi": self.cmd_komi,
            "play": self.cmd_play,
            "genmove": partial(self._genmove, play=True),
            "reg_genmove": partial(self._genmove, play=False),
            "kgs-genmove_cleanup": partial(self._genmove, play=True, cleanup=True),
            "undo": self.cmd_undo,
            "showboard": self.cmd_showboard,
            "final_score": self.cmd_final_score,
            "final_status_list": self.cmd_final_status_list,
            "fixed_handicap": self.cmd_fixed_handicap,
            "place_free_handicap": self.cmd_place_free_handicap,
            "set_free_handicap": self.cmd_set_free_handicap,
            "time_settings": self.cmd_time_settings,
            "time_left": self.cmd_time_left,
            "kgs-time_settings": self.cmd_kgs_time_settings,
            "set_random_seed": self.cmd_set_random_seed,
            "loadsgf": self.cmd_loadsgf,
            "printsgf": self.cmd_printsgf,
        }
        self.commands.update(AnalysisCommands(player, self.game, self._stream).table())
        for cmd, handler in player.extra_commands().items():
            self.commands[cmd] = partial(self._player_command, handler)

    def _log(self, msg: str) -> None:
        try:
            print(f"[gtp] {msg}", file=self.log, flush=True)
        except Exception:
            pass

    def _stream(self) -> AnalysisStream | None:
        """The running command's reply stream; None in process (no :meth:`run`)."""
        if self._out is None or self._pending is None:
            return None
        return AnalysisStream(self._out, self._cid, self._pending)

    def _player_command(self, handler, args) -> str:
        return handler(self.game.board, args)

    # ------------------------------------------------------------ framing
    def handle_line(self, raw: str) -> str | None:
        """One input line -> the complete reply text, or None for a blank/comment line."""
        line = preprocess(raw)
        if not line:
            return None
        cid, parts = split_command(line)
        if not parts:
            return format_reply(False, "syntax error", cid)
        fn = self.commands.get(parts[0])
        if fn is None:
            return format_reply(False, "unknown command", cid)
        self._cid = cid
        try:
            text = fn(parts[1:]) or ""
            return "" if text is STREAMED else format_reply(True, text, cid)
        except (GtpFailure, GameError) as exc:
            return format_reply(False, str(exc), cid)
        except Exception as exc:
            self._log(f"internal error in {line!r}: {type(exc).__name__}: {exc}")
            msg = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
            return format_reply(False, f"internal error: {msg}", cid)

    def run(self, inp, out) -> int:
        """Serve GTP: ``inp`` yields text lines, ``out`` is a binary stream.

        A reader thread queues the input, so that a streamed analysis can see
        that the next command has arrived and stop."""
        lines: queue.Queue = queue.Queue()

        def reader():
            try:
                for raw in inp:
                    lines.put(raw)
            except (OSError, ValueError):
                pass
            lines.put(None)

        threading.Thread(target=reader, daemon=True).start()
        self._pending = lambda: not lines.empty()
        self._out = out
        try:
            while True:
                raw = lines.get()
                if raw is None:
                    break
                if isinstance(raw, bytes):
                    raw = raw.decode("utf-8", "replace")
                reply = self.handle_line(raw)
                if reply:                   # None: blank line; "": streamed already
                    out.write(reply.encode("utf-8"))
                    out.flush()
                if self.quit:
                    break
        finally:
            self._pending = self._out = None
        return 0

    # ------------------------------------------------------------ administrative
    def cmd_known_command(self, args):
        nargs(args, 1)
        return "true" if args[0] in self.commands else "false"

    def cmd_set_random_seed(self, args):
        # GNU Go's extension; match runners send it so that sampled play (--temperature)
        # differs between games yet every game can be replayed from its seed.
        nargs(args, 1)
        seed = integer(args[0])
        if seed < 0:
            raise GtpFailure("syntax error")
        self.player.set_seed(seed)
        return ""

    def cmd_quit(self, args):
        self.quit = True
        return ""

    # ------------------------------------------------------------ setup
    def _new_game(self) -> None:
        self.game.clear()
        self.player.reset_game()

    def cmd_boardsize(self, args):
        nargs(args, 1)
        if integer(args[0]) != BOARD_SIZE:
            raise GtpFailure(f"unacceptable size (gopolicy plays {BOARD_SIZE}x{BOARD_SIZE} only)")
        self._new_game()
        return ""

    def cmd_clear_board(self, args):
        self._new_game()
        return ""

    def cmd_komi(self, args):
        nargs(args, 1)
        self.game.set_komi(number(args[0]))
        return ""

    def cmd_fixed_handicap(self, args):
        nargs(args, 1)
        return " ".join(self.game.fixed_handicap(integer(args[0])))

    def cmd_place_free_handicap(self, args):
        nargs(args, 1)
        k = integer(args[0])
        size = self.game.size
        if not 2 <= k < size * size:
            raise GtpFailure("invalid number of stones")
        if not self.game.is_empty():
            raise GtpFailure("board not empty")
        pts = [vertex(v, size) for v in FIXED_HANDICAP_19[min(k, 9)]]
        if k > 9:  # beyond the table: the policy's favourite black points
            b = self.game.board.copy()
            b.setup(black=pts)
            while len(pts) < k:
                p = self.player.policy.sensible_probabilities(b, BLACK)
                p[size * size] = 0
                cand = [int(q) for q in np.argsort(-p[:-1]) if b.stones[q] == EMPTY and q not in pts]
                if not cand:
                    break
                pts.append(cand[0])
                b.setup(black=[cand[0]])
        self.game.place_handicap(pts)
        return " ".join(to_gtp(p, size) for p in pts)

    def cmd_set_free_handicap(self, args):
        if not self.game.is_empty():
            raise GtpFailure("board not empty")
        size = self.game.size
        pts = [vertex(a, size) for a in args]
        if len(pts) < 2 or len(set(pts)) != len(pts) or size * size in pts or len(pts) >= size * size:
            raise GtpFailure("bad vertex list")
        self.game.place_handicap(pts)
        return ""

    # ------------------------------------------------------------ time
    def cmd_time_settings(self, args):
        nargs(args, 3)
        main, byo, stones = (integer(a) for a in args)
        if min(main, byo, stones) < 0:
            raise GtpFailure("syntax error")
        self.player.clock.set_canadian(main, byo, stones)
        return ""

    def cmd_time_left(self, args):
        nargs(args, 3)
        c = color(args[0])
        self.player.clock.set_left(c, integer(args[1]), integer(args[2]))
        return ""

    def cmd_kgs_time_settings(self, args):
        if not args:
            raise GtpFailure("syntax error")
        kind, rest = args[0].lower(), args[1:]
        need = {"none": 0, "absolute": 1, "byoyomi": 3, "canadian": 3}
        if kind not in need or len(rest) != need[kind]:
            raise GtpFailure("syntax error")
        vals = [integer(a) for a in rest]
        if any(v < 0 for v in vals):
            raise GtpFailure("syntax error")
        self.player.clock.set_kgs(kind, vals)
        return ""

    # ------------------------------------------------------------ playing
    def cmd_play(self, args):
        nargs(args, 2)
        c = color(args[0])
        self.game.play(c, vertex(args[1], self.game.size))
        return ""

    def cmd_undo(self, args):
        self.game.undo()
        return ""

    def _genmove(self, args, play: bool, cleanup: bool = False) -> str:
        nargs(args, 1)
        c = color(args[0])
        warmup.wait_ready()  # on a cold start the kernels compile first: the move's clock starts after
        move = self.player.genmove(self.game.board, c, cleanup=cleanup)
        if move == "resign":
            return "resign"
        if play:
            self.game.play(c, move)
        return to_gtp(move, self.game.size)

    # ------------------------------------------------------------ display, scoring
    def cmd_showboard(self, args):
        b = self.game.board
        info = (f"{COLOR_NAMES[b.to_move]} to move, move {b.move_count}, komi {self.game.komi:g}"
                + (f", ko at {to_gtp(b.ko, self.game.size)}" if b.ko >= 0 else ""))
        return "\n" + str(b) + "\n" + info

    def cmd_final_score(self, args):
        return score_text(self.player.final_score(self.game.board))

    def cmd_final_status_list(self, args):
        nargs(args, 1)
        status = args[0].lower()
        if status not in STATUSES:
            raise GtpFailure("syntax error")
        board = self.game.board
        st = self.player.stone_status(board)
        lines = []
        for s in strings_of(board):
            dead = bool(st.dead[s[0]])
            seki = bool(st.seki[s[0]])
            if ("dead" if dead else "seki" if seki else "alive") == status:
                lines.append(" ".join(to_gtp(p, self.game.size) for p in s))
        return "\n".join(lines)

    # ------------------------------------------------------------ SGF
    def cmd_loadsgf(self, args):
        nargs(args, 1, 2)
        upto = None
        if len(args) == 2:
            upto = integer(args[1])
            if upto < 1:
                raise GtpFailure("syntax error")
        self.game.load_sgf(args[0], upto)
        return ""

    def cmd_printsgf(self, args):
        nargs(args, 0, 1)
        text = self.game.sgf_text()
        if args:
            try:
                with open(args[0], "w", encoding="utf-8") as f:
                    f.write(text + "\n")
            except OSError as exc:
                raise GtpFailure(f"cannot write file: {exc.strerror}") from None
            return ""
        return text


# ======================================================================
# Process entry point (used by gopolicy.commands.gtp_cmd)
# ======================================================================

def guard_stdout():
    """Keep the protocol clean: duplicate the real stdout for the replies, then
    point file descriptor 1 and ``sys.stdout`` at stderr, so stray prints (ours,
    torch's, numba's, C libraries') can never reach the controller. Returns the
    binary, unbuffered reply stream."""
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(reply_fd, "wb", buffering=0)


def serve_stdio(engine: GtpEngine, out=None) -> int:
    """Run ``engine`` on the process's stdin and ``out`` (default: :func:`guard_stdout`)."""
    if out is None:
        out = guard_stdout()
    try:
        return engine.run(sys.stdin.buffer, out)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    finally:
        try:
            out.close()
        except OSError:
            pass
