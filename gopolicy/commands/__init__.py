"""Subcommands of the `gopolicy` CLI, one module each (see gopolicy/cli.py)."""
