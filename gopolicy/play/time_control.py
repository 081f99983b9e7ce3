"""Thinking time per move from the GTP clock: ``time_settings`` (Canadian
byo-yomi), ``kgs-time_settings`` (none / absolute / byoyomi / canadian) and
``time_left``.

The rule never lets a move take more than the clock allows minus a safety
margin (``SAFETY_S`` + 5% for the reply, the network's first pass, and the
controller's own lag) and aims at an even share of what is left:

* main time: ``left / moves_to_plan`` where ``moves_to_plan`` is half the
  moves an average game still has (at least ``MIN_MOVES``), plus most of one
  byo-yomi period or stone share when byo-yomi follows;
* Canadian byo-yomi: ``left / stones``; Japanese byo-yomi: one period;
* the search may go on to ``EXTEND`` times the aim when the position is
  unclear (the two most visited moves within a factor 1.5), never past the
  hard limit.

:meth:`TimeControl.budget` returns ``(aim, hard)`` seconds, or None when the
game has no time limit (the engine's own ``--playouts`` / ``--time`` apply).
"""
from __future__ import annotations

SAFETY_S = 0.3        # seconds kept back on every move
SAFETY_FRAC = 0.05    # and this share of the time available for the move
MIN_MOVES = 20        # plan for at least this many more own moves
GAME_LENGTH = 300     # plies of a typical game: what main time is shared over
EXTEND = 2.5          # unclear positions may use this multiple of the aim


class TimeControl:
    """The clock state of one game (see the module docstring)."""

    def __init__(self):
        self.kind = "none"      # none | absolute | canadian | byoyomi
        self.main = 0.0
        self.period = 0.0       # byo-yomi seconds (Canadian: per block of stones)
        self.stones = 0         # Canadian: stones per block; Japanese: periods
        self.left: dict[int, tuple[float, int]] = {}

    # ------------------------------------------------------------ GTP
    def set_canadian(self, main: float, byo: float, stones: int) -> None:
        """GTP ``time_settings``: byo_yomi > 0 with stones == 0 means no time limit."""
        if byo > 0 and stones == 0:
            self.kind = "none"
        elif byo == 0 and main == 0:
            self.kind = "none"
        else:
            self.kind = "canadian" if byo > 0 else "absolute"
        self.main, self.period, self.stones = float(main), float(byo), int(stones)
        self.left.clear()

    def set_kgs(self, kind: str, values: list[int]) -> None:
        """``kgs-time_settings none | absolute M | byoyomi M P N | canadian M B S``."""
        self.left.clear()
        if kind == "none":
            self.kind = "none"
        elif kind == "absolute":
            self.kind, self.main, self.period, self.stones = "absolute", float(values[0]), 0.0, 0
        elif kind == "byoyomi":
            self.kind, self.main, self.period, self.stones = ("byoyomi", float(values[0]),
                                                               float(values[1]), int(values[2]))
        elif kind == "canadian":
            self.set_canadian(*values)
        else:
            raise ValueError(kind)

    def set_left(self, color: int, seconds: float, stones: int) -> None:
        self.left[color] = (float(seconds), int(stones))

    # ------------------------------------------------------------ allocation
    def budget(self, color: int, move_number: int) -> tuple[float, float] | None:
        """``(aim, hard)`` seconds for ``color``'s move ``move_number`` (plies so far)."""
        if self.kind == "none":
            return None
        left, stones = self.left.get(color, (self.main, 0))
        plan = max(MIN_MOVES, (GAME_LENGTH - move_number) / 2)

        def safe(t: float) -> float:
            return max(0.05, t - SAFETY_S - SAFETY_FRAC * t)

        if self.kind == "absolute":
            hard = safe(left / 4)
            aim = left / plan
        elif self.kind == "canadian":
            if stones > 0:                                  # in byo-yomi
                share = left / stones
                hard = safe(share)
                aim = share * 0.8
            else:                                           # main time, byo-yomi after
                share = self.period / max(self.stones, 1)
                hard = safe(left + share) if left > 0 else safe(share)
                aim = left / plan + 0.8 * share
        else:                                               # Japanese byo-yomi
            if stones > 0 and (left <= self.period or self.main == 0 or left == 0):
                hard = safe(left if left > 0 else self.period)   # one period, never lose one
                aim = 0.8 * hard
            else:
                hard = safe(left + self.period)
                aim = left / plan + 0.8 * self.period
        aim = min(max(0.05, aim), hard)
        return aim, min(hard, EXTEND * aim)
