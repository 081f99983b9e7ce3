"""Where the default (bundled) model files are found: one lookup for every command.

Order: the environment variable (``$GOPOLICY_MODEL`` for the policy network), else
``<repo>/data/bundled/NAME`` in a source checkout or editable install, else
``<prefix>/share/gopolicy/NAME``, where a wheel (``pip install .``) puts it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]   # gopolicy/net/model_paths.py -> the checkout
BUNDLED_HINT = (
    "Train one and export it (see README: `gopolicy train ...`, then the exported "
    "fp16 weights file goes to data/bundled/policy.pt), pass --model PATH to a checkpoint, "
    "or use --model random for a randomly initialised network (plays randomly; for tests).")


def bundled_file(name: str, env_var: str | None = None) -> Path:
    """The default file ``name`` (it may not exist yet), by the lookup order above."""
    if env_var and os.environ.get(env_var):
        return Path(os.environ[env_var]).expanduser()
    repo = REPO_ROOT / "data" / "bundled" / name
    installed = Path(sys.prefix) / "share" / "gopolicy" / name
    return installed if not repo.is_file() and installed.is_file() else repo


def default_model_path() -> Path:
    """The bundled policy network: ``$GOPOLICY_MODEL``, the checkout's, or the wheel's."""
    return bundled_file("policy.pt", "GOPOLICY_MODEL")
