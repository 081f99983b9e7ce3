"""Where numba keeps the compiled kernels, and keeping that cache consistent and shared.

Three jobs, done once at the first import of a kernel module:

* **Location.** numba caches beside the sources (``__pycache__``) when the package folder is
  writable. Where it is not (a system-wide or read-only install), the kernels would compile
  again at every start of the engine (30-90 s), so the cache goes to a per-user folder:
  ``$NUMBA_CACHE_DIR`` if set, else the platform's cache directory (``$XDG_CACHE_HOME`` or
  ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows) under
  ``gopolicy/numba``.
* **One compile per install.** numba refuses to read a cache it cannot write into, so an
  administrator's ``gopolicy warmup`` (which fills the package's own ``__pycache__``) would
  serve nobody else. A user whose cache is empty or stale gets a copy of the package's
  cache when that one is fresh: a file copy instead of a compile.
* **Freshness.** numba invalidates a cached function only when *its own* source file changes,
  not when a kernel it calls from another module does: after editing ladders.py,
  features.fill_planes would keep running the old ladder code. So the kernel modules (every
  module in ``go/``, ``rollout/`` and ``play/search/``) share one fingerprint (a hash of all their sources);
  when it changes, their cached code is dropped, and a package cache with another
  fingerprint is never copied.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# The folders whose modules hold numba kernels that call one another.
KERNEL_FOLDERS = ("go", "rollout", "play/search")
STAMP = "kernels.fingerprint"

_done = False


def kernel_sources() -> list[Path]:
    return sorted(p for folder in KERNEL_FOLDERS for p in (PACKAGE / folder).glob("*.py"))


def fingerprint() -> str:
    digest = hashlib.sha1()
    for path in kernel_sources():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


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


def _module_folder(folder: str) -> str:
    # the folder as numba sees a module's file: os.path.abspath, not resolved symlinks
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), folder)


def user_cache_subdir(root: Path, folder: str) -> Path:
    """Where numba's ``UserProvidedCacheLocator`` keeps the kernels of ``PACKAGE/folder``."""
    path = _module_folder(folder)
    return root / f"{os.path.basename(path)}_{hashlib.sha1(path.encode()).hexdigest()}"


def cache_root() -> Path:
    """Where the compiled kernels live now (and set numba to use it where needed)."""
    import numba

    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    if all(_writable(PACKAGE / f) for f in KERNEL_FOLDERS):
        return PACKAGE
    root = user_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    # numba reads config.CACHE_DIR when a cached function is first compiled, not at import.
    numba.config.CACHE_DIR = str(root)
    os.environ["NUMBA_CACHE_DIR"] = str(root)  # worker processes inherit it
    return root


def stamp_path(root: Path) -> Path:
    return root / "__pycache__" / STAMP if root == PACKAGE else root / STAMP


def is_warm() -> bool:
    """True when the kernels will load from a fresh cache (or be copied from the package's)."""
    want = fingerprint()
    for root in {cache_root(), PACKAGE}:
        try:
            if stamp_path(root).read_text() == want and any(root.rglob("*.nbi")):
                return True
        except OSError:
            continue
    return False


def _drop_kernels(root: Path) -> None:
    for name in {p.stem for p in kernel_sources()}:
        for f in list(root.rglob(f"{name}.*.nbi")) + list(root.rglob(f"{name}.*.nbc")):
            f.unlink(missing_ok=True)


def _copy_package_cache(root: Path, want: str) -> bool:
    """Seed a user cache from the package's own, when that one is fresh (an admin's warmup)."""
    try:
        if stamp_path(PACKAGE).read_text() != want:
            return False
    except OSError:
        return False
    copied = False
    for folder in KERNEL_FOLDERS:
        dst = user_cache_subdir(root, folder)
        for src in (PACKAGE / folder / "__pycache__").glob("*.nb[ic]"):
            dst.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / src.name)
            copied = True
    return copied


def _write_stamp(stamp: Path, want: str) -> None:
    stamp.parent.mkdir(parents=True, exist_ok=True)
    tmp = stamp.with_suffix(f".{os.getpid()}")
    tmp.write_text(want)
    os.replace(tmp, stamp)


def ensure_fresh() -> None:
    global _done
    if _done:
        return
    _done = True
    want = fingerprint()
    try:
        root = cache_root()
    except OSError:
        return  # no cache folder can be made: numba compiles in memory
    stamp = stamp_path(root)
    try:
        if stamp.read_text() == want:
            return
    except OSError:
        pass
    try:
        _drop_kernels(root)
        if root != PACKAGE:
            _copy_package_cache(root, want)
        _write_stamp(stamp, want)
    except OSError:
        pass
