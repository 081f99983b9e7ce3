"""Helpers shared by the model modules."""
from __future__ import annotations

import torch
from torch import nn

# (kernel_size, stride, padding) of a network's first convolution.
Stem = tuple[int, int, int]

POOLING_TYPES = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d,
                 nn.LPPool2d, nn.FractionalMaxPool2d)


@torch.no_grad()
def flat_features(features: nn.Module, in_channels: int, input_size: int) -> int:
    """Number of features ``features`` produces per sample, found by a dummy
    forward pass; cheaper to keep right than the arithmetic for every variant."""
    return features(torch.zeros(1, in_channels, input_size, input_size)).numel()
