"""Keras-style per-layer summary of a model: output shapes, parameters, mult-adds."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["LayerRow", "ModelSummary", "summary"]


@dataclass(frozen=True)
class LayerRow:
    name: str                       # qualified module name, e.g. "features.0"
    type: str                       # class name, e.g. "Conv2d"
    output_shape: tuple[int, ...]   # per sample, batch dimension dropped
    params: int                     # the module's own parameters
    macs: int                       # multiply-accumulates per sample


@dataclass
class ModelSummary:
    input_shape: tuple[int, ...]
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0

    def __str__(self) -> str:
        header = ("Layer", "Type", "Output shape", "Params", "Mult-adds")
        body = [(r.name, r.type, "x".join(map(str, r.output_shape)), f"{r.params:,}", f"{r.macs:,}")
                for r in self.rows]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))

        def fmt(line: Sequence[str]) -> str:
            left = [c.ljust(w) for c, w in zip(line[:3], widths[:3])]
            right = [c.rjust(w) for c, w in zip(line[3:], widths[3:])]
            return "  ".join(left + right).rstrip()

        return "\n".join([
            f"Input shape: {'x'.join(map(str, self.input_shape))}",
            rule, fmt(header), rule, *map(fmt, body), rule,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.total_params - self.trainable_params:,}",
            f"Total mult-adds: {self.total_macs:,}",
        ])


def _reported(module: nn.Module) -> bool:
    """Leaves, plus containers that own parameters directly (else those would be missing)."""
    return next(module.children(), None) is None or next(module.parameters(recurse=False), None) is not None


@torch.no_grad()
def summary(model: nn.Module, input_shape: Sequence[int]) -> ModelSummary:
    """Run one sample of shape ``input_shape`` (C, H, W) through ``model``.

    Rows list the reported modules in call order. Mult-adds are
    ``torch.utils.flop_counter``'s FLOPs / 2, so they cover what torch counts
    (convolutions, linear layers, matmuls) and are 0 for element-wise layers
    (activations, pooling, normalisation). Row parameters are counted once per
    module even if it is called several times; the model is put in eval mode
    for the pass and restored afterwards.
    """
    names = {m: n for n, m in model.named_modules()}
    calls: list[tuple[nn.Module, tuple[int, ...]]] = []

    def hook(module: nn.Module, _inputs, output) -> None:
        shape = tuple(output.shape[1:]) if isinstance(output, torch.Tensor) else ()
        calls.append((module, shape))

    handles = [m.register_forward_hook(hook) for m in model.modules() if _reported(m)]
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters(), torch.empty(0)).device
        x = torch.zeros(1, *input_shape, device=device)
        with FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    # FlopCounterMode names modules "<RootClass>.<qualified name>" and counts a
    # container's FLOPs inclusive of its children, so subtract theirs.
    flops = {k: sum(v.values()) for k, v in counter.get_flop_counts().items()}
    root = type(model).__name__

    def own_macs(name: str, module: nn.Module) -> int:
        key = f"{root}.{name}" if name else root
        children = sum(flops.get(f"{key}.{c}", 0) for c, _ in module.named_children())
        return (flops.get(key, 0) - children) // 2

    rows, seen = [], set()
    for module, shape in calls:
        name = names[module]
        first = module not in seen  # a reused module's counts are totals over its calls
        seen.add(module)
        rows.append(LayerRow(
            name=name or root, type=type(module).__name__, output_shape=shape,
            params=sum(p.numel() for p in module.parameters(recurse=False)) if first else 0,
            macs=own_macs(name, module) if first else 0))
    params = list(model.parameters())
    return ModelSummary(
        input_shape=tuple(input_shape),
        rows=rows,
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_macs=counter.get_total_flops() // 2,
    )
