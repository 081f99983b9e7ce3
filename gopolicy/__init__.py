"""gopolicy: the Go side of an AlphaGo-style policy network system.

Rules (`gopolicy.go.board`), the 48 AlphaGo input planes (`gopolicy.go.features`),
SGF ingestion, training, evaluation, a GTP engine and a gymnasium env (`gopolicy.envs`
registers ``gopolicy/Go-v0``).
"""
__version__ = "0.1.0"

from gopolicy.go.coords import BLACK, EMPTY, WHITE  # noqa: F401
