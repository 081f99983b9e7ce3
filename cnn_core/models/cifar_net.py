"""The CIFAR-10 ``Net`` of the lecture (and the PyTorch tutorial)."""
from __future__ import annotations

from cnn_core.models.lenet import LeNet
from cnn_core.registry import register

__all__ = ["cifar_net"]


@register()
def cifar_net(in_channels: int = 3, num_classes: int = 10, input_size: int = 32,
              pooling: bool = True) -> LeNet:
    """LeNet's shape with ReLU and max pooling and no padding:
    3x32x32 -> 6x28x28 -> 6x14x14 -> 16x10x10 -> 16x5x5 = 400 -> 120 -> 84 -> 10."""
    return LeNet(in_channels, num_classes, input_size, padding=0, activation="relu",
                 pool="max", pooling=pooling)
