"""GoogLeNet (Szegedy et al. 2014): stacked Inception blocks, as in d2l."""
from __future__ import annotations

import torch
from torch import nn

from cnn_core.models._utils import Stem
from cnn_core.registry import register

__all__ = ["GoogLeNet", "googlenet", "Inception"]

# Inception arguments (c1, (c2 reduce, c2), (c3 reduce, c3), c4) per stage; the
# input channels follow from the previous block. A max pool ends stages 3 and 4.
_STAGE3 = ((64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64))
_STAGE4 = ((192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64),
           (128, (128, 256), (24, 64), 64), (112, (144, 288), (32, 64), 64),
           (256, (160, 320), (32, 128), 128))
_STAGE5 = ((256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128))


class Inception(nn.Module):
    """Four parallel paths concatenated along channels: 1x1; 1x1 -> 3x3;
    1x1 -> 5x5; 3x3/1 max pool -> 1x1 (the pool is left out with ``pool_path=False``)."""

    def __init__(self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int],
                 c4: int, pool_path: bool = True) -> None:
        super().__init__()
        self.p1 = nn.Sequential(nn.Conv2d(in_channels, c1, 1), nn.ReLU(inplace=True))
        self.p2 = nn.Sequential(nn.Conv2d(in_channels, c2[0], 1), nn.ReLU(inplace=True),
                                nn.Conv2d(c2[0], c2[1], 3, padding=1), nn.ReLU(inplace=True))
        self.p3 = nn.Sequential(nn.Conv2d(in_channels, c3[0], 1), nn.ReLU(inplace=True),
                                nn.Conv2d(c3[0], c3[1], 5, padding=2), nn.ReLU(inplace=True))
        pool = [nn.MaxPool2d(kernel_size=3, stride=1, padding=1)] if pool_path else []
        self.p4 = nn.Sequential(*pool, nn.Conv2d(in_channels, c4, 1), nn.ReLU(inplace=True))
        self.out_channels = c1 + c2[1] + c3[1] + c4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.p1(x), self.p2(x), self.p3(x), self.p4(x)], dim=1)


class GoogLeNet(nn.Module):
    """Stem conv, 1x1 + 3x3 conv, 2 + 5 + 2 Inception blocks, 3x3/2 max pools
    after each of the first four stages, global average pool, one fc layer.

    All channel counts are the paper's times ``width``. ``pooling=False``
    removes every max pool (the stage ones and the Inception fourth-path ones)
    and keeps the global-average head.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: float = 0.25,
                 stem: Stem = (3, 1, 1), pooling: bool = True) -> None:
        super().__init__()

        def ch(c: int) -> int:
            return max(1, round(c * width))

        def maybe_pool() -> list[nn.Module]:
            return [nn.MaxPool2d(kernel_size=3, stride=2, padding=1)] if pooling else []

        def stage(specs: tuple, channels: int) -> tuple[list[nn.Module], int]:
            blocks = []
            for c1, (r2, c2), (r3, c3), c4 in specs:
                blocks.append(Inception(channels, ch(c1), (ch(r2), ch(c2)), (ch(r3), ch(c3)),
                                        ch(c4), pool_path=pooling))
                channels = blocks[-1].out_channels
            return blocks, channels

        b3, c = stage(_STAGE3, ch(192))
        b4, c = stage(_STAGE4, c)
        b5, c = stage(_STAGE5, c)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, ch(64), *stem), nn.ReLU(inplace=True), *maybe_pool(),
            nn.Conv2d(ch(64), ch(64), 1), nn.ReLU(inplace=True),
            nn.Conv2d(ch(64), ch(192), 3, padding=1), nn.ReLU(inplace=True), *maybe_pool(),
            *b3, *maybe_pool(),
            *b4, *maybe_pool(),
            *b5,
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register()
def googlenet(in_channels: int = 1, num_classes: int = 10, width: float = 0.25,
              stem: Stem = (3, 1, 1), pooling: bool = True) -> GoogLeNet:
    """A quarter-width GoogLeNet with a 3x3/1 stem for 28/32 px inputs by default;
    the d2l/ImageNet one is ``googlenet(3, 1000, width=1.0, stem=(7, 2, 3))``."""
    return GoogLeNet(in_channels, num_classes, width, stem, pooling)
