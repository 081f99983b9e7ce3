"""Where numba keeps the compiled kernels, and keeping that cache consistent.

Two jobs, done once at the first import of a kernel module:

* **Location.** numba caches beside the sources (``__pycache__``) when the package folder is
  writable. Where it is not (a system-wide or read-only install), the kernels would compile
  again at every start of the engine (about 30 s), so the cache goes to a per-user folder:
  ``$NUMBA_CACHE_DIR`` if set, else the platform's cache directory (``$XDG_CACHE_HOME`` or
  ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows) under
  ``gopolicy/numba``.
* **Freshness.** numba invalidates a cached function only when *its own* source file changes,
  not when a kernel it calls from another module does: after editing ladders.py,
  features.fill_planes would keep running the old ladder code. So the kernel modules share one
  fingerprint (a hash of all their sources); when it changes, their cached code is dropped.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# Paths relative to the package: every module whose numba kernels call another's.
KERNEL_MODULES = ("go/rules_kernels", "go/ladders", "go/features", "go/scoring",
                  "rollout/patterns", "rollout/playout", "rollout/train")

_done = False


def user_cache_dir() -> Path:
    """The platform's per-user cache folder for gopolicy's compiled kernels."""
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gopolicy" / "numba"


def _writable(folder: Path) -> bool:
    cache = folder / "__pycache__"
    target = cache if cache.exists() else folder
    return os.access(target, os.W_OK)


def cache_root() -> Path:
    """Where the compiled kernels live now (and set numba to use it where needed)."""
    import numba

    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    if all(_writable((PACKAGE / m).parent) for m in KERNEL_MODULES):
        return PACKAGE
    root = user_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    # numba reads config.CACHE_DIR when a cached function is first compiled, not at import.
    numba.config.CACHE_DIR = str(root)
    os.environ["NUMBA_CACHE_DIR"] = str(root)  # worker processes inherit it
    return root


def ensure_fresh() -> None:
    global _done
    if _done:
        return
    _done = True
    digest = hashlib.sha1()
    for name in KERNEL_MODULES:
        path = PACKAGE / f"{name}.py"
        if path.is_file():
            digest.update(path.read_bytes())
    fingerprint = digest.hexdigest()
    try:
        root = cache_root()
    except OSError:
        return  # no cache folder can be made: numba compiles in memory
    stamp = root / "__pycache__" / "kernels.fingerprint" if root == PACKAGE else root / "kernels.fingerprint"
    try:
        if stamp.read_text() == fingerprint:
            return
    except OSError:
        pass
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        for name in KERNEL_MODULES:
            base = Path(name).name
            for f in list(root.rglob(f"{base}.*.nbi")) + list(root.rglob(f"{base}.*.nbc")):
                f.unlink(missing_ok=True)
        tmp = stamp.with_suffix(f".{os.getpid()}")
        tmp.write_text(fingerprint)
        os.replace(tmp, stamp)
    except OSError:
        pass
