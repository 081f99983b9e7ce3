"""A plain conv-ReLU stack whose downsampling can be switched: the matched
models of the pooling study (same convolutions, only the downsampling differs)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from cnn_core.init import he_init_
from cnn_core.models._utils import flat_features
from cnn_core.registry import register

__all__ = ["SimpleCNN", "simple_cnn"]

Downsample = Literal["maxpool", "none", "stride"]
Head = Literal["fc", "gap"]


class SimpleCNN(nn.Module):
    """``len(channels)`` x (3x3 conv, padding 1, ReLU), then a classifier head.

    downsample:
        "maxpool": a 2x2 max pool after every conv (LeNet/VGG style);
        "none":    stride-1 convs only, the head sees the full-resolution map;
        "stride":  every conv has stride 2 instead of being followed by a pool.
    The pool uses ``ceil_mode`` so "maxpool" and "stride" give the same map
    sizes for odd inputs too (7 -> 4 either way).
    head: "fc" flattens into a Linear layer; "gap" averages each channel
        globally first, so the Linear size does not depend on the resolution.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, input_size: int = 28,
                 channels: Sequence[int] = (32, 64), downsample: Downsample = "maxpool",
                 head: Head = "fc") -> None:
        super().__init__()
        if downsample not in ("maxpool", "none", "stride"):
            raise ValueError(f"downsample must be 'maxpool', 'none' or 'stride', got {downsample!r}")
        if head not in ("fc", "gap"):
            raise ValueError(f"head must be 'fc' or 'gap', got {head!r}")
        layers: list[nn.Module] = []
        prev = in_channels
        for c in channels:
            layers += [nn.Conv2d(prev, c, 3, stride=2 if downsample == "stride" else 1, padding=1),
                       nn.ReLU(inplace=True)]
            if downsample == "maxpool":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True))
            prev = c
        if head == "gap":
            layers.append(nn.AdaptiveAvgPool2d(1))
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.fc = nn.Linear(flat_features(self.features, in_channels, input_size), num_classes)
        he_init_(self.convs)

    @property
    def convs(self) -> list[nn.Conv2d]:
        return [m for m in self.features if isinstance(m, nn.Conv2d)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


@register()
def simple_cnn(in_channels: int = 1, num_classes: int = 10, input_size: int = 28,
               channels: Sequence[int] = (32, 64), downsample: Downsample = "maxpool",
               head: Head = "fc") -> SimpleCNN:
    """The pooling study's CNN; He-initialised (its convs are ReLU convs)."""
    return SimpleCNN(in_channels, num_classes, input_size, channels, downsample, head)
