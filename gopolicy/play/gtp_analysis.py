"""GTP's analysis commands and the stream they may answer on.

* ``lz-analyze`` (Leela Zero; Sabaki, Lizzie), ``analyze`` and, when the player
  answers that style, ``kata-analyze``; each with its ``*genmove_analyze`` form. The
  player writes the ``info`` lines (:mod:`gopolicy.play.search.analysis` has their
  format). When the engine runs on a stream (:meth:`GtpEngine.run`) a player may
  answer as Leela Zero does: ``=`` at once, a line every interval from the live
  search, and a blank line once the next command has arrived.
* GoGui's views on the game: ``gogui-analyze_commands``, the policy heatmap and top
  moves, and the ownership.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from gopolicy.go.coords import to_gtp
from gopolicy.play import warmup
from gopolicy.play.gtp_protocol import STREAMED, GtpFailure, color, integer, leading_color

STYLE_PREFIX = {"lz": "lz-", "plain": "", "kata": "kata-"}   # analysis style -> command prefix
HOLD_POLL_S = 0.02        # how often a finished stream looks for the next command

GOGUI_VIEWS = [
    "dboard/Policy heatmap/gopolicy-policy_heatmap %c",
    "pspairs/Policy top moves/gopolicy-policy_top %c",
    "dboard/Ownership estimate/gopolicy-ownership",
    "plist/Dead stones/final_status_list dead",
    "string/Final score/final_score",
]


class AnalysisStream:
    """The reply of one streamed command on the engine's binary output: ``=[id]``,
    lines as they come, and a blank line at the end."""

    def __init__(self, out, cid: str | None, pending: Callable[[], bool]):
        self._out = out
        self._cid = cid
        self.pending = pending          # () -> True once the next command is waiting
        self.started = False

    def _write(self, text: str) -> None:
        self._out.write(text.encode())
        self._out.flush()

    def begin(self) -> None:
        self._write(f"={self._cid or ''}\n")
        self.started = True

    def line(self, text: str) -> None:
        if text:                        # an empty line would end the reply
            self._write(text + "\n")

    def hold(self) -> None:
        """Keep the last answer until the next command arrives."""
        while not self.pending():
            time.sleep(HOLD_POLL_S)

    def end(self, text: str = "") -> None:
        self._write((text + "\n" if text else "") + "\n")


@dataclass
class AnalysisRequest:
    """What an analysis command asks of the player."""

    style: str                      # "lz", "plain" or "kata" (see search.analysis.info_line)
    interval: float                 # seconds between streamed lines
    ownership: bool                 # kata-analyze ... ownership true
    stream: AnalysisStream | None   # None: one reply (in process, not on a stream)


def analysis_args(args, default_color: int) -> tuple[int, float, bool]:
    """``[color] [interval] [key value ...]`` -> (colour, interval in seconds, ownership?).
    ``interval`` is in centiseconds (Leela Zero), also as ``interval N``."""
    c, rest = leading_color(args, default_color)
    interval, ownership = 100.0, False
    if rest and _is_number(rest[0]):
        interval = float(rest.pop(0))
    for i in range(0, len(rest), 2):
        key = rest[i].lower()
        val = rest[i + 1] if i + 1 < len(rest) else ""
        if key == "interval" and _is_number(val):
            interval = float(val)
        elif key == "ownership":
            ownership = val.lower() == "true"
    return c, max(interval, 1.0) / 100.0, ownership


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def board_text(values: np.ndarray, size: int, digits: int = 2) -> str:
    """GoGui's dboard: one row per line, row 19 first."""
    grid = values.reshape(size, size)
    return "\n" + "\n".join(" ".join(f"{v:.{digits}f}" for v in grid[r]) for r in range(size - 1, -1, -1))


class AnalysisCommands:
    """The analysis commands of an engine over ``player`` and ``game``; ``stream()`` is
    the reply stream of the command being run, None when there is none."""

    def __init__(self, player, game, stream: Callable[[], AnalysisStream | None]):
        self.player = player
        self.game = game
        self.stream = stream

    def table(self) -> dict:
        cmds = {
            "gogui-analyze_commands": self.cmd_analyze_commands,
            "gopolicy-policy_heatmap": self.cmd_policy_heatmap,
            "gopolicy-policy_top": self.cmd_policy_top,
            "gopolicy-ownership": self.cmd_ownership,
        }
        for style in self.player.analysis_styles():
            cmds[STYLE_PREFIX[style] + "analyze"] = partial(self.analyze, style=style)
            cmds[STYLE_PREFIX[style] + "genmove_analyze"] = partial(self.genmove_analyze, style=style)
        return cmds

    def analyze(self, args, style: str) -> str:
        board = self.game.board
        c, interval, ownership = analysis_args(args, board.to_move)
        warmup.wait_ready()  # a cold start's kernels first, then the search's time
        stream = self.stream()
        text = self.player.analyze(board, c, AnalysisRequest(style, interval, ownership, stream))
        if stream is not None and stream.started:
            stream.line(text)
            stream.hold()
            stream.end()
            return STREAMED
        return "\n" + text

    def genmove_analyze(self, args, style: str) -> str:
        if not args:
            raise GtpFailure("syntax error")
        color(args[0])
        c, interval, ownership = analysis_args(args, self.game.board.to_move)
        warmup.wait_ready()
        stream = self.stream()
        move, info = self.player.genmove_analyze(self.game.board, c,
                                                 AnalysisRequest(style, interval, ownership, stream))
        if move == "resign":
            vertex = "resign"
        else:
            self.game.play(c, move)
            vertex = to_gtp(move, self.game.size)
        text = (info + "\n" if info else "") + f"play {vertex}"
        if stream is not None and stream.started:
            stream.end(text)
            return STREAMED
        return "\n" + text

    # ------------------------------------------------------------ GoGui
    def cmd_analyze_commands(self, args):
        return "\n".join(self.player.gogui_analyze_commands() + GOGUI_VIEWS)

    def cmd_policy_heatmap(self, args):
        board = self.game.board
        c, _ = leading_color(args, board.to_move)
        p = self.player.policy.probabilities(board, c)
        return board_text(p[:board.n], board.size, digits=4)

    def cmd_policy_top(self, args):
        board = self.game.board
        c, rest = leading_color(args, board.to_move)
        k = integer(rest[0]) if rest else 10
        return " ".join(f"{to_gtp(q, board.size)} {100 * pr:.1f}%"
                        for q, pr in self.player.policy.top_moves(board, c, k))

    def cmd_ownership(self, args):
        return board_text(self.player.ownership(self.game.board), self.game.size)
