"""A match's records and its statistics: each game's outcome for our engine, the win
rate with its Wilson 95% interval, and the re-count of older records by today's rules.

A game the opponent's crash ended is "no result": left out of the win rate and
its interval and counted apart; a crash of our own engine is our loss. Repeated
games of deterministic engines are not independent trials, so each record keeps a
signature of its moves and the report counts the distinct games.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import asdict, dataclass

from gopolicy.go.coords import opponent
from gopolicy.play.referee import COLOR_LETTER, GameResult

NO_RESULT = "no result"
DECIDED = ("win", "loss", "draw")
Z_95 = 1.959963984540054


def wilson_interval(successes: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default).
    ``(0.0, 1.0)`` when ``n == 0``."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return lo, hi


@dataclass
class GameRecord:
    game: int
    black: str
    white: str
    engine_color: str       # "B" / "W"
    result: str
    engine_result: str      # "win" / "loss" / "draw" / "void" / "no result" (the opponent crashed)
    reason: str
    moves: int
    seconds: float
    scorer: str
    sgf: str
    seed: str = ""          # set_random_seed sent before this game ("" when none)
    signature: str = ""     # hash of the move sequence, to count distinct games


@dataclass
class MatchSummary:
    engine: str
    opponent: str
    records: list
    wins: float
    decided: int
    win_rate: float
    ci: tuple
    no_result: int = 0      # games the opponent's crash ended: not in wins, decided or ci

    def line(self) -> str:
        lo, hi = self.ci
        nr = f"; {self.no_result} no result (opponent crashed), not counted" if self.no_result else ""
        return (f"{self.engine} won {self.wins:g} of {self.decided} games against {self.opponent} "
                f"(win rate {100 * self.win_rate:.1f}%, Wilson 95% CI {100 * lo:.1f}%-{100 * hi:.1f}%){nr}")


def summarise(records: list[GameRecord], engine: str, opponent: str) -> MatchSummary:
    wins = sum(1.0 for r in records if r.engine_result == "win") + \
        sum(0.5 for r in records if r.engine_result == "draw")
    decided = sum(1 for r in records if r.engine_result in DECIDED)
    rate = wins / decided if decided else 0.0
    no_result = sum(1 for r in records if r.engine_result == NO_RESULT)
    return MatchSummary(engine, opponent, records, wins, decided, rate, wilson_interval(wins, decided),
                        no_result)


def outcome_for(res: GameResult, ours: int) -> tuple[str, str, str]:
    """(engine_result, SGF result, reason) of one game for the engine playing ``ours``:
    the opponent's crash is no result; our own crash is our loss."""
    if res.crashed is not None:
        if res.crashed == ours:
            w = opponent(ours)
            return "loss", f"{COLOR_LETTER[w]}+F", res.reason.removeprefix("no result: ") + \
                " (our engine: counted as a loss)"
        return NO_RESULT, "Void", res.reason
    if res.winner is None:
        return "void", res.result, res.reason
    if res.winner == 0:
        return "draw", res.result, res.reason
    return ("win" if res.winner == ours else "loss"), res.result, res.reason


# How the runner worded a crash before crashes were "no result" (e.g. game 43 of
# data/results/match_gnugo_level10: GNU Go died with signal 11).
_OLD_CRASH = re.compile(r"^(black|white) forfeits: engine '[^']*' died\b")


def recount(records: list[GameRecord]) -> list[GameRecord]:
    """Records of an older results.csv counted by today's rules: a game won
    because the opponent's process died becomes no result (``Void``)."""
    out = []
    for r in records:
        m = _OLD_CRASH.match(r.reason)
        loser = m and ("B" if m.group(1) == "black" else "W")
        if m and loser != r.engine_color and r.engine_result == "win":
            r = GameRecord(**{**asdict(r), "engine_result": NO_RESULT, "result": "Void",
                              "reason": f"no result: {r.reason.replace(' forfeits: ', ' crashed: ', 1)}"})
        out.append(r)
    return out


def moves_signature(moves) -> str:
    return hashlib.sha1(repr([(int(c), int(m)) for c, m in moves]).encode()).hexdigest()[:12]
