"""Registers the gymnasium environment ``gopolicy/Go-v0`` (:class:`gopolicy.play.env.GoEnv`).

Not done by ``import gopolicy`` (gymnasium is 150 ms of a 180 ms import). Either import this
module, or let gymnasium import it: ``gym.make("gopolicy.envs:gopolicy/Go-v0")``. With
gymnasium < 1.0, which still loads ``gymnasium.envs`` entry points, the package's entry point
(pyproject.toml) calls :func:`register` and a plain ``gym.make("gopolicy/Go-v0")`` works.
"""
from __future__ import annotations

import gymnasium

ENV_ID = "gopolicy/Go-v0"


def register() -> None:
    """Register ``gopolicy/Go-v0`` once (a second call is a no-op)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="gopolicy.play.env:GoEnv")


register()
