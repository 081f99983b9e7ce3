"""The AlphaGo policy net with max pooling added: the pooling study's counter-example.

Pooling throws away *where* a pattern was seen, but a move is a point; these
variants show what that costs against the pool-free ``alphago_policy``.
"""
from __future__ import annotations

import math
from collections.abc import Collection
from typing import Literal

from torch import nn

from cnn_core.models.alphago_policy import DEFAULT_FILTERS, DEFAULT_LAYERS, PolicyNet, conv_stack, policy_head
from cnn_core.registry import register

__all__ = ["AlphaGoPooled", "alphago_pooled"]

PooledHead = Literal["upsample", "fc"]


class AlphaGoPooled(PolicyNet):
    """The ``alphago_policy`` conv stack with 2x2 max pools (ceil mode) after
    the layers in ``pool_after``, and a head mapping back to board_size**2 logits:

    "upsample": resize the map back to the board (``upsample_mode`` "nearest"
        or "bilinear"), then AlphaGo's 1x1 conv + per-point bias;
    "fc": flatten the pooled feature maps into a Linear layer with one output
        per point (a "typical CNN"; its bias is the per-point bias).
    """

    def __init__(self, planes: int = 48, filters: int = DEFAULT_FILTERS, layers: int = DEFAULT_LAYERS,
                 board_size: int = 19, pool_after: Collection[int] = (1, 3), head: PooledHead = "upsample",
                 upsample_mode: str = "bilinear") -> None:
        points = board_size * board_size
        if head == "upsample":
            align = False if upsample_mode in ("bilinear", "bicubic") else None
            head_net = nn.Sequential(
                nn.Upsample(size=(board_size, board_size), mode=upsample_mode, align_corners=align),
                *policy_head(filters, board_size))
        elif head == "fc":
            side = board_size
            for _ in set(pool_after):
                side = math.ceil(side / 2)
            head_net = nn.Sequential(nn.Flatten(), nn.Linear(filters * side * side, points))
        else:
            raise ValueError(f"head must be 'upsample' or 'fc', got {head!r}")
        super().__init__(conv_stack(planes, filters, layers, pool_after), head_net, board_size)


@register()
def alphago_pooled(planes: int = 48, filters: int = DEFAULT_FILTERS, layers: int = DEFAULT_LAYERS,
                   board_size: int = 19, pool_after: Collection[int] = (1, 3), head: PooledHead = "upsample",
                   upsample_mode: str = "bilinear") -> AlphaGoPooled:
    """AlphaGo's policy net with pooling; 19 -> 10 -> 5 with the default ``pool_after``."""
    return AlphaGoPooled(planes, filters, layers, board_size, pool_after, head, upsample_mode)
