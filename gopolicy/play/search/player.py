"""The tree search as a :class:`gopolicy.play.player.Player`: moves, passes,
resignation, the count and the live analysis of a :class:`Searcher`.

* Budget: ``playouts`` new simulations and/or ``seconds`` per move (whichever
  ends first); under a game clock (:mod:`gopolicy.play.time_control`) the clock decides.
* The move is the root's most visited edge, or the network's move when the
  search finds it worse by less than ``SearchConfig.keep_network_move`` in win
  rate; then end-of-game rules, so that games end by two passes with the
  territory settled, not filled. An *open* point is empty, legal, not our eye,
  not a self-atari of a string, and its owner is undecided (|rollout ownership|
  < ``ROLLOUT_SETTLED``) or the move captures.
  - when the opponent has just passed and the count wins for us even with every
    string in doubt (|mean ownership| < ``ROLLOUT_SETTLED``) counted against us,
    pass (the plain count passed into two losses against GNU Go level 10, a group
    at ownership +0.14 counted alive);
  - otherwise never pass while a move can still matter: when the search's
    move is pass, or in the endgame (at most ``ENDGAME_OPEN`` open points)
    a decided point, take the most visited open point instead (passing on the
    count while GNU Go played on in our area lost 4 of its first 39 games);
  - with no open point left, first capture the opponent's dead stones (fill a
    liberty, as ``kgs-genmove_cleanup`` does: under area scoring it costs
    nothing), then pass.
* Resignation: when the chosen move's win rate stays below
  ``resign_threshold`` for ``RESIGN_STREAK`` of our moves in a row, after move
  ``RESIGN_MIN_MOVE``, with at least ``RESIGN_MIN_VISITS`` playouts at the root.
* The count (``final_score``, ``final_status_list``, ``kgs-genmove_cleanup`` and
  the pass after the opponent's pass): strings that ``COUNT_NET_PLAYOUTS`` playouts
  of the policy network itself (:mod:`gopolicy.play.network_playouts`, ~8 s on
  one core) give to the other colour on average; the fast rollouts' count named
  GNU Go's winner in 34 of 38 finished games, and the network's read three of the
  four misses as GNU Go does. Under a clock with no ``NET_COUNT_SECONDS`` to spare,
  in the per-move cleanup, and with ``count_playouts=0`` the count is the fast
  rollouts' own (:meth:`Searcher.dead_mask`): the search's if it covered the board,
  else ``COUNT_ROLLOUTS`` rollouts (uniform rollouts: :func:`gopolicy.go.scoring.estimate`,
  which never self-atari a string).
* Analysis: ``lz``/``plain``/``kata`` info lines from the live tree, streamed
  until the next command on a stream, and GoGui's visit, heatmap and PV views.
"""
from __future__ import annotations

import time

import numpy as np

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, COLOR_NAMES, EMPTY, opponent, to_gtp
from gopolicy.go.scoring import estimate, score_after_removing
from gopolicy.play.game import SCORE_PLAYOUTS
from gopolicy.play.gtp_analysis import AnalysisRequest, board_text
from gopolicy.play.gtp_protocol import leading_color
from gopolicy.play.network_playouts import network_playouts
from gopolicy.play.player import Move, Player, PlayerCommand, StoneStatus
from gopolicy.play.search import analysis
from gopolicy.play.search.searcher import Searcher

DEFAULT_PLAYOUTS = 1600     # the move budget when neither playouts nor seconds is given
DEFAULT_SECONDS = 1.0
ROLLOUT_SETTLED = 0.7       # |rollout ownership| at which a point's owner counts as decided
ENDGAME_OPEN = 30           # open points left when decided points give way to open ones
RESIGN_THRESHOLD = 0.10
RESIGN_STREAK = 3
RESIGN_MIN_MOVE = 60
RESIGN_MIN_VISITS = 200
COUNT_ROLLOUTS = 400        # fast rollouts behind the count when no search covers the board
SEARCH_COUNT_MIN = 64       # ... covers it: the search summed this many rollouts' ownership
MOVE_COUNT_ROLLOUTS = 128   # the same inside genmove (~0.1 s: it comes out of the move's time)
COUNT_NET_PLAYOUTS = 16     # network playouts behind the count (the final score, dead stones, passing)
NET_COUNT_SECONDS = 8.0     # under a clock, the room beyond the search's aim that the network's count needs
ANALYSIS_CAP = 200_000      # simulations before a long analysis stops growing the tree
NO_PLAYOUTS = "network's move (no playouts yet)"


class SearchPlayer(Player):
    """``score_playouts``: random playouts behind the seki of ``final_status_list``."""

    def __init__(self, searcher: Searcher, playouts: int | None = DEFAULT_PLAYOUTS,
                 seconds: float | None = DEFAULT_SECONDS, resign_threshold: float | None = RESIGN_THRESHOLD,
                 log=None, count_playouts: int = COUNT_NET_PLAYOUTS, score_playouts: int = SCORE_PLAYOUTS):
        if playouts is None and seconds is None:
            raise ValueError("need playouts or seconds")
        super().__init__(searcher.policy, log)
        self.searcher = searcher
        self.playouts = playouts
        self.seconds = seconds
        self.resign_threshold = resign_threshold
        self.count_playouts = count_playouts
        self.score_playouts = score_playouts
        self._count_cache: tuple | None = None     # (position key, ownership) of the last network count
        self._count_seconds = 0.0                  # time spent in network counts (kept out of _overhead)
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

    def _move_limits(self, color: int, move_number: int) -> dict:
        """The search's limits for one move: the clock's, else the player's own."""
        clock = self.clock.budget(color, move_number)
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
        return kw

    def search(self, board: Board, color: int, progress=None, interval: float = 1.0):
        """Search ``board`` for ``color`` with the move's limits; (root, searched board)."""
        b = self._board_for(board, color)
        limits = self._move_limits(color, board.move_count)
        return self.searcher.search(b, progress=progress, interval=interval, **limits), b

    # ------------------------------------------------------------ counting
    def ensure_ownership(self, board: Board, rollouts: int = COUNT_ROLLOUTS) -> np.ndarray:
        """Rollout ownership for ``board``: the last search's if it searched this
        position with enough rollouts, else ``rollouts`` rollouts from it."""
        s = self.searcher
        if getattr(s.rollouts, "uniform", False):
            return estimate(board, rollouts).ownership
        own = s.ownership()
        rb = s.root_board
        if own is not None and rb is not None and rb.hash == board.hash and s.own_n >= SEARCH_COUNT_MIN:
            return own
        res = s.rollouts.run(board, n=rollouts, seed=int(board.hash % np.uint64(2**31 - 1)))
        return np.asarray(res.ownership_sum, np.float64) / res.n

    def count_ownership(self, board: Board, rollouts: int = COUNT_ROLLOUTS, net: bool = True) -> np.ndarray:
        """Ownership behind the count: the policy network's playouts (see the module
        docstring; the last one is cached), else :meth:`ensure_ownership`."""
        pol = self.searcher.policy
        if not net or pol is None or self.count_playouts <= 0:
            return self.ensure_ownership(board, rollouts)
        key = (int(board.hash), board.to_move, float(board.komi))
        if self._count_cache is None or self._count_cache[0] != key:
            t0 = time.perf_counter()
            res = network_playouts(pol, board, self.count_playouts, seed=int(board.hash % np.uint64(2**31 - 1)))
            self._count_seconds += time.perf_counter() - t0
            self._count_cache = (key, res.ownership)
        return self._count_cache[1]

    def dead(self, board: Board, rollouts: int = COUNT_ROLLOUTS, alive_from: dict | None = None,
             net: bool = True) -> np.ndarray:
        return self.searcher.dead_mask(board, self.count_ownership(board, rollouts, net), alive_from)

    def final_score(self, board: Board, rollouts: int = COUNT_ROLLOUTS, alive_from: dict | None = None,
                    net: bool = True) -> float:
        """B - W area after removing the stones ``dead`` finds (``alive_from``: see ``dead_mask``)."""
        return score_after_removing(board, self.dead(board, rollouts, alive_from, net), board.komi)

    def stone_status(self, board: Board) -> StoneStatus:
        """Dead stones from the count; seki from the quick estimate's playouts."""
        seki = estimate(board, self.score_playouts).seki
        return StoneStatus(self.dead(board), seki)

    def ownership(self, board: Board) -> np.ndarray:
        return self.ensure_ownership(board)

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
        cand &= (np.abs(own) < ROLLOUT_SETTLED) | (an.capture > 0)
        for p in np.flatnonzero(cand):
            if b.is_eye(int(p), color):
                cand[p] = False
        return cand

    def genmove(self, board: Board, color: int, cleanup: bool = False, progress=None,
                interval: float = 1.0) -> Move:
        t0 = time.perf_counter()
        counted = self._count_seconds
        net = self._net_count_ok(color, board.move_count)
        root, b = self.search(board, color, progress=progress, interval=interval)
        t_search = time.perf_counter()
        s = self.searcher
        best = s.chosen()
        move, why = self._end_of_game_rules(b, color, root, int(root.moves[best]), self._why(root, best),
                                            cleanup, net)
        wr = float(root.winrates()[best])
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

    @staticmethod
    def _why(root, best: int) -> str:
        """How the search's move was chosen, in the log's words."""
        if root.visits == 0:
            return NO_PLAYOUTS
        return "most visited" if best == root.best() else "network's move, within the margin"

    def _end_of_game_rules(self, b: Board, color: int, root, move: int, why: str, cleanup: bool,
                           net: bool) -> tuple[int, str]:
        """The search's ``move`` after the pass, cleanup and open-point rules (see the
        module docstring), and why."""
        n = b.n
        if cleanup:
            return self._cleanup(b, color, root, self.dead(b, net=net), move, why)
        opp_passed = bool(b.moves) and b.moves[-1] == (opponent(color), n)
        if opp_passed and self._count_wins_in_doubt(b, color, net):
            return n, "opponent passed and the count wins"
        own = self.searcher.ownership()
        open_pts = self.open_points(b, color, np.zeros(n) if own is None else own)
        n_open = int(open_pts.sum())
        if n_open == 0:
            move, why = self._cleanup(b, color, root, self.dead(b, MOVE_COUNT_ROLLOUTS, net=False), n, why)
            return move, "no open point left; " + why
        if move == n or (n_open <= ENDGAME_OPEN and not open_pts[move]):
            alt = [int(root.moves[i]) for i in np.lexsort((-root.P, -root.N))
                   if root.moves[i] < n and open_pts[root.moves[i]]]
            if alt:
                pick = "most visited open point" if root.visits else "network's top open point (no playouts yet)"
                return alt[0], ("search passes" if move == n else "decided point") + ": " + pick
        return move, why

    def _count_wins_in_doubt(self, b: Board, color: int, net: bool = True) -> bool:
        """Does the count win for ``color`` even with every string whose owner the count
        leaves in doubt (mean ownership under ``ROLLOUT_SETTLED``) counted the opponent's
        way: ours dead, theirs alive? The fast rollouts' count first, the network's
        (``net``) only to confirm a win: in every move it cost 5-19 s."""
        doubt = {color: ROLLOUT_SETTLED, opponent(color): -ROLLOUT_SETTLED}
        for use_net in ((False, True) if net else (False,)):
            score = self.final_score(b, MOVE_COUNT_ROLLOUTS, alive_from=doubt, net=use_net)
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

    def _cleanup(self, b: Board, color: int, root, dead, move: int, why: str) -> tuple[int, str]:
        n = b.n
        opp = opponent(color)
        targets = (dead if dead is not None else np.zeros(n, bool)) & (b.stones == opp)
        if not targets.any():
            return (move, f"cleanup: nothing dead, {why}") if move != n else (n, "cleanup done")
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

    # ------------------------------------------------------------ analysis
    def _info(self, board: Board, color: int, style: str, ownership: bool = False) -> str:
        s = self.searcher
        own = s.ownership() if ownership else None
        return analysis.info_line(s.root, board.size, style, ownership=own, color=color, first=s.chosen())

    def analyze(self, board: Board, color: int, request: AnalysisRequest) -> str:
        """One move's search in process; on a stream, a search that grows until the
        next command arrives (or ``ANALYSIS_CAP``), a line every ``request.interval``."""
        stream = request.stream
        if stream is None:
            self.search(board, color)
            return self._info(board, color, request.style, request.ownership)
        b = self._board_for(board, color)
        stream.begin()
        self.searcher.search(b, playouts=ANALYSIS_CAP, stop=stream.pending, interval=request.interval,
                             progress=lambda _: stream.line(self._info(board, color, request.style,
                                                                       request.ownership)))
        return self._info(board, color, request.style, request.ownership)

    def genmove_analyze(self, board: Board, color: int, request: AnalysisRequest) -> tuple[Move, str]:
        stream = request.stream
        if stream is None:
            move = self.genmove(board, color)
        else:
            stream.begin()
            move = self.genmove(board, color, interval=request.interval,
                                progress=lambda _: stream.line(self._info(board, color, request.style)))
        return move, self._info(board, color, request.style)

    def analysis_styles(self) -> tuple[str, ...]:
        return ("lz", "plain", "kata")

    def extra_commands(self) -> dict[str, PlayerCommand]:
        return {
            "gopolicy-search_visits": self._cmd_visits,
            "gopolicy-search_heatmap": self._cmd_heatmap,
            "gopolicy-search_pv": self._cmd_pv,
        }

    def gogui_analyze_commands(self) -> list[str]:
        return [
            "dboard/Search visit heatmap/gopolicy-search_heatmap %c",
            "gfx/Search visits/gopolicy-search_visits %c",
            "gfx/Principal variation/gopolicy-search_pv %c",
        ]

    def _searched(self, board: Board, args) -> int:
        """Search for the colour ``args`` name (default: the player to move); that colour."""
        color, _ = leading_color(args, board.to_move)
        self.search(board, color)
        return color

    def _cmd_visits(self, board: Board, args) -> str:
        self._searched(board, args)
        return "\n" + analysis.gfx_visits(self.searcher.root, board.size)

    def _cmd_heatmap(self, board: Board, args) -> str:
        self._searched(board, args)
        return board_text(analysis.visit_fractions(self.searcher.root, board.n), board.size)

    def _cmd_pv(self, board: Board, args) -> str:
        color = self._searched(board, args)
        return analysis.gfx_pv(self.searcher.root, board.size, color)

    # ------------------------------------------------------------ game
    def reset_game(self) -> None:
        self._low = {BLACK: 0, 3 - BLACK: 0}
        self.searcher.clear()

    def set_seed(self, seed: int) -> None:
        super().set_seed(seed)
        self.searcher.set_seed(seed)
