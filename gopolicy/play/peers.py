"""Finding the other Go programs we play against: GNU Go and Pachi.

One search order for every caller (the env's GNU Go opponent, ``gopolicy play``, matches,
tests): an explicit environment variable, then ``PATH``, then the place Debian installs it.
"""
from __future__ import annotations

import os
import shutil


def _find(env_var: str, name: str, fallbacks: tuple[str, ...]) -> str | None:
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    found = shutil.which(name)
    if found:
        return found
    for cand in fallbacks:
        if os.access(cand, os.X_OK):
            return cand
    return None


def find_gnugo() -> str | None:
    """GNU Go's executable: ``$GOPOLICY_GNUGO``, ``gnugo`` on PATH, ``/usr/games/gnugo``."""
    return _find("GOPOLICY_GNUGO", "gnugo", ("/usr/games/gnugo",))


def find_pachi() -> str | None:
    """Pachi's executable (built by hand, never shipped): ``$GOPOLICY_PACHI``, ``pachi`` on PATH."""
    return _find("GOPOLICY_PACHI", "pachi", ())
