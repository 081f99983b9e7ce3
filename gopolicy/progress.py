"""Progress lines for long work: one duration format and one rate / ETA line.

Every long job (prepare, replay-check, training, the rollout trainer, the pooling study)
reports elapsed time, rate and ETA through these, so they read alike.
"""
from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
    """``1h02m`` from an hour up, else ``3m07s``; ``?`` for an unknown (inf / nan) time."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def eta_seconds(done: float, total: float, elapsed: float) -> float:
    """Seconds left at the rate so far (inf before anything is done)."""
    if done <= 0:
        return math.inf
    return elapsed / done * max(total - done, 0.0)
