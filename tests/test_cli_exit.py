"""The CLI leaves through gopolicy.process_exit: exit status, atexit handlers and
buffered output survive skipping the C++ teardown."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, code=None):
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "gopolicy", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_exit_process_keeps_status_atexit_and_buffers():
    res = _run(code=(
        "import atexit, sys\n"
        "from gopolicy.process_exit import exit_process\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "sys.stdout.write('buffered ' * 1000)\n"   # not yet flushed when exit_process is called
        "exit_process(3)\n"))
    assert res.returncode == 3
    assert res.stdout.count("buffered") == 1000 and res.stdout.rstrip().endswith("atexit ran")


@pytest.mark.slow
def test_cli_exit_status_and_output():
    ok = _run("summary", "alphago_policy", "--filters", "8", "--layers", "3")
    assert ok.returncode == 0 and "total params" in ok.stdout.lower()
    usage = _run("train")  # missing --data/--out: argparse error
    assert usage.returncode == 2 and "--out" in usage.stderr
    helped = _run("--help")
    assert helped.returncode == 0 and "pooling-study" in helped.stdout
