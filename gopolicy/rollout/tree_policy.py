"""AlphaGo's tree policy: the rollout policy's features plus self-atari, distance to the
previous two moves and the 12-point diamond around the move (Extended Data Table 4). The
search uses it for a node's move priors before the network has evaluated the node."""
from __future__ import annotations

import numpy as np

from gopolicy.rollout.incremental_board import board_inputs
from gopolicy.rollout.model import RolloutPolicy, bundled_path
from gopolicy.rollout.pattern_tables import tables
from gopolicy.rollout.softmax import scores_from_scratch


class TreePolicy:
    """Move probabilities from a linear softmax policy (the tree policy by default)."""

    def __init__(self, policy: RolloutPolicy | None = None):
        self.policy = policy if policy is not None else RolloutPolicy.zeros("tree")

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
        n = board.n
        out = np.zeros(n + 1, np.float64)
        pol = self.policy
        scores_from_scratch(board_inputs(board), int(board.to_move), tables(board.size), pol.table,
                            pol.weights, pol.tree, out)
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
