"""AlphaGo's sensibleness rule: a player never fills one of its own true eyes."""
from __future__ import annotations

import numpy as np


def own_eyes(board, color: int, candidates: np.ndarray) -> np.ndarray:
    """Bool mask over ``candidates`` (points) that are ``color``'s true eyes."""
    if len(candidates) == 0:
        return np.zeros(0, bool)
    nbr = board.nbr[candidates]            # (k, 4), -1 off board
    st = board.stones
    own = np.where(nbr >= 0, st[np.maximum(nbr, 0)] == color, True)
    maybe = own.all(axis=1)
    out = np.zeros(len(candidates), bool)
    for i in np.flatnonzero(maybe):
        out[i] = board.is_eye(int(candidates[i]), color)
    return out
