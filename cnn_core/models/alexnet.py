"""AlexNet (Krizhevsky et al. 2012), single-stream as in d2l."""
from __future__ import annotations

import torch
from torch import nn

from cnn_core.models._utils import Stem, flat_features
from cnn_core.registry import register

__all__ = ["AlexNet", "alexnet"]

_CHANNELS = (96, 256, 384, 384, 256)
_IMAGENET_STEM: Stem = (11, 4, 0)   # 227 -> 55
_SMALL_STEM: Stem = (3, 1, 1)       # keeps 28/32 inputs big enough for three 3x3/2 pools


class AlexNet(nn.Module):
    """Five convs (96, 256, 384, 384, 256 channels times ``width``), max pools
    3x3/2 after conv 1, 2 and 5, then two dropout-regularised fc layers.

    At 3x227x227 with the defaults: 96x55x55, 96x27x27, 256x27x27, 256x13x13,
    384x13x13, 384x13x13, 256x13x13, 256x6x6, 4096, 4096, 1000.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, input_size: int = 227,
                 width: float = 1.0, stem: Stem | None = None, hidden: int = 4096,
                 dropout: float = 0.5, pooling: bool = True) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = (max(1, round(c * width)) for c in _CHANNELS)
        kernel, stride, padding = stem or (_IMAGENET_STEM if input_size >= 128 else _SMALL_STEM)

        def maybe_pool() -> list[nn.Module]:
            return [nn.MaxPool2d(kernel_size=3, stride=2)] if pooling else []

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel, stride, padding), nn.ReLU(inplace=True), *maybe_pool(),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU(inplace=True), *maybe_pool(),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1), nn.ReLU(inplace=True), *maybe_pool(),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(flat_features(self.features, in_channels, input_size), hidden), nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register()
def alexnet(in_channels: int = 3, num_classes: int = 1000, input_size: int = 227,
            width: float = 1.0, stem: Stem | None = None, hidden: int = 4096,
            dropout: float = 0.5, pooling: bool = True) -> AlexNet:
    """The ImageNet AlexNet by default; e.g. ``alexnet(1, 10, 28, width=0.25, hidden=256)``
    for a small one (an 11x11/4 stem is used from 128 px up, a 3x3/1 one below,
    unless ``stem=(kernel, stride, padding)`` is given).

    Without pooling the fc input is the full last feature map: keep ``width``,
    ``hidden`` and the input small or the first fc layer gets huge.
    """
    return AlexNet(in_channels, num_classes, input_size, width, stem, hidden, dropout, pooling)
