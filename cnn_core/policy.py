"""Turning policy logits into move probabilities."""
from __future__ import annotations

import torch

__all__ = ["policy_probabilities"]


def policy_probabilities(logits: torch.Tensor, legal_mask: torch.Tensor | None = None,
                         temperature: float = 1.0) -> torch.Tensor:
    """Softmax over moves, restricted to the legal ones.

    Args:
        logits: (N, P) or (P,) raw scores, e.g. the output of ``AlphaGoPolicy``.
        legal_mask: bool tensor broadcastable to ``logits``; ``True`` = legal.
            Illegal moves get probability exactly 0 because their logits are
            replaced by -inf before the softmax (not multiplied afterwards,
            which would leave the legal ones not summing to 1).
        temperature: > 0; values < 1 sharpen, > 1 flatten the distribution.

    Returns:
        Probabilities of the same shape as ``logits``; every row sums to 1.

    Raises:
        ValueError: on a non-positive temperature, or a row with no legal move
            (its distribution is undefined; softmax would return NaN).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    scaled = logits / temperature
    if legal_mask is not None:
        legal = torch.as_tensor(legal_mask, dtype=torch.bool, device=logits.device)
        legal = legal.expand_as(logits)
        if not bool(legal.any(dim=-1).all()):
            raise ValueError("policy_probabilities: a row has no legal move")
        scaled = scaled.masked_fill(~legal, float("-inf"))
    return torch.softmax(scaled, dim=-1)
