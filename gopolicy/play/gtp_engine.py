"""A GTP version 2 engine around :class:`gopolicy.play.network_policy.NetworkPolicy`.

Framing (GTP 2 spec, section 2 and 3): a line may start with a numeric id,
which the reply echoes (``=0``, ``?17``); control characters other than HT and
LF are removed (so CR-LF input works), ``#`` starts a comment, HT becomes a
space, empty lines are ignored. Every reply is ``=[id] text`` or ``?[id] error``
followed by a blank line; a reply never contains a blank line inside it. The
engine never dies on input: any exception while executing a command becomes
``? internal error: ...``. :meth:`GtpEngine.run` reads until ``quit`` or EOF.

With a search (``search=``, a :class:`gopolicy.play.search.player.SearchPlayer`;
``gopolicy gtp --playouts N`` with N > 0) moves, passes, resignation, dead
stones, the score, the clock (``time_settings``, ``time_left``,
``kgs-time_settings``) and the analysis commands come from the Monte-Carlo tree
search; the analysis commands stream from the live tree until the next command
when the engine runs on a stream (:meth:`GtpEngine.run`). Without one (``--playouts 0``):

Moves come from the policy network: greedy over the legal moves (simple ko and
positional superko: the engine's Board uses ``superko=True``), never filling
the engine's own true eyes, sampled when a temperature is given. The engine
passes when no sensible move remains, or when the opponent has just passed and
the score (area scoring with komi, dead stones removed as estimated below) is a
win for it; once the opponent has passed it also only plays on points whose
owner is still open (|ownership| < 0.8), so it does not drag a finished game
out. With ``resign=True`` it resigns late in the game (after move 150) when the
estimated area score is more than 40 points against it.

Scoring and dead stones (``final_score``, ``final_status_list``) are judged by
:mod:`gopolicy.go.scoring` (Monte-Carlo ownership; see there).

``komi`` is applied as given (no extra handicap compensation: controllers set
komi 0.5 or 0 for handicap games themselves).
"""
from __future__ import annotations

import os
import queue
import re
import sys
import threading
import time

import numpy as np

from gopolicy.go.board import Board, IllegalMove
from gopolicy.go.coords import BLACK, COLOR_NAMES, EMPTY, WHITE, from_gtp, opponent, parse_color, to_gtp
from gopolicy.go.scoring import Estimate, estimate, final_score, score_after_removing, score_text, strings_of

BOARD_SIZE = 19
PROTOCOL_VERSION = "2"
ENGINE_NAME = "gopolicy"

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

RESIGN_AFTER_MOVE = 150
RESIGN_MARGIN = 40.0
SETTLED = 0.8          # |ownership| above this: the point's owner is decided


class GtpFailure(Exception):
    """A command failed; the message becomes the ``?`` reply."""


# ======================================================================
# Framing
# ======================================================================

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def preprocess(line: str) -> str:
    """GTP 2 spec 3.1: drop control characters but HT/LF, comments, HT -> space, strip."""
    line = _CONTROL.sub("", line.replace("\r", ""))
    hash_at = line.find("#")
    if hash_at >= 0:
        line = line[:hash_at]
    return line.replace("\t", " ").strip()


def format_reply(ok: bool, text: str, cid: str | None = None) -> str:
    """``=[id] text\\n\\n`` (or ``?``); inner blank lines are dropped so the reply
    cannot end early; a text starting with a newline starts on the next line."""
    text = _CONTROL.sub("", (text or "").replace("\r", "").replace("\t", " "))
    lines = text.split("\n")
    body = "\n".join([lines[0].rstrip()] + [ln.rstrip() for ln in lines[1:] if ln.strip()])
    head = ("=" if ok else "?") + (cid or "")
    return f"{head} {body}".rstrip(" ") + "\n\n" if body.strip() else f"{head}\n\n"


# ======================================================================
# The engine
# ======================================================================

class GtpEngine:
    """The command table and game state of ``gopolicy gtp``.

    ``policy`` is a :class:`gopolicy.play.network_policy.NetworkPolicy` (or anything with
    ``sensible_probabilities(board, color)``, ``probabilities(board, color)`` and
    ``choose(p, n)``).
    """

    def __init__(self, policy, komi: float = 7.5, resign: bool = False, playouts: int = 64,
                 name: str = ENGINE_NAME, log=None, search=None):
        self.policy = policy
        self.search = search            # a SearchPlayer, or None: the policy alone
        self._pending = None            # run(): True when the next command is waiting
        self._out = None                # run(): the reply stream, for streamed analysis
        self.size = BOARD_SIZE
        self.default_komi = float(komi)
        self.komi = float(komi)
        self.allow_resign = resign
        self.playouts = playouts
        self.engine_name = name
        self.log = log if log is not None else sys.stderr
        self.quit = False
        self.time_settings: dict = {}
        self.time_left: dict = {}
        self._new_board()
        self.commands = {
            "protocol_version": self.cmd_protocol_version,
            "name": self.cmd_name,
            "version": self.cmd_version,
            "known_command": self.cmd_known_command,
            "list_commands": self.cmd_list_commands,
            "quit": self.cmd_quit,
            "boardsize": self.cmd_boardsize,
            "clear_board": self.cmd_clear_board,
            "komi": self.cmd_komi,
            "play": self.cmd_play,
            "genmove": self.cmd_genmove,
            "reg_genmove": self.cmd_reg_genmove,
            "kgs-genmove_cleanup": self.cmd_genmove_cleanup,
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
            "gogui-analyze_commands": self.cmd_analyze_commands,
            "gopolicy-policy_heatmap": self.cmd_policy_heatmap,
            "gopolicy-policy_top": self.cmd_policy_top,
            "gopolicy-ownership": self.cmd_ownership,
            "lz-analyze": lambda a: self._analyze(a, lz=True),
            "lz-genmove_analyze": lambda a: self._genmove_analyze(a, lz=True),
            "analyze": lambda a: self._analyze(a, lz=False),
            "genmove_analyze": lambda a: self._genmove_analyze(a, lz=False),
        }
        if search is not None:
            search.log = self._log
            self.commands.update({
                "kata-analyze": lambda a: self._analyze(a, lz=False, style="kata"),
                "kata-genmove_analyze": lambda a: self._genmove_analyze(a, lz=False, style="kata"),
                "gopolicy-search_visits": self.cmd_search_visits,
                "gopolicy-search_heatmap": self.cmd_search_heatmap,
                "gopolicy-search_pv": self.cmd_search_pv,
            })

    # ------------------------------------------------------------ state
    def _new_board(self) -> None:
        self.board = Board(self.size, self.komi, superko=True)
        self.events: list[tuple] = []   # ("setup", black, white) / ("move", color, move)
        if getattr(self, "search", None) is not None:
            self.search.reset_game()

    def _log(self, msg: str) -> None:
        try:
            print(f"[gtp] {msg}", file=self.log, flush=True)
        except Exception:
            pass

    # ------------------------------------------------------------ framing
    def handle_line(self, raw: str) -> str | None:
        """One input line -> the complete reply text, or None for a blank/comment line."""
        line = preprocess(raw)
        if not line:
            return None
        parts = line.split()
        cid = None
        if parts[0].isascii() and parts[0].isdigit():
            cid = parts[0]
            parts = parts[1:]
            if not parts:
                return format_reply(False, "syntax error", cid)
        name, args = parts[0], parts[1:]
        fn = self.commands.get(name)
        if fn is None:
            return format_reply(False, "unknown command", cid)
        self._cid = cid
        try:
            text = fn(args) or ""
            return "" if text is _STREAMED else format_reply(True, text, cid)
        except GtpFailure as exc:
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

    # ------------------------------------------------------------ argument helpers
    @staticmethod
    def _nargs(args, lo: int, hi: int | None = None) -> None:
        hi = lo if hi is None else hi
        if not lo <= len(args) <= hi:
            raise GtpFailure("syntax error")

    @staticmethod
    def _color(text: str) -> int:
        try:
            return parse_color(text)
        except ValueError:
            raise GtpFailure("invalid color") from None

    def _vertex(self, text: str) -> int:
        try:
            return from_gtp(text, self.size)
        except ValueError:
            raise GtpFailure("invalid vertex") from None

    @staticmethod
    def _int(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise GtpFailure("syntax error") from None

    @staticmethod
    def _float(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise GtpFailure("syntax error") from None
        if v != v or v in (float("inf"), float("-inf")):
            raise GtpFailure("syntax error")
        return v

    def _optional_color(self, args) -> tuple[int, list]:
        """Leading colour argument if present (else the side to move), rest of args."""
        if args:
            try:
                return parse_color(args[0]), list(args[1:])
            except ValueError:
                pass
        return self.board.to_move, list(args)

    # ------------------------------------------------------------ administrative
    def cmd_protocol_version(self, args):
        return PROTOCOL_VERSION

    def cmd_name(self, args):
        return self.engine_name

    def cmd_version(self, args):
        import gopolicy

        return gopolicy.__version__

    def cmd_known_command(self, args):
        self._nargs(args, 1)
        return "true" if args[0] in self.commands else "false"

    def cmd_set_random_seed(self, args):
        # GNU Go's extension; match runners send it so that sampled play (--temperature)
        # differs between games yet every game can be replayed from its seed.
        self._nargs(args, 1)
        seed = self._int(args[0])
        if seed < 0:
            raise GtpFailure("syntax error")
        self.policy.rng = np.random.default_rng(seed)
        if self.search is not None:
            self.search.searcher.set_seed(seed)
        return ""

    def cmd_list_commands(self, args):
        return "\n".join(self.commands)

    def cmd_quit(self, args):
        self.quit = True
        return ""

    # ------------------------------------------------------------ setup
    def cmd_boardsize(self, args):
        self._nargs(args, 1)
        size = self._int(args[0])
        if size != BOARD_SIZE:
            raise GtpFailure("unacceptable size")
        self._new_board()
        return ""

    def cmd_clear_board(self, args):
        self._new_board()
        return ""

    def cmd_komi(self, args):
        self._nargs(args, 1)
        self.komi = self._float(args[0])
        self.board.komi = self.komi
        return ""

    def _board_empty(self) -> bool:
        return not self.board.stones.any() and not self.events

    def _place_handicap(self, pts: list[int]) -> None:
        self.board.setup(black=pts)
        self.board.to_move = WHITE
        self.events.append(("setup", tuple(pts), ()))

    def cmd_fixed_handicap(self, args):
        self._nargs(args, 1)
        k = self._int(args[0])
        if k not in FIXED_HANDICAP_19:
            raise GtpFailure("invalid number of stones")
        if not self._board_empty():
            raise GtpFailure("board not empty")
        verts = FIXED_HANDICAP_19[k]
        self._place_handicap([from_gtp(v, self.size) for v in verts])
        return " ".join(verts)

    def cmd_place_free_handicap(self, args):
        self._nargs(args, 1)
        k = self._int(args[0])
        if not 2 <= k < self.size * self.size:
            raise GtpFailure("invalid number of stones")
        if not self._board_empty():
            raise GtpFailure("board not empty")
        pts = [from_gtp(v, self.size) for v in FIXED_HANDICAP_19[min(k, 9)]]
        if k > 9:  # beyond the table: the policy's favourite black points
            b = self.board.copy()
            b.setup(black=pts)
            while len(pts) < k:
                p = self.policy.sensible_probabilities(b, BLACK)
                p[self.size * self.size] = 0
                cand = [int(q) for q in np.argsort(-p[:-1]) if b.stones[q] == EMPTY and q not in pts]
                if not cand:
                    break
                pts.append(cand[0])
                b.setup(black=[cand[0]])
        self._place_handicap(pts)
        return " ".join(to_gtp(p, self.size) for p in pts)

    def cmd_set_free_handicap(self, args):
        if not self._board_empty():
            raise GtpFailure("board not empty")
        pts = [self._vertex(a) for a in args]
        if len(pts) < 2 or len(set(pts)) != len(pts) or self.size * self.size in pts \
                or len(pts) >= self.size * self.size:
            raise GtpFailure("bad vertex list")
        self._place_handicap(pts)
        return ""

    # ------------------------------------------------------------ time
    def cmd_time_settings(self, args):
        self._nargs(args, 3)
        main, byo, stones = (self._int(a) for a in args)
        if min(main, byo, stones) < 0:
            raise GtpFailure("syntax error")
        self.time_settings = {"type": "canadian", "main": main, "byo_yomi": byo, "stones": stones}
        if self.search is not None:
            self.search.clock.set_canadian(main, byo, stones)
        return ""

    def cmd_time_left(self, args):
        self._nargs(args, 3)
        color = self._color(args[0])
        self.time_left[color] = (self._int(args[1]), self._int(args[2]))
        if self.search is not None:
            self.search.clock.set_left(color, *self.time_left[color])
        return ""

    def cmd_kgs_time_settings(self, args):
        if not args:
            raise GtpFailure("syntax error")
        kind, rest = args[0].lower(), args[1:]
        need = {"none": 0, "absolute": 1, "byoyomi": 3, "canadian": 3}
        if kind not in need or len(rest) != need[kind]:
            raise GtpFailure("syntax error")
        vals = [self._int(a) for a in rest]
        if any(v < 0 for v in vals):
            raise GtpFailure("syntax error")
        self.time_settings = {"type": kind, "values": vals}
        if self.search is not None:
            self.search.clock.set_kgs(kind, vals)
        return ""

    # ------------------------------------------------------------ playing
    def _play(self, color: int, move: int) -> None:
        try:
            self.board.play(move, color)
        except IllegalMove:
            raise GtpFailure("illegal move") from None
        self.events.append(("move", color, move))

    def cmd_play(self, args):
        self._nargs(args, 2)
        color = self._color(args[0])
        move = self._vertex(args[1])
        self._play(color, move)
        return ""

    def cmd_undo(self, args):
        if not self.events or self.events[-1][0] != "move":
            raise GtpFailure("cannot undo")
        self.board.undo()
        self.events.pop()
        return ""

    def _opponent_just_passed(self, color: int) -> bool:
        b = self.board
        return bool(b.moves) and b.moves[-1] == (opponent(color), b.pass_move)

    def generate(self, color: int, cleanup: bool = False) -> int | str:
        """The engine's move for ``color`` (a move index) or ``"resign"``."""
        if self.search is not None:
            return self.search.genmove(self.board, color, cleanup=cleanup)
        b = self.board
        n = b.n
        t0 = time.perf_counter()
        sign = 1.0 if color == BLACK else -1.0
        est = None
        if self._opponent_just_passed(color) or cleanup:
            est = estimate(b, self.playouts)
            ours = sign * score_after_removing(b, est.dead, self.komi)
            if not cleanup and ours > 0:
                self._log(f"opponent passed and {COLOR_NAMES[color]} wins by {ours:g}: pass")
                return b.pass_move
        if self.allow_resign and b.move_count > RESIGN_AFTER_MOVE:
            if est is None:
                est = estimate(b, max(16, self.playouts // 2))
            margin = sign * (est.mean_score - self.komi)
            if margin < -RESIGN_MARGIN:
                self._log(f"estimated {COLOR_NAMES[color]} margin {margin:.1f} < -{RESIGN_MARGIN:g}: resign")
                return "resign"
        p = self.policy.sensible_probabilities(b, color)
        p[n] = 0.0
        if cleanup:
            move = self._cleanup_move(color, p, est)
        else:
            if est is not None:  # opponent passed, we are not ahead: play only where it matters
                open_pts = np.abs(est.ownership) < SETTLED
                p[:n] = np.where(open_pts, p[:n], 0.0)
            move = self.policy.choose(p, n)
        if move != n and not b.is_legal(move, color):  # defensive: never answer an illegal move
            self._log(f"policy chose illegal {to_gtp(move, self.size)}; passing")
            move = n
        self._log(f"genmove {COLOR_NAMES[color]} -> {to_gtp(move, self.size)} "
                  f"({(time.perf_counter() - t0) * 1000:.1f} ms)")
        return move

    def _cleanup_move(self, color: int, p: np.ndarray, est: Estimate) -> int:
        """kgs-genmove_cleanup: capture the opponent's dead stones before passing."""
        b = self.board
        n = b.n
        opp = opponent(color)
        targets = est.dead & (b.stones == opp)
        if not targets.any():
            return n
        prior = self.policy.probabilities(b, color)
        legal = b.legal_mask(color)
        best, best_key = n, None
        for q in range(n):
            if not targets[q]:
                continue
            for r in b.nbr[q]:
                r = int(r)
                if r < 0 or b.stones[r] != EMPTY or not legal[r] or b.is_eye(r, color):
                    continue
                key = (-est.ownership[r] * (1 if color == WHITE else -1), prior[r])
                if best_key is None or key > best_key:
                    best, best_key = r, key
        if best != n:
            return best
        return self.policy.choose(p, n)  # no liberty to fill: approach with a sensible move

    def _genmove_common(self, args, play: bool, cleanup: bool = False) -> str:
        self._nargs(args, 1)
        color = self._color(args[0])
        move = self.generate(color, cleanup=cleanup)
        if move == "resign":
            return "resign"
        if play:
            self._play(color, move)
        return to_gtp(move, self.size)

    def cmd_genmove(self, args):
        return self._genmove_common(args, play=True)

    def cmd_reg_genmove(self, args):
        return self._genmove_common(args, play=False)

    def cmd_genmove_cleanup(self, args):
        return self._genmove_common(args, play=True, cleanup=True)

    # ------------------------------------------------------------ display, scoring
    def cmd_showboard(self, args):
        b = self.board
        info = (f"{COLOR_NAMES[b.to_move]} to move, move {b.move_count}, komi {self.komi:g}"
                + (f", ko at {to_gtp(b.ko, self.size)}" if b.ko >= 0 else ""))
        return "\n" + str(b) + "\n" + info

    def cmd_final_score(self, args):
        if self.search is not None:
            return score_text(self.search.final_score(self.board))
        return score_text(final_score(self.board, self.komi, playouts=self.playouts))

    def cmd_final_status_list(self, args):
        self._nargs(args, 1)
        status = args[0].lower()
        if status not in ("alive", "dead", "seki"):
            raise GtpFailure("syntax error")
        est = estimate(self.board, self.playouts)
        if self.search is not None:     # dead stones from the search's rollouts; seki as before
            est.dead = self.search.dead(self.board)
        lines = []
        for s in strings_of(self.board):
            dead = bool(est.dead[s[0]])
            seki = bool(est.seki[s[0]])
            st = "dead" if dead else "seki" if seki else "alive"
            if st == status:
                lines.append(" ".join(to_gtp(p, self.size) for p in s))
        return "\n".join(lines)

    # ------------------------------------------------------------ SGF
    def cmd_loadsgf(self, args):
        from gopolicy.corpus.sgf import SkipGame, parse_game

        self._nargs(args, 1, 2)
        path = args[0]
        upto = None
        if len(args) == 2:
            upto = self._int(args[1])
            if upto < 1:
                raise GtpFailure("syntax error")
        try:
            with open(path, "rb") as f:
                data = f.read()
            # a position without moves (setup stones only) is fine here
            game = parse_game(data, name=path, require_size=None, require_moves=False)
        except (OSError, SkipGame):
            raise GtpFailure("cannot load file") from None
        if game.size != self.size:
            raise GtpFailure("unacceptable size")
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
                raise GtpFailure("cannot load file") from None
            events.append(("move", color, mv))
            played += 1
        if next_color is not None:
            board.to_move = next_color
        elif played == 0 and events:
            # Only setup stones: White moves first after a handicap (black stones only).
            whites = any(e[2] for e in events if e[0] == "setup")
            board.to_move = BLACK if whites else WHITE
        self.board, self.events, self.komi = board, events, game.komi
        return ""

    def sgf_text(self) -> str:
        from gopolicy.corpus.sgf import write_sgf

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
            result = score_text(final_score(b, self.komi, playouts=self.playouts))
        text = write_sgf(None, self.size, self.komi, moves, black_name="Black", white_name="White",
                         result=result, handicap_stones=black, white_stones=white)
        return text.rstrip("\n")

    def cmd_printsgf(self, args):
        self._nargs(args, 0, 1)
        text = self.sgf_text()
        if args:
            try:
                with open(args[0], "w", encoding="utf-8") as f:
                    f.write(text + "\n")
            except OSError as exc:
                raise GtpFailure(f"cannot write file: {exc.strerror}") from None
            return ""
        return text

    # ------------------------------------------------------------ analysis
    def cmd_analyze_commands(self, args):
        extra = [] if self.search is None else [
            "dboard/Search visit heatmap/gopolicy-search_heatmap %c",
            "gfx/Search visits/gopolicy-search_visits %c",
            "gfx/Principal variation/gopolicy-search_pv %c",
        ]
        return "\n".join(extra + [
            "dboard/Policy heatmap/gopolicy-policy_heatmap %c",
            "pspairs/Policy top moves/gopolicy-policy_top %c",
            "dboard/Ownership estimate/gopolicy-ownership",
            "plist/Dead stones/final_status_list dead",
            "string/Final score/final_score",
        ])

    def cmd_policy_heatmap(self, args):
        color, _ = self._optional_color(args)
        p = self.policy.probabilities(self.board, color)
        grid = p[:self.board.n].reshape(self.size, self.size)
        return "\n" + "\n".join(" ".join(f"{v:.4f}" for v in grid[r])
                                for r in range(self.size - 1, -1, -1))

    def _top(self, color: int, k: int = 10, min_p: float = 0.0) -> list[tuple[int, float]]:
        p = self.policy.sensible_probabilities(self.board, color)
        n = self.board.n
        order = np.argsort(-p[:n], kind="stable")[:k]
        return [(int(q), float(p[q])) for q in order if p[q] > min_p]

    def cmd_policy_top(self, args):
        color, rest = self._optional_color(args)
        k = self._int(rest[0]) if rest else 10
        return " ".join(f"{to_gtp(q, self.size)} {100 * pr:.1f}%" for q, pr in self._top(color, k))

    def cmd_ownership(self, args):
        if self.search is not None:
            own = self.search.ensure_ownership(self.board)
        else:
            own = estimate(self.board, self.playouts).ownership
        grid = own.reshape(self.size, self.size)
        return "\n" + "\n".join(" ".join(f"{v:.2f}" for v in grid[r]) for r in range(self.size - 1, -1, -1))

    def _analysis_args(self, args) -> int:
        color, rest = self._optional_color(args)
        # remaining: [interval] / "interval N" / other lz keys -- all accepted and ignored
        return color

    def _info_line(self, color: int, lz: bool) -> str:
        top = self._top(color, 10, min_p=1e-4)
        parts = []
        for order, (q, pr) in enumerate(top):
            v = to_gtp(q, self.size)
            visits = max(1, int(round(pr * 1000)))
            if lz:
                parts.append(f"info move {v} visits {visits} winrate 5000 prior {int(round(pr * 10000))} "
                             f"order {order} pv {v}")
            else:
                parts.append(f"info move {v} visits {visits} winrate 0.5 prior {pr:.6f} "
                             f"order {order} pv {v}")
        return " ".join(parts)

    def _analyze(self, args, lz: bool, style: str | None = None):
        if self.search is not None:
            return self._search_analyze(args, style or ("lz" if lz else "plain"))
        color = self._analysis_args(args)
        return "\n" + self._info_line(color, lz)

    # -------------------------------------------------------- search analysis
    def _search_analyze(self, args, style: str):
        """Stream ``info`` lines every interval until the next command arrives
        (on a stream); in process, one line after one move's budget."""
        from gopolicy.play.search import analysis
        from gopolicy.play.search.player import ANALYSIS_CAP

        color, interval, want_own = analysis.parse_args(args, self.board.to_move, parse_color)
        player = self.search
        b = player._board_for(self.board, color)

        def line():
            own = player.searcher.ownership() if want_own else None
            return analysis.info_line(player.searcher.root, self.size, style, ownership=own, color=color,
                                      first=player.searcher.chosen())

        if self._out is None or self._pending is None:
            player.search(self.board, color)
            return "\n" + line()
        out, pending = self._out, self._pending
        out.write(f"={self._cid or ''}\n".encode())
        out.flush()

        def emit(_searcher):
            text = line()
            if text:
                out.write((text + "\n").encode())
                out.flush()

        player.searcher.search(b, playouts=ANALYSIS_CAP, stop=pending, progress=emit, interval=interval)
        emit(None)
        while not pending():            # tree full: keep the last answer until the next command
            time.sleep(0.02)
        out.write(b"\n")
        out.flush()
        return _STREAMED

    def _search_genmove_analyze(self, args, style: str):
        from gopolicy.play.search import analysis

        color, interval, want_own = analysis.parse_args(args, self.board.to_move, parse_color)
        player = self.search
        streaming = self._out is not None
        if streaming:
            out = self._out
            out.write(f"={self._cid or ''}\n".encode())
            out.flush()

            def emit(searcher):
                out.write((analysis.info_line(searcher.root, self.size, style, color=color,
                                                     first=searcher.chosen()) + "\n").encode())
                out.flush()

            move = player.genmove(self.board, color, progress=emit, interval=interval)
        else:
            move = self.generate(color)
        info = analysis.info_line(player.searcher.root, self.size, style, color=color,
                                  first=player.searcher.chosen())
        if move == "resign":
            vertex = "resign"
        else:
            self._play(color, move)
            vertex = to_gtp(move, self.size)
        if streaming:
            self._out.write(((info + "\n" if info else "") + f"play {vertex}\n\n").encode())
            self._out.flush()
            return _STREAMED
        return "\n" + (info + "\n" if info else "") + f"play {vertex}"

    def cmd_search_visits(self, args):
        from gopolicy.play.search import analysis

        color, _ = self._optional_color(args)
        self.search.search(self.board, color)
        return "\n" + analysis.gfx_visits(self.search.searcher.root, self.size)

    def cmd_search_heatmap(self, args):
        from gopolicy.play.search import analysis

        color, _ = self._optional_color(args)
        self.search.search(self.board, color)
        return analysis.dboard(analysis.visit_fractions(self.search.searcher.root, self.board.n), self.size)

    def cmd_search_pv(self, args):
        from gopolicy.play.search import analysis

        color, _ = self._optional_color(args)
        self.search.search(self.board, color)
        return analysis.gfx_pv(self.search.searcher.root, self.size, color)

    def _genmove_analyze(self, args, lz: bool, style: str | None = None):
        if not args:
            raise GtpFailure("syntax error")
        if self.search is not None:
            self._color(args[0])
            return self._search_genmove_analyze(args, style or ("lz" if lz else "plain"))
        color = self._color(args[0])
        info = self._info_line(color, lz)
        move = self.generate(color)
        if move == "resign":
            vertex = "resign"
        else:
            self._play(color, move)
            vertex = to_gtp(move, self.size)
        return "\n" + (info + "\n" if info else "") + f"play {vertex}"


_STREAMED = "\x00streamed"   # a command's result when it wrote its own reply to the stream


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
