"""AlphaGo's fast rollout policy and tree policy: local-pattern features, a linear softmax,
SGD training from game records, and numba rollouts."""
from gopolicy.rollout.playout import Rollouts
from gopolicy.rollout.tree_policy import TreePolicy

__all__ = ["Rollouts", "TreePolicy"]
