"""The 8 symmetries of the square board (the dihedral group D4).

Symmetry ``s`` in 0..7: ``s & 4`` transposes first, then ``s & 3`` counts
quarter turns (``np.rot90`` on the last two axes). The same ``s`` maps planes
(numpy or torch, any leading axes) and move indices consistently, so that
``planes(transform(position)) == transform(planes(position))``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

NUM_SYMMETRIES = 8


def apply_np(x: np.ndarray, s: int) -> np.ndarray:
    """Transform the last two (square) axes of ``x`` by symmetry ``s``."""
    if s & 4:
        x = np.swapaxes(x, -1, -2)
    return np.rot90(x, k=s & 3, axes=(-2, -1))


def apply_torch(x, s: int):
    import torch

    if s & 4:
        x = x.transpose(-1, -2)
    return torch.rot90(x, k=s & 3, dims=(-2, -1))


@lru_cache(maxsize=None)
def point_map(s: int, size: int = 19) -> np.ndarray:
    """``m[p]`` = where point ``p`` goes under symmetry ``s`` (pass maps to pass)."""
    idx = np.arange(size * size).reshape(size, size)
    # apply_np moves the *value* at p to its image; read back where each value went.
    moved = apply_np(idx, s)
    m = np.empty(size * size + 1, dtype=np.int64)
    m[moved.reshape(-1)] = np.arange(size * size)
    m[size * size] = size * size
    return m


def inverse(s: int) -> int:
    """The symmetry that undoes ``s``."""
    for t in range(NUM_SYMMETRIES):
        if np.array_equal(point_map(t, 3)[point_map(s, 3)[:9]], np.arange(9)):
            return t
    raise AssertionError("unreachable")


def transform_moves(moves, s: int, size: int = 19):
    """Map move indices (array or int) by symmetry ``s``."""
    return point_map(s, size)[moves]
