"""The weights file of a rollout or tree policy, and its linear softmax.

A policy is a vector of weights: ``NFIX`` fixed features (see
:mod:`gopolicy.rollout.pattern_tables`) followed by one weight per known pattern; the pattern keys
(canonical codes, family in the top bits) are stored beside the weights and turned into an
open-addressing hash table at load time. The file is a plain ``.npz``::

    format       "gopolicy-rollout"      (how ``gopolicy eval`` tells it from a network)
    version      1
    kind         "rollout" or "tree"
    weights      float32 [NFIX + patterns]
    pattern_keys int64 [patterns]         (slot NFIX + i holds pattern_keys[i])
    info         JSON text: training data, positions, accuracy, ...

Probabilities: ``p(a) = exp(sum of the weights of a's features) / sum over candidates``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from gopolicy.net.model_paths import bundled_file
from gopolicy.rollout.pattern_tables import NFIX, build_table

FORMAT = "gopolicy-rollout"
VERSION = 1
KINDS = ("rollout", "tree")


class WeightsError(ValueError):
    """A file that is not a rollout/tree-policy weights file, or a damaged one."""


class RolloutPolicy:
    """Weights of a rollout (``kind="rollout"``) or tree (``kind="tree"``) policy."""

    def __init__(self, weights: np.ndarray, pattern_keys: np.ndarray, kind: str = "rollout",
                 info: dict | None = None):
        if kind not in KINDS:
            raise WeightsError(f"kind must be one of {KINDS}, got {kind!r}")
        weights = np.ascontiguousarray(weights, np.float32)
        pattern_keys = np.ascontiguousarray(pattern_keys, np.int64)
        if weights.shape != (NFIX + len(pattern_keys),):
            raise WeightsError(f"{len(weights)} weights for {len(pattern_keys)} patterns "
                               f"(expected {NFIX} + patterns)")
        self.weights = weights
        self.pattern_keys = pattern_keys
        self.kind = kind
        self.info = dict(info or {})
        self.table = build_table(pattern_keys, np.arange(len(pattern_keys)) + NFIX)
        self.keys, self.vals = self.table

    @property
    def tree(self) -> bool:
        return self.kind == "tree"

    @classmethod
    def zeros(cls, kind: str = "rollout") -> "RolloutPolicy":
        """No patterns, all weights 0: uniform over the candidate moves."""
        return cls(np.zeros(NFIX, np.float32), np.zeros(0, np.int64), kind)

    def save(self, path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
        np.savez_compressed(tmp, format=np.array(FORMAT), version=np.array(VERSION),
                            kind=np.array(self.kind), weights=self.weights,
                            pattern_keys=self.pattern_keys, info=np.array(json.dumps(self.info)))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path) -> "RolloutPolicy":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no weights file {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                if "format" not in z.files or str(z["format"]) != FORMAT:
                    raise WeightsError(f"{path} is not a rollout/tree-policy weights file")
                if int(z["version"]) > VERSION:
                    raise WeightsError(f"{path}: format version {int(z['version'])} is newer "
                                       f"than this program's ({VERSION})")
                return cls(z["weights"], z["pattern_keys"], str(z["kind"]),
                           json.loads(str(z["info"])))
        except (OSError, ValueError, KeyError) as exc:
            if isinstance(exc, WeightsError):
                raise
            raise WeightsError(f"{path}: not a readable weights file ({exc})") from None

    def __repr__(self) -> str:
        return f"RolloutPolicy(kind={self.kind!r}, patterns={len(self.pattern_keys)})"


def is_weights_file(path) -> bool:
    """True for a rollout/tree-policy ``.npz`` (used to dispatch ``gopolicy eval --model``)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return "format" in z.files and str(z["format"]) == FORMAT
    except (OSError, ValueError):
        return False


def bundled_path(kind: str = "rollout") -> Path:
    if kind == "tree":
        return bundled_file("tree_policy.npz", "GOPOLICY_TREE_POLICY")
    return bundled_file("rollout.npz", "GOPOLICY_ROLLOUT")
