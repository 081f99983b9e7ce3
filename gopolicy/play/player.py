"""The one interface a GTP engine drives: whatever chooses the moves, analyses and counts.

Two players implement it: :class:`gopolicy.play.network_player.NetworkPlayer` (the
policy network alone) and :class:`gopolicy.play.search.player.SearchPlayer` (the tree
search). :class:`gopolicy.play.gtp_engine.GtpEngine` speaks GTP over a Player and a
:class:`gopolicy.play.game.Game` and never asks which player it has: what only one of
them can do reaches GTP as its analysis styles and its extra commands.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gopolicy.go.board import Board
from gopolicy.play.gtp_analysis import AnalysisRequest
from gopolicy.play.time_control import TimeControl

Move = int | str            # a point, the pass move (``board.n``) or ``"resign"``
# An extra GTP command: (the game's board, the command's arguments) -> the reply text.
PlayerCommand = Callable[[Board, list], str]


@dataclass
class StoneStatus:
    """``final_status_list``'s answer: bool masks over the board's points."""

    dead: np.ndarray
    seki: np.ndarray


class Player(ABC):
    """Chooses moves, analyses positions and counts finished games for a GTP engine.

    ``policy``: the network behind the moves (the engine's policy views and free
    handicap placement use it); ``clock``: the game clock GTP sets (a player that
    thinks takes its time from it); ``log(message)``: where the player explains
    its moves (the engine points it at its own log).
    """

    def __init__(self, policy, log: Callable[[str], None] | None = None):
        self.policy = policy
        self.clock = TimeControl()
        self.log = log or (lambda msg: None)

    # ------------------------------------------------------------ moves
    @abstractmethod
    def genmove(self, board: Board, color: int, cleanup: bool = False) -> Move:
        """``color``'s move on ``board`` (which it does not change), pass or ``"resign"``;
        ``cleanup`` (``kgs-genmove_cleanup``): capture the dead stones before passing."""

    # ------------------------------------------------------------ counting
    @abstractmethod
    def final_score(self, board: Board) -> float:
        """Black's area score minus White's, komi included, dead stones removed."""

    @abstractmethod
    def stone_status(self, board: Board) -> StoneStatus:
        """The dead stones and the stones in seki."""

    @abstractmethod
    def ownership(self, board: Board) -> np.ndarray:
        """Expected owner of every point, +1 Black ... -1 White."""

    # ------------------------------------------------------------ analysis
    @abstractmethod
    def analyze(self, board: Board, color: int, request: AnalysisRequest) -> str:
        """The ``info`` line of an analysis of ``board`` for ``color``. A player that
        streams begins ``request.stream`` and writes its lines as they come; the
        returned line is the last one."""

    @abstractmethod
    def genmove_analyze(self, board: Board, color: int, request: AnalysisRequest) -> tuple[Move, str]:
        """``genmove`` with analysis: the move and the ``info`` line behind it (a player
        that streams begins ``request.stream`` and writes its lines while it thinks)."""

    def analysis_styles(self) -> tuple[str, ...]:
        """The analysis styles it answers: ``lz`` (``lz-analyze``), ``plain`` (``analyze``),
        ``kata`` (``kata-analyze``)."""
        return ("lz", "plain")

    def extra_commands(self) -> dict[str, PlayerCommand]:
        """GTP commands only this player answers (name -> handler)."""
        return {}

    def gogui_analyze_commands(self) -> list[str]:
        """Lines for ``gogui-analyze_commands`` about what only this player shows."""
        return []

    # ------------------------------------------------------------ game
    def reset_game(self) -> None:
        """A new game starts (``clear_board``, ``boardsize``)."""

    def set_seed(self, seed: int) -> None:
        """``set_random_seed``: every random choice from here on follows ``seed``."""
        if self.policy is not None:
            self.policy.rng = np.random.default_rng(seed)
