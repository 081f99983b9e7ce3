"""gopolicy: the Go side of an AlphaGo-style policy network system.

Rules (`gopolicy.go.board`), the 48 AlphaGo input planes (`gopolicy.go.features`),
SGF ingestion, training, evaluation, a GTP engine and a gymnasium env.
"""
__version__ = "0.1.0"

from gopolicy.go.coords import BLACK, WHITE, EMPTY  # noqa: F401


def _register_env() -> None:
    """Register ``gopolicy/Go-v0`` (gopolicy.play.env:GoEnv) with gymnasium, once."""
    try:
        import gymnasium
    except ImportError:  # pragma: no cover - gymnasium is a dependency
        return
    if "gopolicy/Go-v0" not in gymnasium.registry:
        gymnasium.register(id="gopolicy/Go-v0", entry_point="gopolicy.play.env:GoEnv")


_register_env()
