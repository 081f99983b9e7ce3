"""gopolicy train: loss goes down, NaN guard, kill -9 + --resume is exact."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from gopolicy.cli import main as cli_main
from gopolicy.corpus.shards import write_synthetic_shards
from gopolicy.net import checkpoint as ck
from gopolicy.training.loop import TrainingDiverged

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--filters", "8", "--layers", "3", "--planes", "4", "--precision", "fp32", "--device", "cpu",
        "--eval-positions", "64", "--threads", "1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_shards(tmp_path_factory.mktemp("shards"), train=512, val=64, shard_size=200,
                                  num_planes=8, seed=1)


@pytest.fixture
def keep_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _refused(argv) -> bool:
    """The command stops with an error line: status 1 from the command, or the
    parser's usage and status 2 (a flag's value refused while parsing)."""
    try:
        return cli_main(argv) == 1
    except SystemExit as exc:
        return exc.code == 2


def _metrics(run):
    return [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines()]


def test_train_reduces_loss_and_writes_outputs(data, tmp_path, keep_threads):
    run = tmp_path / "run"
    rc = cli_main(["train", "--data", str(data), "--out", str(run), *TINY, "--batch-size", "32", "--lr", "0.01",
                   "--max-steps", "60", "--log-every", "10", "--eval-every", "30", "--ckpt-every", "30"])
    assert rc == 0
    recs = _metrics(run)
    train = [r for r in recs if "loss" in r]
    val = [r for r in recs if "val_loss" in r]
    assert [r["step"] for r in train] == [10, 20, 30, 40, 50, 60] and [r["step"] for r in val] == [30, 60]
    for key in ("step", "samples", "loss", "top1", "lr", "samples_per_s", "wall"):
        assert key in train[0]
    assert train[-1]["samples"] == 60 * 32
    assert train[-1]["loss"] < 0.5 * train[0]["loss"]
    assert val[-1]["val_top1"] > 0.5  # the marker plane is learnable
    for name in ("ckpt.pt", "policy.pt", "summary.json", "config.json", "curves.png"):
        assert (run / name).exists(), name
    model, cfg = ck.load_model(run / "policy.pt")
    assert cfg["filters"] == 8 and cfg["planes"] == 4
    # an existing run is not overwritten by accident
    assert cli_main(["train", "--data", str(data), "--out", str(run), *TINY, "--max-steps", "1"]) == 1


class NaNNet(nn.Module):
    def __init__(self, planes=4, filters=8, layers=3, board_size=19):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x.flatten(2).sum(1) * self.w + float("nan")


def test_nan_guard_stops_with_clear_error(data, tmp_path, keep_threads):
    import cnn_core

    try:
        cnn_core.register("test_nan_net")(NaNNet)
    except ValueError:
        pass  # registered by an earlier run in this process
    from gopolicy.training.loop import TrainConfig, train

    cfg = TrainConfig(data=str(data), out=str(tmp_path / "nan"), model="test_nan_net", planes=4, filters=8,
                      layers=3, max_steps=50, log_every=5, eval_every=0, precision="fp32", device="cpu",
                      batch_size=16, plot=False)
    with pytest.raises(TrainingDiverged, match="diverged.*lower --lr"):
        train(cfg)
    assert not (tmp_path / "nan" / "ckpt.pt").exists()  # nothing saved from a NaN run


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    env.update(extra)
    return env


@pytest.mark.slow
def test_kill9_then_resume_matches_uninterrupted(data, tmp_path, keep_threads):
    args = ["--data", str(data), *TINY, "--batch-size", "16", "--lr", "0.01", "--max-steps", "40",
            "--ckpt-every", "10", "--log-every", "5", "--eval-every", "20", "--no-plot"]
    # the reference: one uninterrupted run
    ref = tmp_path / "ref"
    assert cli_main(["train", "--out", str(ref), *args]) == 0
    # a run killed with SIGKILL right after its first checkpoint ...
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "gopolicy", "train", "--out", str(run), *args],
                            env=_env(GOPOLICY_TEST_STEP_SLEEP="0.05"), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not (run / "ckpt.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    killed_at = ck.load_checkpoint(run / "ckpt.pt")["step"]
    assert 10 <= killed_at < 40
    # ... then resumed to the end
    res = subprocess.run([sys.executable, "-m", "gopolicy", "train", "--out", str(run), *args, "--resume"],
                         env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"resumed {run / 'ckpt.pt'} at step {killed_at}" in res.stderr
    a, b = ck.load_checkpoint(ref / "ckpt.pt"), ck.load_checkpoint(run / "ckpt.pt")
    assert a["step"] == b["step"] == 40 and a["samples"] == b["samples"] == 640
    assert a["data"] == b["data"]
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k  # bit-identical on the CPU
    # metrics have no duplicates from the steps redone after the kill
    steps = [r["step"] for r in _metrics(run) if "loss" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 40


def test_recipes_and_schedules():
    from gopolicy.training.recipes import get_recipe, lr_at

    paper = get_recipe("alphago")
    assert (paper.batch_size, paper.optimizer, paper.lr, paper.momentum) == (16, "sgd", 0.003, 0.0)
    assert lr_at(paper, 80_000_000 - 1, 10**9) == 0.003 and lr_at(paper, 80_000_000, 10**9) == 0.0015
    fast = get_recipe("fast")
    assert fast.batch_size == 256 and fast.optimizer == "adamw" and fast.weight_decay == 1e-4
    lrs = [lr_at(fast, s, 1000) for s in range(1000)]
    assert lrs[0] < lrs[29] == pytest.approx(fast.lr) and max(lrs) == pytest.approx(fast.lr)  # 30 warm-up steps
    assert lrs[-1] == pytest.approx(fast.lr * fast.min_lr_frac, rel=1e-3)
    assert all(a >= b for a, b in zip(lrs[30:], lrs[31:]))  # cosine only decreases
    sgd = get_recipe("fast", optimizer="sgd")
    assert sgd.lr == 0.002 and sgd.nesterov and sgd.momentum == 0.9
    assert get_recipe("fast", optimizer="sgd", lr=0.01, batch_size=64).lr == 0.01


def test_init_starts_a_new_schedule_from_trained_weights(data, tmp_path, keep_threads, capsys):
    src = tmp_path / "src"
    common = ["--batch-size", "32", "--lr", "0.01", "--log-every", "5", "--eval-every", "0"]
    assert cli_main(["train", "--data", str(data), "--out", str(src), *TINY, *common, "--max-steps", "40"]) == 0
    trained = _metrics(src)[-1]["loss"]
    fresh, warm = tmp_path / "fresh", tmp_path / "warm"
    assert cli_main(["train", "--data", str(data), "--out", str(fresh), *TINY, *common, "--max-steps", "5",
                     "--seed", "3"]) == 0
    # the architecture comes with the weights (exported fp16 policy.pt): flags not given take its values
    no_arch = [a for i, a in enumerate(TINY) if a not in ("--filters", "--layers", "--planes")
               and TINY[i - 1] not in ("--filters", "--layers", "--planes")]
    capsys.readouterr()
    assert cli_main(["train", "--data", str(data), "--out", str(warm), *no_arch, *common, "--max-steps", "5",
                     "--seed", "3", "--init", str(src / "policy.pt")]) == 0
    assert (f"[train] the network is the checkpoint's (--init {src / 'policy.pt'}): model alphago_policy, "
            "planes 4, filters 8, layers 3") in capsys.readouterr().err
    first_fresh, first_warm = _metrics(fresh)[0]["loss"], _metrics(warm)[0]["loss"]
    assert first_warm < 0.5 * first_fresh and first_warm < 2 * trained + 0.1
    ckw = ck.load_checkpoint(warm / "ckpt.pt")
    assert ckw["model_config"]["filters"] == 8 and ckw["step"] == 5  # a new run: its own step count
    assert _refused(["train", "--data", str(data), "--out", str(tmp_path / "bad"), *TINY, "--max-steps", "1",
                     "--init", str(tmp_path / "missing.pt")])  # a clear error, no traceback


def test_checkpoint_refuses_conflicting_architecture_flags(data, tmp_path, keep_threads, capsys):
    """--filters/--layers/--planes given with other values than a --init or --resume
    checkpoint's network stop the run with one line, before anything is written."""
    src = tmp_path / "src"
    assert cli_main(["train", "--data", str(data), "--out", str(src), *TINY, "--batch-size", "16",
                     "--max-steps", "2", "--eval-every", "0", "--no-plot"]) == 0
    capsys.readouterr()
    other = tmp_path / "other"
    assert cli_main(["train", "--data", str(data), "--out", str(other), *TINY, "--filters", "16",
                     "--max-steps", "2", "--init", str(src / "policy.pt")]) == 1
    err = capsys.readouterr().err
    assert err == (f"gopolicy train: error: --filters 16 conflicts with the checkpoint's 8 filters "
                   f"(--init {src / 'policy.pt'}): drop --filters or pick another checkpoint\n")
    assert not other.exists()
    before = ck.load_checkpoint(src / "ckpt.pt")["step"]
    assert cli_main(["train", "--data", str(data), "--out", str(src), *TINY, "--layers", "4",
                     "--max-steps", "4", "--resume"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"gopolicy train: error: --layers 4 conflicts with the checkpoint's 3 layers "
        f"(--resume {src / 'ckpt.pt'}): drop --layers or train a new run in another --out")
    assert ck.load_checkpoint(src / "ckpt.pt")["step"] == before


def test_take_architecture_refuses_or_takes_and_says():
    from gopolicy.training.config import TrainConfig, take_architecture

    mc = {"name": "alphago_policy", "planes": 48, "filters": 192, "layers": 13, "board_size": 19}
    cfg = TrainConfig(filters=128, layers=13)
    with pytest.raises(ValueError, match=r"^--filters 128 conflicts with the checkpoint's 192 filters "
                                         r"\(--init x\.pt\): drop --filters or pick another checkpoint$"):
        take_architecture(cfg, mc, {"filters", "layers"}, "--init x.pt")
    line = take_architecture(cfg, dict(mc, filters=64), {"layers"}, "--resume run/ckpt.pt")
    assert (cfg.filters, cfg.layers, cfg.planes) == (64, 13, 48)
    assert line == ("[train] the network is the checkpoint's (--resume run/ckpt.pt): model alphago_policy, "
                    "planes 48, filters 64")
    everything = {"model", "planes", "filters", "layers"}
    assert take_architecture(cfg, dict(mc, filters=64), everything, "--init x") is None
