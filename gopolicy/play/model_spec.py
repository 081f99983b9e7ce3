"""Reading a ``--model`` specification without loading anything (no torch import), so
that commands can refuse a bad one at once: ``"random[:FILTERS[:LAYERS]]"`` or a path
(see :mod:`gopolicy.play.network_policy`)."""
from __future__ import annotations

from gopolicy.net.architecture import default_model_config


def parse_random_spec(spec: str) -> dict | None:
    """``"random"``, ``"random:K"``, ``"random:K:L"`` -> model config; None if not a random spec."""
    parts = spec.strip().split(":")
    if parts[0].lower() != "random":
        return None
    cfg = default_model_config()
    try:
        if len(parts) > 1 and parts[1]:
            cfg["filters"] = int(parts[1])
        if len(parts) > 2 and parts[2]:
            cfg["layers"] = int(parts[2])
    except ValueError:
        raise ValueError(f"bad random model spec {spec!r}: expected random[:FILTERS[:LAYERS]]") from None
    if len(parts) > 3 or cfg["filters"] < 1 or cfg["layers"] < 2:
        raise ValueError(f"bad random model spec {spec!r}: expected random[:FILTERS[:LAYERS]] "
                         f"with FILTERS >= 1, LAYERS >= 2")
    return cfg
