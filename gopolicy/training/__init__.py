"""Supervised training of the policy network: the loop, the recipes, evaluation against the
paper's numbers, and the curves."""
