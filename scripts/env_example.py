#!/usr/bin/env python
"""A policy-network (or random) agent plays one game of gopolicy/Go-v0 against
GNU Go, the network, a random player or any GTP engine.

    python scripts/env_example.py                          # bundled net vs GNU Go
    python scripts/env_example.py --agent random --opponent policy
    python scripts/env_example.py --opponent "gtp:gnugo --mode gtp --level 5"
    python scripts/env_example.py --agent random --opponent random --size 9

The README's ten-line version is the body of ``play`` below:

    import gymnasium as gym
    import gopolicy.envs  # registers gopolicy/Go-v0
    from gopolicy.play.network_policy import NetworkPolicy

    env = gym.make("gopolicy/Go-v0", opponent="gnugo", render_mode="ansi")  # or opponent="policy"
    agent = NetworkPolicy()  # the bundled 19x19 network (data/bundled/policy.pt)
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        move = agent.select(env.unwrapped.board)  # random agent: env.unwrapped.np_random.choice(info["action_mask"].nonzero()[0])
        obs, reward, terminated, truncated, info = env.step(move)
        done = terminated or truncated
    print(env.render(), "reward", reward, "score (B-W-komi)", info["score"])
"""
from __future__ import annotations

import argparse

import numpy as np


def play(opponent: str, agent_kind: str, model, size: int, color: str, seed: int) -> float:
    import gymnasium as gym

    import gopolicy.envs  # noqa: F401  registers gopolicy/Go-v0

    env = gym.make("gopolicy/Go-v0", size=size, opponent=opponent, agent_color=color,
                   observation="board", render_mode="ansi", opponent_model=model)
    if agent_kind == "policy":
        from gopolicy.play.network_policy import NetworkPolicy

        agent = NetworkPolicy(model)
        print("agent:", agent.describe())
    rng = np.random.default_rng([seed, 1])
    obs, info = env.reset(seed=seed)
    done = False
    while not done:
        if agent_kind == "policy":
            move = agent.select(env.unwrapped.board)
        else:
            move = rng.choice(np.flatnonzero(info["action_mask"]))
        obs, reward, terminated, truncated, info = env.step(move)
        done = terminated or truncated
    print(env.render())
    print(f"agent ({color}) reward {reward:+g}; score (black - white - komi) {info['score']:+g}; "
          f"{info['reason']}")
    env.close()
    return reward


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", choices=["policy", "random"], default="policy")
    ap.add_argument("--opponent", default="gnugo",
                    help="gnugo | policy | random | gtp:<engine command line> (default gnugo)")
    ap.add_argument("--model", default=None,
                    help="policy model for agent and 'policy' opponent: a checkpoint path, "
                         "random[:K[:L]]; default the bundled data/bundled/policy.pt")
    ap.add_argument("--size", type=int, default=19)
    ap.add_argument("--color", choices=["black", "white"], default="black")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.model is None and (args.agent == "policy" or args.opponent == "policy"):
        from gopolicy.play.network_policy import default_model_path

        if not default_model_path().is_file():
            print(f"no bundled model at {default_model_path()}: using a random network (random:16:3)")
            args.model = "random:16:3"
    play(args.opponent, args.agent, args.model, args.size, args.color, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
