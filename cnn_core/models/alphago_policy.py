"""The AlphaGo SL policy network (Silver et al. 2016, Methods "Neural network architecture")."""
from __future__ import annotations

from collections.abc import Collection

import torch
from torch import nn

from cnn_core.init import he_init_
from cnn_core.layers import PositionBias
from cnn_core.registry import register

__all__ = ["DEFAULT_FILTERS", "DEFAULT_LAYERS", "PolicyNet", "AlphaGoPolicy", "alphago_policy", "conv_stack",
           "policy_head"]

# The paper's match network: k=192 filters, 13 layers. The one place these defaults are
# written: gopolicy (training, checkpoints, the engine's random net) takes them from here.
DEFAULT_FILTERS = 192
DEFAULT_LAYERS = 13


def conv_stack(planes: int, filters: int, layers: int, pool_after: Collection[int] = ()) -> nn.Sequential:
    """Layers 1 .. layers-1 of the policy net: a 5x5 conv (padding 2: the board
    zero-padded to 23x23), then 3x3 convs (padding 1: 21x21), each with ``filters``
    channels and ReLU; all keep the board size. A 2x2 max pool (ceil mode,
    19 -> 10 -> 5) follows every layer number in ``pool_after``."""
    if layers < 2:
        raise ValueError(f"layers must be >= 2 (first conv + 1x1 head), got {layers}")
    bad = [i for i in pool_after if not 1 <= i <= layers - 1]
    if bad:
        raise ValueError(f"pool_after layers must be in 1..{layers - 1}, got {bad}")
    modules: list[nn.Module] = []
    for layer in range(1, layers):
        kernel = 5 if layer == 1 else 3
        modules += [nn.Conv2d(planes if layer == 1 else filters, filters, kernel, padding=kernel // 2),
                    nn.ReLU(inplace=True)]
        if layer in pool_after:
            modules.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True))
    return nn.Sequential(*modules)


def policy_head(filters: int, board_size: int) -> nn.Sequential:
    """The final layer: one 1x1 filter without bias, flattened to board_size**2
    logits, plus a separate bias per point."""
    return nn.Sequential(nn.Conv2d(filters, 1, kernel_size=1, bias=False), nn.Flatten(),
                         PositionBias(board_size * board_size))


class PolicyNet(nn.Module):
    """A ``body`` of ReLU convs followed by a ``head`` producing move logits.

    The body's convs get He init (see ``he_init_``). The head's convs get
    fan-in init without the ReLU gain, so the initial logits have roughly the
    scale of the body's activations: a near-uniform but not collapsed policy.
    """

    def __init__(self, body: nn.Sequential, head: nn.Sequential, board_size: int) -> None:
        super().__init__()
        self.board_size = board_size
        self.body = body
        self.head = head
        he_init_(m for m in body if isinstance(m, nn.Conv2d))
        for m in head.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="linear")

    @property
    def convs(self) -> list[nn.Conv2d]:
        """All convolutions, input to output (for tests and inspection)."""
        return [m for m in self.modules() if isinstance(m, nn.Conv2d)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, planes, B, B) feature planes -> (N, B*B) logits (no softmax:
        use ``cnn_core.policy_probabilities`` or a cross-entropy loss)."""
        return self.head(self.body(x))


class AlphaGoPolicy(PolicyNet):
    """``layers`` conv layers, no pooling: 5x5 + ReLU, (layers-2) x [3x3 + ReLU],
    1x1 (one filter, no bias) + per-point bias. k=192 gives 3,882,793 parameters."""

    def __init__(self, planes: int = 48, filters: int = DEFAULT_FILTERS, layers: int = DEFAULT_LAYERS,
                 board_size: int = 19) -> None:
        super().__init__(conv_stack(planes, filters, layers), policy_head(filters, board_size), board_size)


@register()
def alphago_policy(planes: int = 48, filters: int = DEFAULT_FILTERS, layers: int = DEFAULT_LAYERS,
                   board_size: int = 19) -> AlphaGoPolicy:
    """AlphaGo's policy network; the paper's match version used k=192 filters."""
    return AlphaGoPolicy(planes, filters, layers, board_size)
