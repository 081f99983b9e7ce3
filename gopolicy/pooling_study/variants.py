"""The matched model variants of the study, built with cnn_core.

Images (``simple_cnn``; every variant has the same 3x3 convolutions and filters):

    maxpool-fc  conv-pool-conv-pool-fc: the lecture's CNN (2x2 max pool after each conv)
    none-fc     stride-1 convs throughout, the FC head sees the full-resolution map
    none-gap    stride-1 convs throughout, global average pooling, then FC
    stride-fc   no pools; each conv has stride 2 (subsampling by strided convolution)
    maxpool-gap / stride-gap   the other head with those, for completeness

With another registered image model that takes ``pooling`` (lenet, vgg, ...):
``pool`` (pooling=True) and ``nopool`` (pooling=False).

Go (the AlphaGo policy net; same convolutions, filters and layers):

    alphago          no pooling: 5x5 conv, 3x3 convs, 1x1 conv + per-point bias
    pooled-upsample  2x2 max pools after the layers in pool_after (19 -> 10 -> 5),
                     bilinear upsampling back to 19x19, then AlphaGo's 1x1 head
    pooled-fc        the same pools, then a fully connected layer to the 361 points
                     (how a "typical" image CNN would end)
"""
from __future__ import annotations

from dataclasses import dataclass

SIMPLE_VARIANTS = {
    "maxpool-fc": ("maxpool", "fc", "max pool (conv-pool-conv-pool-fc)"),
    "none-fc": ("none", "fc", "no pooling, FC head"),
    "none-gap": ("none", "gap", "no pooling, global-average head"),
    "stride-fc": ("stride", "fc", "strided convs, FC head"),
    "maxpool-gap": ("maxpool", "gap", "max pool, global-average head"),
    "stride-gap": ("stride", "gap", "strided convs, global-average head"),
}
DEFAULT_IMAGE_VARIANTS = ("maxpool-fc", "none-fc", "none-gap", "stride-fc")
GENERIC_VARIANTS = {"pool": (True, "with pooling"), "nopool": (False, "pooling removed")}

GO_VARIANTS = {
    "alphago": "AlphaGo policy net (no pooling)",
    "pooled-upsample": "2x2 max pools + upsampling head",
    "pooled-fc": "2x2 max pools + fully connected head",
}
DEFAULT_GO_VARIANTS = tuple(GO_VARIANTS)


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    model: str          # cnn_core registry name
    kwargs: tuple       # sorted (key, value) pairs

    def build(self):
        import cnn_core

        return cnn_core.build_model(self.model, **dict(self.kwargs))


def image_variants(names, *, model: str = "simple_cnn", in_channels: int = 1, num_classes: int = 10,
                   input_size: int = 28, channels=(16, 32)) -> list[Variant]:
    """The image variants ``names`` (see the module docstring)."""
    out = []
    for name in names:
        if model == "simple_cnn":
            if name not in SIMPLE_VARIANTS:
                raise ValueError(f"unknown image variant {name!r}; known: {', '.join(SIMPLE_VARIANTS)}")
            down, head, label = SIMPLE_VARIANTS[name]
            kw = dict(in_channels=in_channels, num_classes=num_classes, input_size=input_size,
                      channels=tuple(channels), downsample=down, head=head)
        else:
            if name not in GENERIC_VARIANTS:
                raise ValueError(f"with --image-model {model} the variants are pool and nopool, not {name!r}")
            pooling, label = GENERIC_VARIANTS[name]
            kw = dict(in_channels=in_channels, num_classes=num_classes, input_size=input_size, pooling=pooling)
        out.append(Variant(name, label, model, tuple(sorted(kw.items()))))
    return out


def go_variants(names, *, planes: int = 48, filters: int = 32, layers: int = 6, board_size: int = 19,
                pool_after=(1, 3)) -> list[Variant]:
    out = []
    for name in names:
        base = dict(planes=planes, filters=filters, layers=layers, board_size=board_size)
        if name == "alphago":
            out.append(Variant(name, GO_VARIANTS[name], "alphago_policy", tuple(sorted(base.items()))))
        elif name in ("pooled-upsample", "pooled-fc"):
            kw = dict(base, pool_after=tuple(pool_after), head=name.split("-")[1])
            out.append(Variant(name, GO_VARIANTS[name], "alphago_pooled", tuple(sorted(kw.items()))))
        else:
            raise ValueError(f"unknown Go variant {name!r}; known: {', '.join(GO_VARIANTS)}")
    return out
