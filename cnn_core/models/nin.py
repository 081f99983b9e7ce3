"""Network in Network (Lin et al. 2013): mlpconv blocks and a global-average head."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnn_core.models._utils import Stem
from cnn_core.registry import register

__all__ = ["NiN", "nin", "nin_block"]


def nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int,
              padding: int) -> nn.Sequential:
    """A spatial conv followed by two 1x1 convs: a per-pixel MLP across channels."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(inplace=True),
    )


class NiN(nn.Module):
    """Three NiN blocks with 3x3/2 max pools between them, dropout, a last NiN
    block with ``num_classes`` channels and global average pooling: no fc layer.

    ``pooling=False`` drops the intermediate max pools but keeps the global
    average, which *is* the classifier here.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10,
                 channels: Sequence[int] = (32, 64, 128), stem: Stem = (3, 1, 1),
                 dropout: float = 0.5, pooling: bool = True) -> None:
        super().__init__()
        c1, c2, c3 = channels

        def maybe_pool() -> list[nn.Module]:
            return [nn.MaxPool2d(kernel_size=3, stride=2)] if pooling else []

        self.features = nn.Sequential(
            nin_block(in_channels, c1, *stem), *maybe_pool(),
            nin_block(c1, c2, kernel_size=5, stride=1, padding=2), *maybe_pool(),
            nin_block(c2, c3, kernel_size=3, stride=1, padding=1), *maybe_pool(),
            nn.Dropout(dropout),
            nin_block(c3, num_classes, kernel_size=3, stride=1, padding=1),
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register()
def nin(in_channels: int = 1, num_classes: int = 10, channels: Sequence[int] = (32, 64, 128),
        stem: Stem = (3, 1, 1), dropout: float = 0.5, pooling: bool = True) -> NiN:
    """A small NiN for 28/32 px by default; the ImageNet one is
    ``nin(3, 1000, channels=(96, 256, 384), stem=(11, 4, 0))``. Any input size works."""
    return NiN(in_channels, num_classes, channels, stem, dropout, pooling)
