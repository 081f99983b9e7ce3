"""gopolicy: the Go side of an AlphaGo-style policy network system.

Rules (`gopolicy.board`), the 48 AlphaGo input planes (`gopolicy.features`),
SGF ingestion, training, evaluation, a GTP engine and a gymnasium env.
"""
__version__ = "0.1.0"

from gopolicy.coords import BLACK, WHITE, EMPTY  # noqa: E402,F401
