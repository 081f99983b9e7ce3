"""VGG (Simonyan & Zisserman 2014): repeated blocks of 3x3 convs and a 2x2 max pool."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnn_core.models._utils import flat_features
from cnn_core.registry import register

__all__ = ["VGG", "vgg", "vgg_block", "VGG11_ARCH", "SMALL_ARCH"]

# (num_convs, out_channels) per block.
VGG11_ARCH = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))   # 224x224 ImageNet
SMALL_ARCH = ((1, 16), (1, 32), (2, 64))                          # 28/32 px: 3 halvings


def vgg_block(num_convs: int, in_channels: int, out_channels: int, pooling: bool = True) -> nn.Sequential:
    """``num_convs`` x (3x3 conv, padding 1, ReLU), then a 2x2 max pool halving H and W."""
    layers: list[nn.Module] = []
    for i in range(num_convs):
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
                   nn.ReLU(inplace=True)]
    if pooling:
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, arch: Sequence[tuple[int, int]] = SMALL_ARCH, in_channels: int = 1,
                 num_classes: int = 10, input_size: int = 28, hidden: int = 512,
                 dropout: float = 0.5, pooling: bool = True) -> None:
        super().__init__()
        blocks, channels = [], in_channels
        for num_convs, out_channels in arch:
            blocks.append(vgg_block(num_convs, channels, out_channels, pooling))
            channels = out_channels
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.classifier = nn.Sequential(
            nn.Linear(flat_features(self.features, in_channels, input_size), hidden),
            nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register()
def vgg(arch: Sequence[tuple[int, int]] = SMALL_ARCH, in_channels: int = 1, num_classes: int = 10,
        input_size: int = 28, hidden: int = 512, dropout: float = 0.5, pooling: bool = True) -> VGG:
    """A small VGG for 28/32 px inputs by default; VGG-11 is
    ``vgg(VGG11_ARCH, in_channels=3, num_classes=1000, input_size=224, hidden=4096)``."""
    return VGG(arch, in_channels, num_classes, input_size, hidden, dropout, pooling)
