"""`gopolicy warmup`: compile the numba kernels once, so the engine's first start is quick.

After a fresh install (or an upgrade) the first `gopolicy gtp` would otherwise compile them
while a GUI waits. The cache goes beside the package when it is writable, else to a per-user
folder (printed here).
"""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help="compile the rules/feature kernels once (quick engine starts)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from gopolicy.numba_cache import cache_root
    from gopolicy.play.warmup import compile_kernels

    seconds = compile_kernels()
    print(f"kernels ready in {seconds:.1f} s (cache: {cache_root()})")
    return 0
