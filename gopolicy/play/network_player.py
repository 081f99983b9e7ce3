"""The policy network alone as a :class:`gopolicy.play.player.Player` (``gopolicy gtp
--playouts 0``).

Moves come from the policy network: greedy over the legal moves (simple ko and
positional superko), never filling the player's own true eyes, sampled when the
network has a temperature. It passes when no sensible move remains, or when the
opponent has just passed and the count (area scoring with komi, dead stones removed,
:mod:`gopolicy.go.scoring`'s random playouts) is a win for it; once the opponent has
passed it also only plays on points whose owner is still open (|ownership| under
``ESTIMATE_SETTLED``), so it does not drag a finished game out. With ``resign=True``
it resigns late in the game (after move ``RESIGN_AFTER_MOVE``) when the estimated
area score is more than ``RESIGN_MARGIN`` points against it.

Its analysis is the network's prior as ``info`` lines (visits stand for the prior,
win rates are neutral): one answer, never streamed, as it takes no time.
"""
from __future__ import annotations

import time

import numpy as np

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, COLOR_NAMES, EMPTY, WHITE, opponent, to_gtp
from gopolicy.go.scoring import Estimate, estimate, final_score, score_after_removing
from gopolicy.play.game import SCORE_PLAYOUTS
from gopolicy.play.gtp_analysis import AnalysisRequest
from gopolicy.play.player import Move, Player, StoneStatus

RESIGN_AFTER_MOVE = 150
RESIGN_MARGIN = 40.0
RESIGN_MIN_PLAYOUTS = 16    # the resignation's own estimate, when no count was needed
# |random-playout ownership| above which a point's owner is decided: after the
# opponent's pass the network plays only where it is not.
ESTIMATE_SETTLED = 0.8
INFO_MOVES = 10             # moves in an analysis line
INFO_MIN_PRIOR = 1e-4       # ... with at least this prior


class NetworkPlayer(Player):
    """The network's move, pass and resignation (see the module docstring).

    ``policy``: a :class:`gopolicy.play.network_policy.NetworkPolicy`;
    ``score_playouts``: random playouts behind the count, ownership and dead stones.
    """

    def __init__(self, policy, score_playouts: int = SCORE_PLAYOUTS, resign: bool = False, log=None):
        super().__init__(policy, log)
        self.score_playouts = score_playouts
        self.allow_resign = resign

    # ------------------------------------------------------------ moves
    def genmove(self, board: Board, color: int, cleanup: bool = False) -> Move:
        t0 = time.perf_counter()
        decision, est = self._pass_or_resign(board, color, cleanup)
        if decision is not None:
            return decision
        n = board.n
        p = self.policy.sensible_probabilities(board, color)
        p[n] = 0.0
        if cleanup:
            move = self._cleanup_move(board, color, p, est)
        else:
            if est is not None:  # opponent passed, we are not ahead: play only where it matters
                open_pts = np.abs(est.ownership) < ESTIMATE_SETTLED
                p[:n] = np.where(open_pts, p[:n], 0.0)
            move = self.policy.choose(p, n)
        if move != n and not board.is_legal(move, color):  # defensive: never answer an illegal move
            self.log(f"policy chose illegal {to_gtp(move, board.size)}; passing")
            move = n
        self.log(f"genmove {COLOR_NAMES[color]} -> {to_gtp(move, board.size)} "
                 f"({(time.perf_counter() - t0) * 1000:.1f} ms)")
        return move

    def _pass_or_resign(self, board: Board, color: int, cleanup: bool) -> tuple[Move | None, Estimate | None]:
        """Pass (the opponent passed and the count wins) or resign, else None; and the
        count's estimate when one was made (after a pass, in cleanup)."""
        sign = 1.0 if color == BLACK else -1.0
        est = None
        opponent_passed = bool(board.moves) and board.moves[-1] == (opponent(color), board.pass_move)
        if opponent_passed or cleanup:
            est = estimate(board, self.score_playouts)
            ours = sign * score_after_removing(board, est.dead, board.komi)
            if not cleanup and ours > 0:
                self.log(f"opponent passed and {COLOR_NAMES[color]} wins by {ours:g}: pass")
                return board.pass_move, est
        if self.allow_resign and board.move_count > RESIGN_AFTER_MOVE:
            if est is None:
                est = estimate(board, max(RESIGN_MIN_PLAYOUTS, self.score_playouts // 2))
            margin = sign * (est.mean_score - board.komi)
            if margin < -RESIGN_MARGIN:
                self.log(f"estimated {COLOR_NAMES[color]} margin {margin:.1f} < -{RESIGN_MARGIN:g}: resign")
                return "resign", est
        return None, est

    def _cleanup_move(self, b: Board, color: int, p: np.ndarray, est: Estimate) -> int:
        """kgs-genmove_cleanup: capture the opponent's dead stones before passing."""
        n = b.n
        targets = est.dead & (b.stones == opponent(color))
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

    # ------------------------------------------------------------ counting
    def final_score(self, board: Board) -> float:
        return final_score(board, board.komi, playouts=self.score_playouts)

    def stone_status(self, board: Board) -> StoneStatus:
        est = estimate(board, self.score_playouts)
        return StoneStatus(est.dead, est.seki)

    def ownership(self, board: Board) -> np.ndarray:
        return estimate(board, self.score_playouts).ownership

    # ------------------------------------------------------------ analysis
    def analyze(self, board: Board, color: int, request: AnalysisRequest) -> str:
        return self._info_line(board, color, request.style)

    def genmove_analyze(self, board: Board, color: int, request: AnalysisRequest) -> tuple[Move, str]:
        info = self._info_line(board, color, request.style)
        return self.genmove(board, color), info

    def _info_line(self, board: Board, color: int, style: str) -> str:
        parts = []
        for order, (q, pr) in enumerate(self.policy.top_moves(board, color, INFO_MOVES, INFO_MIN_PRIOR)):
            v = to_gtp(q, board.size)
            visits = max(1, int(round(pr * 1000)))
            if style == "lz":
                parts.append(f"info move {v} visits {visits} winrate 5000 prior {int(round(pr * 10000))} "
                             f"order {order} pv {v}")
            else:
                parts.append(f"info move {v} visits {visits} winrate 0.5 prior {pr:.6f} "
                             f"order {order} pv {v}")
        return " ".join(parts)
