"""Keep numba's on-disk cache of the rules/feature kernels consistent.

numba invalidates a cached function only when *its own* source file changes,
not when a kernel it calls from another module does: after editing
ladders.py, features.fill_planes would keep running the old ladder code. So
the kernel modules share one fingerprint (a hash of all their sources); when
it changes, their cached machine code is dropped before anything loads it.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

KERNEL_MODULES = ("rules_kernels", "ladders", "features", "scoring")


def ensure_fresh() -> None:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha1()
    for name in KERNEL_MODULES:
        digest.update((here / f"{name}.py").read_bytes())
    fingerprint = digest.hexdigest()
    cache = Path(os.environ.get("NUMBA_CACHE_DIR") or here / "__pycache__")
    stamp = cache / "kernels.fingerprint"
    try:
        if stamp.read_text() == fingerprint:
            return
    except OSError:
        pass
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for name in KERNEL_MODULES:
            for f in list(cache.rglob(f"{name}.*.nbi")) + list(cache.rglob(f"{name}.*.nbc")):
                f.unlink(missing_ok=True)
        tmp = stamp.with_suffix(f".{os.getpid()}")
        tmp.write_text(fingerprint)
        os.replace(tmp, stamp)
    except OSError:
        pass  # read-only install: numba then compiles in memory
