"""The engine's first start after an install: kernels cached per user when the package is read-only.

A GUI starts the engine many times; if numba cannot write its cache beside a read-only package
(a system-wide install, a user without root), every start would compile the kernels again (~30 s).
These tests run the real engine, as an unprivileged user, from a copy of the package that user
cannot write, and read numba's own cache log (NUMBA_DEBUG_CACHE) to see compiling vs loading.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gopolicy import numba_cache

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534


def test_cache_goes_to_a_user_folder_when_the_package_is_read_only(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(numba_cache, "_writable", lambda folder: False)
    import numba

    old = numba.config.CACHE_DIR
    try:
        root = numba_cache.cache_root()
        assert root == tmp_path / "xdg" / "gopolicy" / "numba"
        assert numba.config.CACHE_DIR == str(root) and os.environ["NUMBA_CACHE_DIR"] == str(root)
    finally:
        numba.config.CACHE_DIR = old
        os.environ.pop("NUMBA_CACHE_DIR", None)


def _run_engine_as_nobody(site: Path, home: Path) -> str:
    """One engine start: answer a few commands, wait for the background warm-up, quit."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "PYTHONPATH": str(site),
           "NUMBA_DEBUG_CACHE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
           sys.executable, "-m", "gopolicy", "gtp", "--model", "random:8:2", "--quiet"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=str(home))
    proc.stdin.write("name\ngenmove b\nfinal_score\n")
    proc.stdin.flush()
    err = []
    for line in proc.stderr:  # the warm-up thread says when every kernel is compiled or loaded
        err.append(line)
        if "kernels ready" in line:
            break
    out, rest = proc.communicate("quit\n", timeout=600)
    assert proc.returncode == 0, "".join(err)[-2000:] + rest[-2000:]
    assert any("kernels ready" in line for line in err), "".join(err)[-2000:]
    assert "= gopolicy" in out and out.count("=") >= 4, out
    return out + "".join(err) + rest


@contextlib.contextmanager
def _install(prefix: str):
    """A copy of the package in a temporary folder: yields (base, site, home); removed after."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the engine as an unprivileged user")
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        site, home = base / "site", base / "home"
        for pkg in ("gopolicy", "cnn_core"):
            shutil.copytree(ROOT / pkg, site / pkg, ignore=shutil.ignore_patterns("__pycache__"))
        yield base, site, home
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(base)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def _make_read_only(base: Path, site: Path, home: Path) -> None:
    """The package read-only for everyone; a home folder the unprivileged user owns."""
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    base.chmod(0o755)
    subprocess.run(["chmod", "-R", "a-w,a+rX", str(site)], check=True)


@pytest.mark.slow
def test_second_start_from_a_read_only_install_does_not_compile():
    with _install("gopolicy-ro-") as (base, site, home):
        _make_read_only(base, site, home)
        first = _run_engine_as_nobody(site, home)
        assert "data saved to" in first  # compiled, and the cache could be written
        assert "compiling the board, feature and search kernels once" in first  # said so, in one line
        cache = home / ".cache" / "gopolicy" / "numba"
        assert any(cache.rglob("*.nbi")), "no cache in the user's folder"
        assert not any(site.rglob("*.nbi")), "wrote into the read-only package"
        second = _run_engine_as_nobody(site, home)
        assert "data loaded from" in second
        assert "data saved to" not in second, "the second start compiled again"
        assert "compiling" not in second and "loaded from the cache" in second


@pytest.mark.slow
def test_an_administrators_warmup_serves_every_user():
    # One compile per install: root's `gopolicy warmup` fills the package's own cache; an
    # ordinary user, who cannot write there, gets it copied and compiles nothing.
    with _install("gopolicy-shared-") as (base, site, home):
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
        env.update(PYTHONPATH=str(site), HOME=str(base / "roothome"))
        warm = subprocess.run([sys.executable, "-m", "gopolicy", "warmup"], env=env, cwd=str(base),
                              capture_output=True, text=True, timeout=900)
        assert warm.returncode == 0 and str(site / "gopolicy") in warm.stdout, warm.stdout + warm.stderr
        assert any((site / "gopolicy" / "go" / "__pycache__").glob("*.nbi"))
        _make_read_only(base, site, home)
        log = _run_engine_as_nobody(site, home)
        assert "data loaded from" in log
        assert "data saved to" not in log, "the user compiled again after the administrator's warmup"
        assert "compiling" not in log and "loaded from the cache" in log


def test_a_stale_package_cache_is_not_copied(monkeypatch, tmp_path):
    # the package's cache was filled by another version of the kernels: the user compiles
    pkg = tmp_path / "pkg"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "__pycache__" / numba_cache.STAMP).write_text("another version")
    monkeypatch.setattr(numba_cache, "PACKAGE", pkg)
    assert not numba_cache._copy_package_cache(tmp_path / "user", "this version")
    (pkg / "__pycache__" / numba_cache.STAMP).write_text("this version")
    (pkg / "go" / "__pycache__").mkdir(parents=True)
    (pkg / "go" / "__pycache__" / "ladders.k-1.py311.nbi").write_text("index")
    assert numba_cache._copy_package_cache(tmp_path / "user", "this version")
    assert (numba_cache.user_cache_subdir(tmp_path / "user", "go") / "ladders.k-1.py311.nbi").is_file()
