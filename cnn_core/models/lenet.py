"""LeNet-5 (LeCun et al. 1998) in the d2l form."""
from __future__ import annotations

import torch
from torch import nn

from cnn_core.models._utils import flat_features
from cnn_core.registry import register

__all__ = ["LeNet", "lenet"]

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
_POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


class LeNet(nn.Module):
    """conv 6@5x5 -> act -> pool 2 -> conv 16@5x5 -> act -> pool 2 -> fc 120 -> 84 -> classes.

    ``padding=2`` turns a 28x28 image into the 28x28 C1 map that the original
    got from a 32x32 input with ``padding=0``. ``pooling=False`` removes both
    pools; the first fc layer then grows to whatever the convs produce.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, input_size: int = 28,
                 padding: int = 2, activation: str = "sigmoid", pool: str = "avg",
                 pooling: bool = True) -> None:
        super().__init__()
        act, pool_cls = _ACTIVATIONS[activation], _POOLS[pool]

        def maybe_pool() -> list[nn.Module]:
            return [pool_cls(kernel_size=2, stride=2)] if pooling else []

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding), act(), *maybe_pool(),
            nn.Conv2d(6, 16, kernel_size=5), act(), *maybe_pool(),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(
            nn.Linear(flat_features(self.features, in_channels, input_size), 120), act(),
            nn.Linear(120, 84), act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register()
def lenet(in_channels: int = 1, num_classes: int = 10, input_size: int = 28,
          padding: int = 2, pooling: bool = True) -> LeNet:
    """LeNet-5: sigmoid activations and average pooling, as in the paper and d2l."""
    return LeNet(in_channels, num_classes, input_size, padding, "sigmoid", "avg", pooling)

