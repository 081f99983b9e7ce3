"""Shared fixtures.

* ``shipped_sgf_dir`` / ``shipped_sgf_files``: the GNU Go games in data/selfplay/
  (shipped with the repository; made by scripts/make_selfplay_data.py).
* ``corpus_dir``: the large shared corpus of strong games; the test is skipped
  (with the reason) unless $GOPOLICY_CORPUS or ../shared/data/sgf/train
  (relative to the repository root) exists.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_SGF_DIR = REPO_ROOT / "data" / "selfplay"


def _corpus_path() -> Path | None:
    env = os.environ.get("GOPOLICY_CORPUS")
    if env:
        return Path(env) if Path(env).exists() else None
    p = REPO_ROOT.parent / "shared" / "data" / "sgf" / "train"
    return p if p.exists() else None


@pytest.fixture(scope="session")
def shipped_sgf_dir() -> Path:
    files = sorted(glob.glob(str(SHIPPED_SGF_DIR / "*.sgf")))
    assert files, f"no shipped games in {SHIPPED_SGF_DIR} (run scripts/make_selfplay_data.py)"
    return SHIPPED_SGF_DIR


@pytest.fixture(scope="session")
def shipped_sgf_files(shipped_sgf_dir) -> list[Path]:
    return [Path(p) for p in sorted(glob.glob(str(shipped_sgf_dir / "*.sgf")))]


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    p = _corpus_path()
    if p is None:
        env = os.environ.get("GOPOLICY_CORPUS")
        why = (f"$GOPOLICY_CORPUS={env} does not exist" if env else
               f"no corpus: set $GOPOLICY_CORPUS or provide {REPO_ROOT.parent / 'shared/data/sgf/train'}")
        pytest.skip(why)
    return p


@pytest.fixture(scope="session")
def corpus_archives(corpus_dir) -> list[Path]:
    arch = sorted(corpus_dir.glob("*.tar.gz")) + sorted(corpus_dir.glob("*.zip"))
    if not arch:
        pytest.skip(f"no .tar.gz/.zip archives in {corpus_dir}")
    return arch


_EXIT_STATUS = None


def pytest_sessionfinish(session, exitstatus):
    global _EXIT_STATUS
    _EXIT_STATUS = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # Everything is reported by now. Leave without C++ static destructors: llvmlite's
    # global LLVMContext sometimes corrupts the heap while being destroyed at exit
    # after the tests JIT-compiled the kernels (see gopolicy/process_exit.py).
    if _EXIT_STATUS is not None and os.environ.get("GOPOLICY_PYTEST_NORMAL_EXIT") != "1":
        from gopolicy.process_exit import exit_process
        exit_process(_EXIT_STATUS)
