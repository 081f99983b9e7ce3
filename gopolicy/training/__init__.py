"""Supervised training of the policy network: the loop (loop; its config, setup, step and
reporting), the recipes, evaluation against the paper's numbers, and the curves."""
