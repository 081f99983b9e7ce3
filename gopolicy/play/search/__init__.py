"""Monte-Carlo tree search on the policy network with rollouts (AlphaGo, lambda = 1)."""
from gopolicy.play.search.searcher import SearchConfig, Searcher

__all__ = ["SearchConfig", "Searcher"]
