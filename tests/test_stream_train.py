"""`gopolicy train --sgf`: --time-limit ends with a loadable checkpoint and the
outputs; kill -9 then --resume continues where the stream stood."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gopolicy.cli import main as cli_main
from gopolicy.net import checkpoint as ck

ROOT = Path(__file__).resolve().parents[1]
SGF = [str(ROOT / "data" / "selfplay"), str(ROOT / "data" / "results" / "match_gnugo_level10")]
GAMES = sum(len(list(Path(d).glob("*.sgf"))) for d in SGF)
TINY = ["--filters", "8", "--layers", "3", "--precision", "fp32", "--device", "cpu", "--threads", "1",
        "--workers", "2", "--shuffle", "1024", "--batch-size", "32", "--val-fraction", "0.1",
        "--test-fraction", "0.05", "--eval-positions", "256", "--no-plot"]


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    env.update(extra)
    return env


@pytest.mark.slow
def test_time_limit_stops_cleanly_with_loadable_outputs(tmp_path):
    run = tmp_path / "run"
    t0 = time.time()
    rc = cli_main(["train", "--sgf", *SGF, "--out", str(run), *TINY, "--time-limit", "0.25", "--log-every", "20",
                   "--eval-every", "100", "--plot"])
    took = time.time() - t0
    assert rc == 0
    assert took < 0.25 * 60 + 40   # the limit, plus the final validation, checkpoint, export and plot
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped_by"] == "time limit" and summary["step"] > 20
    assert summary["train_seconds"] <= 0.25 * 60 + 10
    assert summary["feed"]["games"] > 10 and summary["feed"]["skipped"].get("held out", 0) > 0
    state = ck.load_checkpoint(run / "ckpt.pt")
    assert state["step"] == summary["step"] and state["metrics"]["final"]
    assert state["data"]["kind"] == "sgf" and state["data"]["games"] == GAMES
    model, cfg = ck.load_model(run / "policy.pt")
    assert cfg["filters"] == 8
    recs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("val_top1" in r for r in recs) and (run / "curves.png").exists()
    lrs = [r["lr"] for r in recs if "lr" in r]
    assert lrs[-1] < 0.2 * max(lrs)   # alone, the time limit drives the cosine to its end
    # too short a run is refused with a clear message: --sgf needs a length
    assert cli_main(["train", "--sgf", *SGF, "--out", str(tmp_path / "x"), *TINY]) == 1
    assert cli_main(["train", "--sgf", str(tmp_path / "missing"), "--out", str(tmp_path / "y"), *TINY,
                     "--max-steps", "1"]) == 1


def test_time_limit_spent_in_setup_still_takes_one_step(tmp_path):
    """On a loaded machine setting up can eat a short limit: a fresh run still trains, logs,
    validates and saves one step (it once ended with 0 steps and no metrics.jsonl)."""
    run = tmp_path / "run"
    assert cli_main(["train", "--sgf", *SGF, "--out", str(run), *TINY, "--time-limit", "0.0001",
                     "--log-every", "20", "--eval-every", "100"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["step"] == 1 and summary["stopped_by"] == "time limit"
    recs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("val_top1" in r for r in recs) and any("lr" in r for r in recs)


@pytest.mark.slow
def test_kill9_then_resume_continues_the_stream(tmp_path):
    run = tmp_path / "run"
    # a small shuffle buffer, so that the oldest game still in it moves on quickly
    args = ["--sgf", *SGF, "--out", str(run), *TINY, "--shuffle", "64", "--max-steps", "60", "--ckpt-every", "10",
            "--log-every", "10", "--eval-every", "30"]
    proc = subprocess.Popen([sys.executable, "-m", "gopolicy", "train", *args], env=_env(GOPOLICY_TEST_STEP_SLEEP="0.1"),
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # kill once a checkpoint is past step 20 and past the first game of the stream (how
    # many steps that takes depends on how far ahead the workers read: the load decides)
    deadline = time.time() + 90
    while proc.poll() is None and time.time() < deadline:
        if (run / "ckpt.pt").exists():
            try:
                state = ck.load_checkpoint(run / "ckpt.pt")
                if state["step"] >= 20 and state["data"]["key"] > 0:
                    break
            except Exception:
                pass   # being written
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    before = ck.load_checkpoint(run / "ckpt.pt")
    killed_at, key = before["step"], before["data"]["key"]
    assert 20 <= killed_at < 60 and key > 0
    res = subprocess.run([sys.executable, "-m", "gopolicy", "train", *args, "--resume"], env=_env(), cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"resumed {run / 'ckpt.pt'} at step {killed_at}" in res.stderr
    assert f"the SGF stream restarts at game {key % GAMES:,} of epoch {key // GAMES}" in res.stderr
    after = ck.load_checkpoint(run / "ckpt.pt")
    assert after["step"] == 60 and after["samples"] == 60 * 32
    assert after["data"]["key"] >= key   # the stream went on from there, not from the start
    assert after["data"]["stats"]["positions"] > before["data"]["stats"]["positions"]
    # the held-out positions were computed once and reused
    assert (run / "val_positions.npz").exists()
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(x)]
    assert steps == sorted(set(steps)) and steps[-1] == 60
    assert not torch.equal(before["model"][next(iter(before["model"]))], after["model"][next(iter(after["model"]))])


def test_no_held_out_positions_is_warned_in_one_line(tmp_path, capsys):
    """A corpus too small for its held-out share trains on, without validation, and says so."""
    games = tmp_path / "games"
    games.mkdir()
    for src in sorted(Path(SGF[0]).glob("*.sgf"))[:3]:
        (games / src.name).write_bytes(src.read_bytes())
    run = tmp_path / "run"
    args = ["--filters", "8", "--layers", "3", "--precision", "fp32", "--device", "cpu", "--threads", "1",
            "--workers", "1", "--shuffle", "64", "--batch-size", "16", "--val-fraction", "0",
            "--max-steps", "1", "--eval-every", "1", "--no-plot"]
    assert cli_main(["train", "--sgf", str(games), "--out", str(run), *args]) == 0
    err = capsys.readouterr().err
    assert ("[train] warning: held-out positions: 0 (no usable game of the 3 fell in the 'val' split at "
            "--val-fraction 0), so this run has no validation loss or accuracy; give more games or a larger "
            "--val-fraction\n") in err
    assert err.count("held-out positions") == 1
    recs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert recs and not any("val_top1" in r for r in recs)
