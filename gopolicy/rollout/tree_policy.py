"""AlphaGo's tree policy: the rollout policy's features plus self-atari, distance to the
previous two moves and the 12-point diamond around the move (Extended Data Table 4). The
search uses it for a node's move priors before the network has evaluated the node."""
from __future__ import annotations

import threading

import numpy as np

from gopolicy.rollout import patterns as P
from gopolicy.rollout.model import RolloutPolicy, bundled_path


class TreePolicy:
    """Move probabilities from a linear softmax policy (the tree policy by default)."""

    def __init__(self, policy: RolloutPolicy | None = None):
        self.policy = policy if policy is not None else RolloutPolicy.zeros("tree")
        self._local = threading.local()     # work arrays per thread: probabilities() is re-entrant

    @classmethod
    def load(cls, path=None) -> "TreePolicy":
        """The weights at ``path``; None: the bundled tree policy, or uniform if absent."""
        if path is None:
            path = bundled_path("tree")
            if not path.is_file():
                return cls(None)
        return cls(RolloutPolicy.load(path))

    @property
    def uniform(self) -> bool:
        return len(self.policy.pattern_keys) == 0 and not self.policy.weights.any()

    def probabilities(self, board) -> np.ndarray:
        """float32 [n + 1], pass last: over the candidates of ``board.to_move`` (legal moves
        that do not fill the mover's own eye); pass gets 1 only when there is none. Sums to 1."""
        from gopolicy.rollout.playout import board_inputs

        n = board.n
        cache = self._local.__dict__.setdefault("scratch", {})
        s = cache.get(n)
        if s is None:
            s = cache[n] = P.Scratch(n)
        t = P.tables(board.size)
        stones, ko, last, last2, capt = board_inputs(board)
        out = np.zeros(n + 1, np.float64)
        pol = self.policy
        P.scores_from_scratch(stones, ko, last, last2, capt, int(board.to_move), board.size,
                              t.nbr, t.nbr8, t.nbr12, t.p12, t.i12, t.t_o, t.t_d, t.swap,
                              pol.keys, pol.vals, pol.weights, pol.tree, s.S, s.meta, s.val, s.k3,
                              s.sl3, s.cand, s.cidx, s.feats, s.fkeys, s.nf, s.ext_pt, s.ext_f,
                              s.ext_key, s.cells, s.tf, s.tk, s.allpts, out)
        if board.superko:
            mask = board.legal_mask()
            out[:n][~mask[:n]] = 0.0
            tot = out[:n].sum()
            if tot > 0:
                out[:n] /= tot
            else:
                out[:] = 0.0
                out[n] = 1.0
        return out.astype(np.float32)
