"""Small reusable layers."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["PositionBias"]


class PositionBias(nn.Module):
    """A learnable bias per board point, added to (N, num_points) logits.

    AlphaGo's policy head applies "a different bias for each position" after
    its 1x1 convolution; a conv bias would be shared by all points instead.
    """

    def __init__(self, num_points: int) -> None:
        super().__init__()
        self.num_points = num_points
        self.bias = nn.Parameter(torch.zeros(num_points))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias

    def extra_repr(self) -> str:
        return f"num_points={self.num_points}"
