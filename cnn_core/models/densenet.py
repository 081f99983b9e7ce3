"""DenseNet (Huang et al. 2017): dense blocks joined by transition layers, as in d2l."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnn_core.models._utils import Stem
from cnn_core.registry import register

__all__ = ["DenseNet", "densenet", "DenseBlock", "transition_block"]


def _bn_relu_conv(in_channels: int, out_channels: int, kernel_size: int) -> list[nn.Module]:
    # Pre-activation order: each layer normalises the concatenation it receives.
    return [nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)]


class DenseBlock(nn.Module):
    """``num_convs`` BN-ReLU-3x3 conv layers, each fed the concatenation of the
    block input and all earlier outputs; adds ``growth`` channels per layer."""

    def __init__(self, num_convs: int, in_channels: int, growth: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(*_bn_relu_conv(in_channels + i * growth, growth, 3)) for i in range(num_convs))
        self.out_channels = in_channels + num_convs * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)
        return x


def transition_block(in_channels: int, out_channels: int, pooling: bool = True) -> nn.Sequential:
    """BN-ReLU-1x1 conv (shrinks channels) then a 2x2 average pool (halves H and W)."""
    pool = [nn.AvgPool2d(kernel_size=2, stride=2)] if pooling else []
    return nn.Sequential(*_bn_relu_conv(in_channels, out_channels, 1), *pool)


class DenseNet(nn.Module):
    """Stem conv-BN-ReLU + 3x3/2 max pool, dense blocks with transitions halving
    the channels between them, BN-ReLU, global average pool, fc.

    ``pooling=False`` drops the stem max pool and the transitions' average
    pools (they keep their 1x1 conv); the global-average head stays.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, stem_channels: int = 32,
                 growth: int = 16, blocks: Sequence[int] = (4, 4, 4, 4), stem: Stem = (3, 1, 1),
                 pooling: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, stem_channels, *stem),
                                   nn.BatchNorm2d(stem_channels), nn.ReLU(inplace=True)]
        if pooling:
            layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        c = stem_channels
        for i, num_convs in enumerate(blocks):
            block = DenseBlock(num_convs, c, growth)
            layers.append(block)
            c = block.out_channels
            if i < len(blocks) - 1:
                layers.append(transition_block(c, c // 2, pooling))
                c //= 2
        layers += [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register()
def densenet(in_channels: int = 1, num_classes: int = 10, stem_channels: int = 32, growth: int = 16,
             blocks: Sequence[int] = (4, 4, 4, 4), stem: Stem = (3, 1, 1), pooling: bool = True) -> DenseNet:
    """A half-growth d2l DenseNet for 28/32 px by default; d2l's is
    ``densenet(stem_channels=64, growth=32, stem=(7, 2, 3))`` on 96 px inputs."""
    return DenseNet(in_channels, num_classes, stem_channels, growth, blocks, stem, pooling)
