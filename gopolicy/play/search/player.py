"""Moves, passes, resignation and scoring from the search (what ``gopolicy gtp``
does with a :class:`Searcher`).

* Budget: ``playouts`` new simulations and/or ``seconds`` per move (whichever
  ends first); under a game clock (:mod:`.time_control`) the clock decides.
* The move is the root's most visited edge, or the network's move when the
  search finds it worse by less than ``SearchConfig.keep_network_move`` in win
  rate (the rollouts' small differences are noise and bias more often than
  reading), with end-of-game rules so that
  games end by two passes with the territory settled, not filled. An *open*
  point is empty, legal, not our eye, not a self-atari of a string, and its
  owner is undecided (|rollout ownership| < ``SETTLED``) or the move captures.
  - when the opponent has just passed and the count wins for us even with every
    string in doubt (|mean ownership| < ``SETTLED``) counted against us, pass. With
    the plain count (stones the rollouts judge dead removed) we passed into two
    losses against GNU Go level 10: a black group of 11 stones at ownership +0.14
    counted alive (game 25 of the 800-playout match: our count B+42.5, GNU Go's
    W+4.5), white groups at +0.34 counted dead (game 35: B+28.5 against W+20.5);
  - otherwise never pass while a move can still matter: when the search's
    move is pass, or in the endgame (at most ``ENDGAME_OPEN`` open points)
    a decided point (it gains nothing under area scoring), take the most
    visited open point instead;
  - with no open point left, first capture the opponent's dead stones (fill a
    liberty, as ``kgs-genmove_cleanup`` does: under area scoring it costs
    nothing), then pass.
  A count-based pass while the opponent still played cost games: in the first
  39 games against GNU Go level 10 we passed again and again while GNU Go
  played on in our area (game 1: six passes from move 249, lost by 20.5; game 3
  lost by 0.5, game 14 by 37.5, game 38 by 24.5, all after runs of passes).
* Resignation: when the chosen move's win rate stays below
  ``resign_threshold`` for ``RESIGN_STREAK`` of our moves in a row, after move
  ``RESIGN_MIN_MOVE``, with at least ``RESIGN_MIN_VISITS`` playouts at the root.
* ``kgs-genmove_cleanup``: capture the stones the count judges dead (fill a
  liberty of one), pass only when none is left.
* Dead stones and the final score (``final_score``, ``final_status_list``,
  ``kgs-genmove_cleanup`` and the pass after the opponent's pass, which both
  counts must allow): strings whose
  points ``COUNT_NET_PLAYOUTS`` playouts of the policy network itself
  (:mod:`gopolicy.play.network_playouts`, ~8 s on one core) give to the other
  colour on average. The fast rollouts' count named GNU Go's winner in 34 of 38
  finished games; three of the four misses were big groups whose status the
  rollouts misread and the network's playouts read as GNU Go does. Under a game
  clock whose move may not run ``NET_COUNT_SECONDS`` past its aim, in the per-move
  cleanup, and with ``count_playouts=0`` the count is the fast rollouts' own
  (:meth:`Searcher.dead_mask`): the search's if it covered the board, else
  ``SCORE_PLAYOUTS`` rollouts; with uniform rollouts
  (no ``rollout.npz``) they are :func:`gopolicy.go.scoring.estimate`'s
  playouts, which never self-atari a string: uniform rollouts that do killed
  big living groups at random (a finished self-play game GNU Go counts B+12.5
  came out B+63.5).
"""
from __future__ import annotations

import time

import numpy as np

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, COLOR_NAMES, EMPTY, opponent, to_gtp
from gopolicy.go.scoring import estimate, score_after_removing
from gopolicy.play.search.searcher import Searcher
from gopolicy.play.search.time_control import TimeControl

SETTLED = 0.7               # |rollout ownership| at which a point's owner counts as decided
ENDGAME_OPEN = 30           # open points left when decided points give way to open ones
RESIGN_THRESHOLD = 0.10
RESIGN_STREAK = 3
RESIGN_MIN_MOVE = 60
RESIGN_MIN_VISITS = 200
SCORE_PLAYOUTS = 400        # playouts behind final_score / dead stones when no search covers the board
COUNT_PLAYOUTS = 128        # the same for the count inside genmove (~0.1 s: it comes out of the move's time)
COUNT_NET_PLAYOUTS = 16     # network playouts behind the count (the final score, dead stones, passing)
NET_COUNT_SECONDS = 8.0     # under a clock, the room beyond the search's aim that the network's count needs
ANALYSIS_CAP = 200_000      # simulations before a long analysis stops growing the tree


class SearchPlayer:
    def __init__(self, searcher: Searcher, playouts: int | None = 1600, seconds: float | None = 1.0,
                 resign_threshold: float | None = RESIGN_THRESHOLD, log=None,
                 count_playouts: int = COUNT_NET_PLAYOUTS):
        if playouts is None and seconds is None:
            raise ValueError("need playouts or seconds")
        self.searcher = searcher
        self.playouts = playouts
        self.seconds = seconds
        self.resign_threshold = resign_threshold
        self.count_playouts = count_playouts
        self._count_cache: tuple | None = None     # (position key, ownership) of the last network count
        self._count_seconds = 0.0                  # time spent in network counts (kept out of _overhead)
        self.clock = TimeControl()
        self.log = log or (lambda msg: None)
        self._low = {BLACK: 0, 3 - BLACK: 0}
        self.last: dict = {}
        self._overhead = 0.0    # seconds a move spent outside the search lately (counts, set-up)

    # ------------------------------------------------------------ searching
    def _board_for(self, board: Board, color: int) -> Board:
        if board.to_move == color:
            return board
        b = board.copy()
        b.to_move, b.ko = color, -1     # GTP lets either colour move; no ko for the other one
        return b

    def search(self, board: Board, color: int, progress=None, interval: float = 1.0, **kw):
        """Search ``board`` for ``color`` with the move budget (or ``kw``)."""
        b = self._board_for(board, color)
        if not kw:
            clock = self.clock.budget(color, board.move_count)
            if clock is not None:
                kw = {"seconds": clock[0], "max_seconds": clock[1]}
            else:
                kw = {"playouts": self.playouts, "seconds": self.seconds,
                      "max_seconds": None if self.seconds is None else 2 * self.seconds}
                if self.playouts is not None and self.seconds is not None:
                    kw["max_seconds"] = self.seconds   # both given: both are hard limits
            # The move's own work outside the search (the count near the end) comes
            # out of its time: a 1 s move measured 2.1 s under load without this.
            for k in ("seconds", "max_seconds"):
                if kw.get(k) is not None:
                    kw[k] = max(0.5 * kw[k], kw[k] - self._overhead)
        return self.searcher.search(b, progress=progress, interval=interval, **kw), b

    def ensure_ownership(self, board: Board, playouts: int = SCORE_PLAYOUTS) -> np.ndarray:
        """Rollout ownership for ``board``: the last search's if it searched this
        position with enough rollouts, else ``SCORE_PLAYOUTS`` rollouts from it."""
        s = self.searcher
        if getattr(s.rollouts, "uniform", False):
            return estimate(board, playouts).ownership
        own = s.ownership()
        rb = s.root_board
        if own is not None and rb is not None and rb.hash == board.hash and s.own_n >= 64:
            return own
        res = s.rollouts.run(board, n=playouts, seed=int(board.hash % np.uint64(2**31 - 1)))
        return np.asarray(res.ownership_sum, np.float64) / res.n

    def count_ownership(self, board: Board, playouts: int = SCORE_PLAYOUTS, net: bool = True) -> np.ndarray:
        """Ownership behind the count: the policy network's playouts (see the module
        docstring; the last one is cached), else :meth:`ensure_ownership`."""
        pol = self.searcher.policy
        if not net or pol is None or self.count_playouts <= 0:
            return self.ensure_ownership(board, playouts)
        from gopolicy.play.network_playouts import network_playouts

        key = (int(board.hash), board.to_move, float(board.komi))
        if self._count_cache is None or self._count_cache[0] != key:
            t0 = time.perf_counter()
            res = network_playouts(pol, board, self.count_playouts, seed=int(board.hash % np.uint64(2**31 - 1)))
            self._count_seconds += time.perf_counter() - t0
            self._count_cache = (key, res.ownership)
        return self._count_cache[1]

    def dead(self, board: Board, playouts: int = SCORE_PLAYOUTS, alive_from: dict | None = None,
             net: bool = True) -> np.ndarray:
        return self.searcher.dead_mask(board, self.count_ownership(board, playouts, net), alive_from)

    def final_score(self, board: Board, playouts: int = SCORE_PLAYOUTS, alive_from: dict | None = None,
                    net: bool = True) -> float:
        """B - W area after removing the stones ``dead`` finds (``alive_from``: see ``dead_mask``)."""
        return score_after_removing(board, self.dead(board, playouts, alive_from, net), board.komi)

    def _net_count_ok(self, color: int, move_number: int) -> bool:
        """Is there time for the network's count in this move (no clock, or a roomy one)?"""
        clock = self.clock.budget(color, move_number)
        return clock is None or clock[1] >= clock[0] + NET_COUNT_SECONDS

    # ------------------------------------------------------------ genmove
    def open_points(self, b: Board, color: int, own: np.ndarray) -> np.ndarray:
        """Bool [n]: points where a move can still matter (see the module docstring)."""
        an = b.analyze(color)
        cand = an.legal.astype(bool) & (b.stones == EMPTY)
        cand &= ~((an.libs_after == 1) & (an.size_after >= 2) & (an.capture == 0))
        cand &= (np.abs(own) < SETTLED) | (an.capture > 0)
        for p in np.flatnonzero(cand):
            if b.is_eye(int(p), color):
                cand[p] = False
        return cand

    def genmove(self, board: Board, color: int, cleanup: bool = False, progress=None,
                interval: float = 1.0) -> int | str:
        t0 = time.perf_counter()
        counted = self._count_seconds
        net = self._net_count_ok(color, board.move_count)
        root, b = self.search(board, color, progress=progress, interval=interval)
        t_search = time.perf_counter()
        s = self.searcher
        n = b.n
        own = s.ownership()
        own = np.zeros(n) if own is None else own
        best = s.chosen()
        move = int(root.moves[best])
        wr = float(root.winrates()[best])
        why = "most visited" if best == root.best() else "network's move, within the margin"
        opp_passed = bool(b.moves) and b.moves[-1] == (opponent(color), n)
        if cleanup:
            move, why = self._cleanup(b, color, root, self.dead(b, net=net), move)
        elif opp_passed and self._count_wins_in_doubt(b, color, net):
            move, why = n, "opponent passed and the count wins"
        else:
            open_pts = self.open_points(b, color, own)
            n_open = int(open_pts.sum())
            if n_open == 0:
                move, why = self._cleanup(b, color, root, self.dead(b, COUNT_PLAYOUTS, net=False), n)
                why = "no open point left; " + why
            elif move == n or (n_open <= ENDGAME_OPEN and not open_pts[move]):
                alt = [int(root.moves[i]) for i in np.lexsort((-root.P, -root.N))
                       if root.moves[i] < n and open_pts[root.moves[i]]]
                if alt:
                    move, why = alt[0], ("search passes" if move == n else "decided point") + \
                        ": most visited open point"
        resign = self._resign_check(b, color, wr, root.visits)
        # The network's count (after the opponent's pass) is not the search's usual
        # overhead: kept out, it would starve the next few searches.
        extra = time.perf_counter() - t_search - (self._count_seconds - counted)
        self._overhead = max(extra, 0.7 * self._overhead + 0.3 * extra)
        self.last = {"move": move, "winrate": wr, "visits": root.visits, "why": why,
                     "playouts": s.stats.playouts, "seconds": time.perf_counter() - t0,
                     "net_evals": s.stats.net_evals}
        self.log(f"search move {b.move_count + 1} {COLOR_NAMES[color]} -> {'resign' if resign else to_gtp(move, b.size)} "
                 f"({why}; win rate {100 * wr:.1f}%, {s.stats.playouts} playouts, "
                 f"{root.visits} root visits, {s.stats.net_evals} net evals, "
                 f"{time.perf_counter() - t0:.2f} s)")
        return "resign" if resign else move

    def _count_wins_in_doubt(self, b: Board, color: int, net: bool = True) -> bool:
        """Does the count win for ``color`` even with every string whose owner the count
        leaves in doubt (mean ownership under ``SETTLED``) counted the opponent's way: ours
        dead, theirs alive? The fast rollouts' count first, the network's (``net``) only to
        confirm a win: a count that loses only means playing on, and while we captured dead
        stones after GNU Go's passes the network's count in every move cost 5-19 s each (two games sharing 2 cores)."""
        doubt = {color: SETTLED, opponent(color): -SETTLED}
        for use_net in ((False, True) if net else (False,)):
            score = self.final_score(b, COUNT_PLAYOUTS, alive_from=doubt, net=use_net)
            if (score if color == BLACK else -score) <= 0:
                return False
        return True

    def _resign_check(self, b: Board, color: int, wr: float, visits: int) -> bool:
        thr = self.resign_threshold
        if thr is None or b.move_count < RESIGN_MIN_MOVE or visits < RESIGN_MIN_VISITS:
            self._low[color] = 0
            return False
        self._low[color] = self._low[color] + 1 if wr < thr else 0
        return self._low[color] >= RESIGN_STREAK

    def _cleanup(self, b: Board, color: int, root, dead, move: int) -> tuple[int, str]:
        n = b.n
        opp = opponent(color)
        targets = (dead if dead is not None else np.zeros(n, bool)) & (b.stones == opp)
        if not targets.any():
            return (move, "cleanup: nothing dead, most visited") if move != n else (n, "cleanup done")
        legal = b.legal_mask(color)
        an = b.analyze(color)
        # A fill that leaves our own string in atari is how a misjudged seki dies.
        self_atari = (an.libs_after == 1) & (an.capture == 0)
        visits = np.zeros(n + 1)
        visits[root.moves] = root.N
        best, key = n, None
        for q in np.flatnonzero(targets):
            for r in b.nbr[q]:
                r = int(r)
                if r < 0 or b.stones[r] != EMPTY or not legal[r] or b.is_eye(r, color) or self_atari[r]:
                    continue
                k = (visits[r], -r)
                if key is None or k > key:
                    best, key = r, k
        if best != n:
            return best, "cleanup: fill a liberty of dead stones"
        return (move, "cleanup: approach dead stones") if move != n else (n, "cleanup: no liberty to fill")

    def reset_game(self) -> None:
        self._low = {BLACK: 0, 3 - BLACK: 0}
        self.searcher.clear()
