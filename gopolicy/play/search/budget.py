"""When a search stops: a playout count, a time, a stop condition, or whichever comes first."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

UNLIMITED = 1 << 62         # the playout target of a search limited only by time or stop()
UNCLEAR_RATIO = 1.5         # top two moves within this factor in visits: the search goes on


@dataclass
class SearchBudget:
    """``playouts`` new simulations and/or ``seconds`` from ``start``, whichever ends
    first; at ``seconds`` an unclear search (the top two moves within ``UNCLEAR_RATIO``
    in visits) goes on to ``max_seconds``. ``stop()`` ends it early."""

    playouts: int | None = None
    seconds: float | None = None
    max_seconds: float | None = None
    stop: Callable[[], bool] | None = None
    start: float = field(default_factory=time.perf_counter)

    def __post_init__(self):
        if self.playouts is None and self.seconds is None and self.stop is None:
            raise ValueError("a search needs playouts, seconds or a stop condition")

    @property
    def target(self) -> int:
        """Simulations that may start."""
        return self.playouts if self.playouts is not None else UNLIMITED

    def exhausted(self, started: int, unclear: Callable[[], bool]) -> bool:
        """Is the search over, ``started`` simulations in? ``unclear()`` is asked only
        between ``seconds`` and ``max_seconds``."""
        if started >= self.target:
            return True
        if self.stop is not None and self.stop():
            return True
        if self.seconds is None:
            return False
        elapsed = time.perf_counter() - self.start
        if elapsed >= max(self.seconds, self.max_seconds or 0.0):
            return True
        return elapsed >= self.seconds and not unclear()
