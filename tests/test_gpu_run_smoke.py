"""scripts/gpu_run.sh runs unchanged on the CPU in its smoke mode (tiny model,
project data) and leaves every promised output in one folder."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_run_smoke_mode_on_the_cpu(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS="1")
    res = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_run.sh"), "--smoke", "--no-install", "--out", str(out)],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=150)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    for name in ("ckpt.pt", "policy.pt", "metrics.jsonl", "curves.png", "summary.json", "log.txt", "env.txt"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_by"] == "time limit" and summary["last_val"]["val_positions"] > 500
    log = (out / "log.txt").read_text()
    assert "gpu_run: held-out top-1" in log and "samples/s" in log and "cuda: none (CPU)" in log
    from gopolicy.net import checkpoint as ck
    _model, cfg = ck.load_model(out / "policy.pt")
    assert cfg["filters"] == 16 and cfg["layers"] == 3
