"""Pixel-shift evaluation: the "subsampling/pooling makes a CNN robust to small
translations" claim, measured.

A test image shifted by ``k`` pixels is the same object moved ``k`` pixels; the
border it uncovers is filled with 0 (background) and what leaves the frame is
lost. Accuracy at shift ``k`` is the mean over the four axis directions (right,
left, down, up), so it does not favour a model that happens to be biased one way.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# (dy, dx) unit steps: right, left, down, up
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))


def shift_images(x, dy: int, dx: int):
    """Translate images (``(..., H, W)``, numpy array or torch tensor) by ``dy``
    rows down and ``dx`` columns right; the uncovered border is 0."""
    h, w = x.shape[-2], x.shape[-1]
    out = x.new_zeros(x.shape) if hasattr(x, "new_zeros") else np.zeros_like(x)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_r = slice(max(0, -dy), h - max(0, dy))
    dst_r = slice(max(0, dy), h - max(0, -dy))
    src_c = slice(max(0, -dx), w - max(0, dx))
    dst_c = slice(max(0, dx), w - max(0, -dx))
    out[..., dst_r, dst_c] = x[..., src_r, src_c]
    return out


def shift_accuracy(predict: Callable, x, y, shifts: Sequence[int] = (0, 1, 2, 3, 4),
                   directions: Sequence[tuple[int, int]] = DIRECTIONS) -> dict[int, float]:
    """``{k: accuracy}`` of ``predict(images) -> predicted labels`` on ``x``
    shifted by ``k`` pixels, averaged over ``directions`` (k=0: the plain test set)."""
    y = np.asarray(y)
    out = {}
    for k in shifts:
        if k == 0:
            out[k] = float(np.mean(np.asarray(predict(x)) == y))
            continue
        accs = [float(np.mean(np.asarray(predict(shift_images(x, k * dy, k * dx))) == y))
                for dy, dx in directions]
        out[k] = float(np.mean(accs))
    return out
