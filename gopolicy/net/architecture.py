"""The policy network's default architecture, written once for all of gopolicy.

No torch import: the CLI's help texts and ``--model random`` specs read these
without loading torch. They are the defaults of ``cnn_core``'s ``alphago_policy``
builder too (``cnn_core.models.alphago_policy.DEFAULT_FILTERS``; a test keeps the
two equal): the paper's match network, k=192 filters, 13 layers, 48 planes.
"""
from __future__ import annotations

MODEL_NAME = "alphago_policy"
DEFAULT_PLANES = 48
DEFAULT_FILTERS = 192
DEFAULT_LAYERS = 13
BOARD_SIZE = 19


def default_model_config(**overrides) -> dict:
    """A checkpoint-style ``model_config`` of the default network, with ``overrides``."""
    cfg = {"name": MODEL_NAME, "planes": DEFAULT_PLANES, "filters": DEFAULT_FILTERS, "layers": DEFAULT_LAYERS,
           "board_size": BOARD_SIZE}
    cfg.update(overrides)
    return cfg
