#!/usr/bin/env python
"""Time an ordinary user's first engine start on a shared, read-only install.

    sudo python scripts/shared_install_check.py [--model data/bundled/policy.pt]

What a system-wide install goes through: the package (a copy of gopolicy/ and cnn_core/)
lies in a folder only root can write; root runs ``gopolicy warmup`` once; then an
unprivileged user (uid 65534, a fresh home) starts ``gopolicy gtp`` and asks ``name`` and
``genmove b`` (the default search: 1 s a move). Prints the seconds from start to each reply,
how many playouts the first move searched, and whether that user compiled anything (numba's
own cache log). Needs root and ``setpriv``.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def first_start(site: Path, home: Path, model: str) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "PYTHONPATH": str(site),
           "NUMBA_DEBUG_CACHE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
           sys.executable, "-m", "gopolicy", "gtp", "--model", model]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=str(home))
    times = {}
    for name, command in (("name", "name"), ("genmove", "genmove b")):
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
        reply = proc.stdout.readline()
        proc.stdout.readline()  # the blank line that ends a GTP reply
        times[name] = (time.perf_counter() - t0, reply.strip())
    _, err = proc.communicate("quit\n", timeout=120)
    playouts = re.findall(r"(\d[\d,]*) playouts", err)
    return {"times": times, "stderr": err, "compiled": "data saved to" in err,
            "playouts": playouts[0] if playouts else "?"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "data" / "bundled" / "policy.pt"))
    args = ap.parse_args()
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        sys.exit("shared_install_check: needs root and setpriv (it runs the engine as uid 65534)")
    base = Path(tempfile.mkdtemp(prefix="gopolicy-shared-", dir="/tmp"))
    try:
        site, home = base / "site", base / "home"
        for pkg in ("gopolicy", "cnn_core"):
            shutil.copytree(ROOT / pkg, site / pkg, ignore=shutil.ignore_patterns("__pycache__"))
        model = base / "policy.pt"
        shutil.copy(args.model, model)
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
        env.update(PYTHONPATH=str(site), HOME=str(base / "roothome"))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gopolicy", "warmup"], env=env, cwd=str(base),
                       check=True, capture_output=True, timeout=1800)
        warmup_s = time.perf_counter() - t0
        home.mkdir()
        os.chown(home, NOBODY, NOBODY)
        base.chmod(0o755)
        subprocess.run(["chmod", "-R", "a-w,a+rX", str(base)], check=True)
        subprocess.run(["chmod", "u+w", str(home)], check=True)
        run = first_start(site, home, str(model))
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(base)], check=False)
        shutil.rmtree(base, ignore_errors=True)
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores")
    print("| step | seconds | reply |")
    print("|---|--:|---|")
    print(f"| root: `gopolicy warmup` | {warmup_s:.1f} | |")
    for name, (sec, reply) in run["times"].items():
        print(f"| user: `{name}` answered, from start | {sec:.1f} | `{reply}` |")
    print(f"\nfirst move searched {run['playouts']} playouts; "
          f"the user {'COMPILED kernels' if run['compiled'] else 'compiled nothing'}")
    return 1 if run["compiled"] else 0


if __name__ == "__main__":
    sys.exit(main())
