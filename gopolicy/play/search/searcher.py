"""Monte-Carlo tree search with policy-network priors and rollouts (Silver et al.
2016, Methods "Search algorithm", with mixing parameter lambda = 1: leaves are
valued by rollouts only, there is no value network).

One simulation, in four steps: ``select_leaf`` picks edges (:mod:`.tree`: by default
Pachi's rule, the prior as virtual wins blended with RAVE; PUCT with ``prior_eqex`` 0)
from the root down to an edge without an expanded child; ``expand`` gives that edge
its child once it has ``expand_threshold`` visits (the paper's n_thr); ``evaluate``
plays the position out with one rollout to the end (area score with komi); ``backup``
adds the result along the path, and its all-moves-as-first statistics (``backup_amaf``)
at every node of it. A search runs simulations until its
:class:`.budget.SearchBudget` is spent.

* Priors: a new node gets the tree policy's probabilities at once (the
  "provisional prior") and is queued for the policy network; whichever thread
  finds ``batch`` nodes queued evaluates them in one forward pass and replaces
  their priors. The root is evaluated before the first simulation.
* Threads: ``threads`` Python threads share one tree under one lock held only
  for the in-tree walk and the backup; the rollout (numba, nogil) and the
  network pass (torch) run outside it, so two threads use two cores. Virtual
  loss keeps them on different paths.
* Pass is an edge of every node (prior ``pass_prior``); two passes in a row end
  the game in the tree, valued by the area count with the stones the rollouts
  judge dead removed. Positional superko: an edge whose move repeats a position
  is found when the walk plays it and is removed from that node.
* Tree reuse: the next search keeps the subtree of the moves played since.
* Ownership: every rollout's final ownership is summed at the root; it feeds
  passing, dead stones, ``final_score`` and the GUI ownership view.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from gopolicy.go.board import Board, IllegalMove
from gopolicy.go.coords import BLACK
from gopolicy.go.scoring import score_after_removing, strings_of
from gopolicy.play.eyes import own_eyes
from gopolicy.play.game import BOARD_SIZE, DEFAULT_KOMI
from gopolicy.play.search.budget import UNCLEAR_RATIO, SearchBudget
from gopolicy.play.search.tree import Node, win_for
from gopolicy.rollout import Rollouts, TreePolicy
from gopolicy.rollout.tactics import PlayoutTactics

CENTRE_ROLLOUTS = 32   # rollouts that centre the score term when no earlier search did


def _tie_break(b: Board) -> np.ndarray:
    """Weights for a uniform tree policy (no trained weights yet): the first line
    discounted, the last move's neighbourhood favoured. Without them every new
    node's first visit went to its lowest index, A1."""
    size = b.size
    r, c = np.divmod(np.arange(b.n), size)
    edge = np.minimum(np.minimum(r, c), np.minimum(size - 1 - r, size - 1 - c))
    w = np.where(edge == 0, 0.2, 1.0)
    if b.moves and b.moves[-1][1] < b.n:
        lr, lc = divmod(b.moves[-1][1], size)
        w = w * np.where(np.abs(r - lr) + np.abs(c - lc) <= 2, 4.0, 1.0)
    return w


PRIOR_TAPER_MOVES = 150     # moves over which prior_eqex tapers to prior_eqex_late


@dataclass
class SearchConfig:
    """The search's constants and what they rest on (AMD EPYC, this project's measurements).

    * ``prior_eqex`` 1,300 tapering to ``prior_eqex_late`` 900 by move 150 (Pachi 12.90's
      progressive DCNN prior): against the bare network at 500 playouts 8 of 20, where a flat
      500 won 2 of 16 (Fisher p = 0.13); against Pachi 12.90 at 500 playouts each 5 of 10
      (flat 500: 6 of 10). ``even_eqex`` 20, ``rave_equiv`` 4,000, ``c_puct`` 0 (Pachi's tree:
      the prior as virtual wins, RAVE, no exploration term): against Pachi 12.90 at 500
      playouts each, 6 of 10, against 2 of 10 for PUCT (``c_puct`` 2, no RAVE) and 1 of 10
      for PUCT with RAVE (data/results/trials_pachi1290). With PUCT, ``c_puct`` 2.0 had agreed
      with the professional's move on 15 of 40 tom9d positions at 400 playouts (0.5: 11, 1: 12,
      3: 12, 4: 14).
    * ``fpu_reduction`` 0.25 (Leela Zero's; with ``prior_eqex``, for pass only): a flat
      ``node value - 0.1`` froze a node whose first rollout lost on its first edge (pass got
      649 of 653 visits).
    * ``expand_threshold`` 8: 121 network evaluations in a 1,600-playout search (0.25 s),
      against 249 (0.5 s of 1.7 s) at 4; the tree policy covers the rest.
    * ``score_weight`` 0.5, ``score_scale`` 20: a rollout is worth ``(1 - w) * win + w *
      (1 + tanh((score - centre) / scale)) / 2``, ``centre`` the previous search's mean
      score, so that a gradient remains when every move wins or loses (win/loss alone
      played slack moves once ahead: 10 wins in 39 against GNU Go level 10).
    * ``root_symmetries`` 8: the root's prior is the 8-symmetry average (one forward pass,
      ~16 ms), as the policy-alone player plays; deeper nodes use one.
    * ``tree_prior_mix`` 0.1: keeps in reach a decisive move the network gives ~0 (a
      capture of 190 stones at P < 0.001 in the capturing-race test).
    * ``keep_network_move`` 0.1: the most visited move replaces the network's only when
      its rollout win rate is 0.1 higher: on 300 held-out tom9d positions at 800 playouts
      (``scripts/search_agreement.py``) this rule played the player's move 136 times, the
      most visited move 127.
    * ``batch`` 8: a forward pass costs 2.76 ms a position alone, 1.95 in 8s, 1.88 in 16s.
    * ``playout_capture`` 0.9, ``playout_self_atari`` 0.6 (Pachi's moggy rates; rollout/tactics.py):
      rollout value error on 910 held-out positions 0.219 against the policy alone's 0.230
      (+0.011 +- 0.007; +0.023 to +0.038 from move 150 to 299, none before move 100), each
      rule helping alone (data/results/rollout_tactics_split.md).
    """

    c_puct: float = 0.0          # PUCT exploration constant (values in [0, 1]); 0: RAVE and the prior's virtual wins explore
    score_weight: float = 0.5    # share of the score term in the utility (0: win/loss only)
    score_scale: float = 20.0    # points over which the score term saturates (tanh)
    root_symmetries: int = 8     # the root's prior averaged over this many symmetries (1 or 8)
    tree_prior_mix: float = 0.1  # share of the tree policy kept in a node's prior once the network's arrives
    fpu_reduction: float = 0.25  # unvisited edge = node win rate - this * sqrt(visited prior)
    expand_threshold: int = 8    # edge visits before its child is expanded (n_thr)
    batch: int = 8               # network evaluations per forward pass
    pass_prior: float = 0.5      # pass edge's prior, as a fraction of the mean point prior
    max_reuse_moves: int = 8     # tree reuse across at most this many moves
    keep_network_move: float = 0.1   # win-rate gap the most visited move needs to replace the network's (0: off)
    rave_equiv: float = 4000.0   # RAVE: AMAF blended into Q (tree.py's beta schedule); 0 = off
    prior_eqex: float = 1300.0   # prior as virtual wins, prior_eqex * sqrt(P) (tree.py); 0 = off (PUCT)
    prior_eqex_late: float = 900.0  # ... tapered linearly to this by move PRIOR_TAPER_MOVES (Pachi's); < 0: flat
    even_eqex: float = 20.0      # ... with this many virtual simulations at 0.5 (only with prior_eqex)
    playout_capture: float = 0.9     # playout tactics (rollout/tactics.py): answer an atari at the last move
    playout_self_atari: float = 0.6  # ... refuse a self-atari of two stones or more

    def prior_weight(self, move_number: int) -> float:
        """``prior_eqex`` at a node ``move_number`` moves into the game: Pachi's
        progressive prior (``uct/prior.c``: its network's weight falls from 1,300 to 900
        by move 150, as its playouts are clueless early and the network has blind spots later)."""
        late = self.prior_eqex_late
        if late < 0 or move_number >= PRIOR_TAPER_MOVES:
            return float(self.prior_eqex if late < 0 else late)
        return float(self.prior_eqex + (late - self.prior_eqex) * move_number / PRIOR_TAPER_MOVES)


@dataclass
class Leaf:
    """Where one simulation's walk down the tree stopped."""

    board: Board                        # the position there
    path: list                          # [(node, edge index)] walked, each with a virtual loss
    result: tuple[float, float] | None = None   # (Black's result, score) when the game ended in the tree
    open_edge: bool = False             # the last edge has no child yet


@dataclass
class SearchStats:
    playouts: int = 0            # simulations done in this search
    seconds: float = 0.0
    net_evals: int = 0
    nodes: int = 0
    reused_visits: int = 0
    extra: dict = field(default_factory=dict)


class Searcher:
    """The tree, its workers and its evaluator (see the module docstring).

    ``policy``: a :class:`gopolicy.play.network_policy.NetworkPolicy` (its
    ``symmetries`` apply), or None for the tree policy alone.
    """

    def __init__(self, policy, threads: int = 2, config: SearchConfig | None = None,
                 rollouts=None, tree_policy=None, seed: int = 0):
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.policy = policy
        self.threads = threads
        self.cfg = config or SearchConfig()
        if rollouts is None:
            rollouts = Rollouts(BOARD_SIZE, DEFAULT_KOMI, tactics=PlayoutTactics(
                self.cfg.playout_capture, self.cfg.playout_self_atari))
        self.rollouts = rollouts
        self.tree_policy = tree_policy if tree_policy is not None else TreePolicy.load()
        self.seed = int(seed)
        self.lock = threading.Lock()
        self.root: Node | None = None
        self.root_board: Board | None = None
        self.stats = SearchStats()
        self._queue: list[tuple[Node, Board]] = []
        self._flushing = False
        self._started = 0
        self._sims = 0
        self._stop_flag = False
        self._budget = SearchBudget(playouts=0)
        self.own_sum = np.zeros(361, np.float64)
        self.own_n = 0
        self.score_sum = 0.0
        self.score_centre = 0.0     # Black's expected score that the score term is centred on
        self._centre_from: int | None = None   # move count of the search that set it

    # ------------------------------------------------------------ tree set-up
    def set_seed(self, seed: int) -> None:
        self.seed = int(seed)

    def clear(self) -> None:
        self.root, self.root_board = None, None

    def _reused_root(self, board: Board) -> Node | None:
        """The subtree for ``board`` if it follows the current root by a few moves."""
        if self.root is None or self.root_board is None:
            return None
        old = self.root_board
        rm, m = old.moves, board.moves
        extra = len(m) - len(rm)
        if board.komi != old.komi or not 0 <= extra <= self.cfg.max_reuse_moves or m[:len(rm)] != rm:
            return None
        node, b = self.root, old.copy()
        for color, mv in m[len(rm):]:
            i = node.index_of(mv) if node.to_move == color else -1
            node = node.children.get(i) if i >= 0 else None
            if node is None or node.terminal is not None:
                return None
            try:
                b.play(mv, color)
            except IllegalMove:
                return None
        if b.hash != board.hash or b.to_move != board.to_move or node.to_move != board.to_move:
            return None
        return node

    def _set_root(self, board: Board) -> None:
        node = self._reused_root(board)
        if node is None:
            node = self.new_node(board)
        self.root, self.root_board = node, board.copy()
        self._queue.clear()
        self._drop_queued(node)
        n = board.n
        if len(self.own_sum) != n:
            self.own_sum = np.zeros(n, np.float64)
        self.own_sum[:] = 0
        self.own_n = 0
        self.score_sum = 0.0

    @staticmethod
    def _drop_queued(node: Node) -> None:
        stack = [node]
        while stack:
            x = stack.pop()
            x.queued = False
            stack.extend(x.children.values())

    def new_node(self, b: Board) -> Node:
        """A node for position ``b`` with the tree policy's provisional prior."""
        n = b.n
        cand = np.flatnonzero(b.analyze().legal)
        pts = cand[~own_eyes(b, b.to_move, cand)]
        moves = np.append(pts, n).astype(np.int32)
        # Superko is checked lazily on the walk; the tree policy's full legal_mask
        # would cost ~0.7 ms per expansion.
        superko, b.superko = b.superko, False
        try:
            p = self.tree_policy.probabilities(b)[pts].astype(np.float64)
        finally:
            b.superko = superko
        if getattr(self.tree_policy, "uniform", False):
            p *= _tie_break(b)[pts]
        return Node(moves, self._with_pass(p), b.to_move)

    def _with_pass(self, p: np.ndarray) -> np.ndarray:
        s = p.sum()
        if len(p) == 0 or s <= 0:
            p = np.ones(len(p)) / max(len(p), 1)
            s = 1.0 if len(p) else 0.0
        if s == 0:
            return np.ones(1)
        # Below the average point: pass is searched when the points look bad, and
        # weighs more as the board fills up (fewer points, bigger share each).
        pp = self.cfg.pass_prior / (len(p) + 1)
        return np.append(p / s * (1.0 - pp), pp)

    # ------------------------------------------------------------ network
    def set_network_priors(self, items: list[tuple[Node, Board]], symmetries: int | None = None) -> None:
        """Network priors for ``items`` in one forward pass (the lock is not held)."""
        pol = self.policy
        if pol is None or not items:
            for node, _ in items:
                node.queued = False
            return
        raw = pol.priors_many([b for _, b in items], [node.moves[:-1] for node, _ in items], symmetries)
        priors = [self._with_pass(p) for p in raw]
        with self.lock:
            m = self.cfg.tree_prior_mix
            for (node, _), pr in zip(items, priors):
                node.P = (1.0 - m) * pr + m * node.P if len(node.P) == len(pr) else pr
                node.net_done, node.queued = True, False
            self.stats.net_evals += len(items)

    def _enqueue(self, node: Node, b: Board) -> None:
        if self.policy is not None and not node.net_done and not node.queued:
            node.queued = True
            self._queue.append((node, b))

    def _take_batch(self) -> list[tuple[Node, Board]] | None:
        """``batch`` queued nodes for one forward pass, when that many wait and no
        thread is evaluating already (the lock is held)."""
        k = self.cfg.batch
        if len(self._queue) < k or self._flushing:
            return None
        self._flushing = True
        batch, self._queue[:] = self._queue[:k], self._queue[k:]
        return batch

    # ------------------------------------------------------------ one simulation
    def _utility_black(self, black: float, score: float) -> float:
        """A rollout's worth to Black: the win blended with the score term."""
        w = self.cfg.score_weight
        if w <= 0:
            return black
        return (1.0 - w) * black + w * 0.5 * (1.0 + np.tanh((score - self.score_centre) / self.cfg.score_scale))

    def _terminal_black(self, b: Board) -> tuple[float, float]:
        """(Black's result, score) of a game ended by two passes in the tree."""
        dead = self.dead_mask(b)
        score = score_after_removing(b, dead) if dead is not None else b.area_score()
        return (1.0 if score > 0 else 0.0 if score < 0 else 0.5), score

    def _simulate(self) -> bool:
        """One simulation: select a leaf, expand, evaluate, back up; then the network
        pass when a batch is due. False when the budget allows no more."""
        with self.lock:
            if self._stop_flag or self._started >= self._budget.target:
                return False
            self._started += 1
            seed = (self.seed * 1_000_003 + self.root_board.move_count * 7919 + self._started) & 0x7FFFFFFF
            leaf = self.select_leaf()
            self.expand(leaf)
        black, score, own, trace = self.evaluate(leaf, seed)
        with self.lock:
            self.backup(leaf.path, black, score, own)
            if self.cfg.rave_equiv > 0:
                self.backup_amaf(leaf, black, score, trace)
            batch = self._take_batch()
        if batch:
            try:
                self.set_network_priors(batch)
            finally:
                self._flushing = False
        return True

    def select_leaf(self) -> Leaf:
        """From the root by PUCT (:meth:`Node.select`) to an edge without an expanded
        child, or to the end of the game, with a virtual loss on every edge taken; a
        child passed on the way that still lacks the network's prior is queued for it.
        The lock is held."""
        cfg = self.cfg
        b = self.root_board.copy()
        node = self.root
        path: list[tuple[Node, int]] = []
        while node.terminal is None:
            i = node.select(cfg.c_puct, cfg.fpu_reduction, cfg.rave_equiv, cfg.prior_weight(b.move_count),
                            cfg.even_eqex)
            try:
                b.play(int(node.moves[i]))
            except IllegalMove:     # positional superko: drop the edge
                node.bad[i] = True
                continue
            node.VL[i] += 1
            path.append((node, i))
            if b.consecutive_passes >= 2:
                return Leaf(b, path, result=self._game_end(node, i, b))
            child = node.children.get(i)
            if child is None:
                return Leaf(b, path, open_edge=True)
            if not child.net_done and not child.queued:
                self._enqueue(child, b.copy())
            node = child
        return Leaf(b, path, result=node.terminal)

    def _game_end(self, node: Node, i: int, b: Board) -> tuple[float, float]:
        """The result of the game two passes ended at edge ``i``, kept in a terminal child."""
        child = node.children.get(i)
        if child is None:
            child = Node(np.zeros(0, np.int32), np.zeros(0), b.to_move)
            child.terminal = self._terminal_black(b)
            node.children[i] = child
        return child.terminal

    def expand(self, leaf: Leaf) -> None:
        """Grow the tree at the leaf's open edge once the edge has ``expand_threshold``
        visits (this one included): a node with the tree policy's prior, queued for the
        network's. The lock is held."""
        if not leaf.open_edge:
            return
        node, i = leaf.path[-1]
        if node.N[i] + 1 >= self.cfg.expand_threshold:
            child = self.new_node(leaf.board)
            node.children[i] = child
            self._enqueue(child, leaf.board.copy())

    def evaluate(self, leaf: Leaf, seed: int) -> tuple[float, float, np.ndarray | None, np.ndarray | None]:
        """(Black's result, score, final ownership or None, the rollout's moves or None) of
        the leaf: one rollout to the end of the game, or the end the tree reached. The lock
        is not held."""
        if leaf.result is not None:
            black, score = leaf.result
            return black, score, None, None
        res = self.rollouts.run(leaf.board, n=1, seed=seed)
        return res.black_wins / res.n, res.score_sum / res.n, res.ownership_sum / res.n, res.trace

    def backup(self, path: list[tuple[Node, int]], black: float, score: float,
               own: np.ndarray | None) -> None:
        """Add the result to every edge of ``path`` (from its node's player's side) in
        place of its virtual loss, and to the root's ownership and score sums. The lock
        is held."""
        util = self._utility_black(black, score)
        for nd, i in path:
            nd.VL[i] -= 1
            nd.N[i] += 1
            nd.W[i] += win_for(nd.to_move, black)
            nd.U[i] += win_for(nd.to_move, util)
            nd.S[i] += score
        if own is not None:
            self.own_sum += own
            self.own_n += 1
        self.score_sum += score
        self._sims += 1

    def backup_amaf(self, leaf: Leaf, black: float, score: float, trace: np.ndarray | None) -> None:
        """RAVE's statistics (:mod:`.tree`): at each node of the path, every edge whose point
        the node's player was first to play from there on, in the tree or in the rollout,
        gets the simulation's utility. The lock is held."""
        n = leaf.board.n
        first = np.zeros(n + 1, np.int8)    # the colour that played each point first
        if trace is not None and len(trace):
            c0 = leaf.board.to_move
            cols = np.where(np.arange(len(trace)) % 2 == 0, c0, 3 - c0).astype(np.int8)
            pts, idx = np.unique(trace, return_index=True)
            first[pts] = cols[idx]
            first[n] = 0                    # passes are no point
        util = self._utility_black(black, score)
        for nd, i in reversed(leaf.path):
            m = nd.moves[i]
            if m < n:
                first[m] = nd.to_move
            hit = first[nd.moves] == nd.to_move
            nd.AN[hit] += 1
            nd.AU[hit] += win_for(nd.to_move, util)

    # ------------------------------------------------------------ the search
    def search(self, board: Board, playouts: int | None = None, seconds: float | None = None,
               max_seconds: float | None = None, stop=None, progress=None,
               interval: float = 0.5) -> Node:
        """Search ``board`` within a :class:`SearchBudget` (``playouts``, ``seconds``,
        ``max_seconds``, ``stop``); ``progress(searcher)`` is called every ``interval``
        seconds. Returns the root."""
        budget = SearchBudget(playouts, seconds, max_seconds, stop)
        self._start(board)
        if self.policy is not None and not self.root.net_done:
            self.set_network_priors([(self.root, board.copy())], symmetries=self.cfg.root_symmetries)
        if len(self.root.moves) == 1:        # only pass: nothing to search
            return self.root
        self._run(budget, progress, interval)
        self.stats.playouts = self._sims
        self.stats.seconds = time.perf_counter() - budget.start
        return self.root

    def _start(self, board: Board) -> None:
        """The score term's centre, the root (reused or new) and zeroed counters."""
        self.rollouts.komi = float(board.komi)     # Rollouts score with its own komi
        with self.lock:
            # Centre the score term on what the last search of this game expected
            # (its mean rollout score); with none, on a few rollouts from here.
            last = self._centre_from
            if last is not None and self._sims and 0 <= board.move_count - last <= 2:
                self.score_centre = self.score_sum / self._sims
            elif self.cfg.score_weight > 0:
                res = self.rollouts.run(board, n=CENTRE_ROLLOUTS, seed=self.seed)
                self.score_centre = res.score_sum / res.n
            self._centre_from = board.move_count
            self._set_root(board)
            self._started = self._sims = 0
            self._stop_flag = False
            self.stats = SearchStats(reused_visits=self.root.visits)

    def _run(self, budget: SearchBudget, progress, interval: float) -> None:
        """Simulate on ``threads`` threads until the budget is spent, reporting
        ``progress`` from this one."""
        self._budget = budget
        helpers = [threading.Thread(target=self._simulate_until_spent, daemon=True)
                   for _ in range(self.threads - 1)]
        for t in helpers:
            t.start()
        next_report = budget.start + interval
        while self._continue():
            self._simulate()
            if progress is not None and time.perf_counter() >= next_report:
                next_report = time.perf_counter() + interval
                progress(self)
        for t in helpers:
            t.join()

    def _continue(self) -> bool:
        """False once the search is stopped or its budget spent (then it stops it)."""
        if self._stop_flag:
            return False
        if self._budget.exhausted(self._started, self._unclear):
            self._stop_flag = True
            return False
        return True

    def _simulate_until_spent(self) -> None:
        while self._continue():
            self._simulate()

    def _unclear(self) -> bool:
        n = np.sort(self.root.N)
        return len(n) >= 2 and n[-1] < UNCLEAR_RATIO * n[-2]

    # ------------------------------------------------------------ results
    def ownership(self) -> np.ndarray | None:
        """Mean rollout ownership (+1 Black ... -1 White) of the last search, None before one."""
        return self.own_sum / self.own_n if self.own_n else None

    def dead_mask(self, board: Board, own: np.ndarray | None = None,
                  alive_from: dict | None = None) -> np.ndarray | None:
        """Stones of ``board`` whose string the rollouts (``own``, default the last
        search's ownership) give to the other colour: the string's mean ownership, from its
        own colour's side, is below ``alive_from[colour]`` (default 0 for both)."""
        own = self.ownership() if own is None else own
        if own is None or len(own) != board.n:
            return None
        dead = np.zeros(board.n, bool)
        for s in strings_of(board):
            colour = int(board.stones[s[0]])
            sign = 1.0 if colour == BLACK else -1.0
            if sign * own[s].mean() < (alive_from or {}).get(colour, 0.0):
                dead[s] = True
        return dead

    def chosen(self) -> int | None:
        """The root edge to play (:meth:`Node.choice` with ``keep_network_move``); None before a search."""
        if self.root is None:
            return None
        return self.root.choice(self.cfg.keep_network_move)

    def root_winrate(self) -> float:
        """Win rate of the root's player to move (best edge's Q)."""
        r = self.root
        if r is None or r.visits == 0:
            return 0.5
        return float(r.winrates()[self.chosen()])

    def node_count(self) -> int:
        if self.root is None:
            return 0
        count, stack = 0, [self.root]
        while stack:
            x = stack.pop()
            count += 1
            stack.extend(x.children.values())
        return count
