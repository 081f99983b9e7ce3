"""ResNet (He et al. 2015): residual blocks with batch norm, ResNet-18 layout."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from cnn_core.models._utils import Stem
from cnn_core.registry import register

__all__ = ["ResNet", "resnet", "Residual"]


class Residual(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus the input, then ReLU. When the block
    changes the shape (stride or channels) a 1x1 conv projects the shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet(nn.Module):
    """Stem conv-BN-ReLU + 3x3/2 max pool, stages of residual blocks (each stage
    after the first halves H, W with a stride-2 block), global average pool, fc.

    ``pooling=False`` drops the stem's max pool; the stride-2 convs remain.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10,
                 channels: Sequence[int] = (16, 32, 64, 128), blocks: Sequence[int] = (2, 2, 2, 2),
                 stem: Stem = (3, 1, 1), pooling: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, channels[0], *stem, bias=False), nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True)]
        if pooling:
            layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        prev = channels[0]
        for i, (c, n) in enumerate(zip(channels, blocks, strict=True)):
            for j in range(n):
                layers.append(Residual(prev, c, stride=2 if i > 0 and j == 0 else 1))
                prev = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(prev, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register()
def resnet(in_channels: int = 1, num_classes: int = 10, channels: Sequence[int] = (16, 32, 64, 128),
           blocks: Sequence[int] = (2, 2, 2, 2), stem: Stem = (3, 1, 1), pooling: bool = True) -> ResNet:
    """A ResNet-18 layout (2, 2, 2, 2 blocks) at quarter width for 28/32 px by default;
    ResNet-18 proper is ``resnet(3, 1000, channels=(64, 128, 256, 512), stem=(7, 2, 3))``."""
    return ResNet(in_channels, num_classes, channels, blocks, stem, pooling)
