"""DDP: 2 CPU ranks (gloo, through torchrun and the real `gopolicy train` entry)
end with identical weights and the same losses as 1 process on the same global batch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gopolicy.cli import main as cli_main
from gopolicy.corpus.shards import write_synthetic_shards
from gopolicy.net import checkpoint as ck

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def keep_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _train_losses(run):
    recs = [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r["samples"], r["loss"], r["top1"]) for r in recs if "loss" in r]


@pytest.mark.slow
def test_two_ranks_match_single_process(tmp_path, keep_threads):
    data = write_synthetic_shards(tmp_path / "data", train=400, val=48, shard_size=150, num_planes=4, seed=2,
                                  signal=0.7)
    args = ["--data", str(data), "--filters", "8", "--layers", "3", "--planes", "4", "--precision", "fp32",
            "--device", "cpu", "--batch-size", "32", "--lr", "0.01", "--max-steps", "6", "--log-every", "1",
            "--eval-every", "3", "--eval-positions", "48", "--ckpt-every", "3", "--no-plot", "--seed", "7",
            "--threads", "1"]
    ddp_run, single_run = tmp_path / "ddp", tmp_path / "single"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "gopolicy", "train", "--out", str(ddp_run), *args],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-4000:]
    summary = json.loads((ddp_run / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["rank_weight_max_abs_diff"] == 0.0  # every rank holds the same weights
    assert cli_main(["train", "--out", str(single_run), *args]) == 0

    ddp, single = _train_losses(ddp_run), _train_losses(single_run)
    assert [r[:2] for r in ddp] == [r[:2] for r in single] == [(s, 32 * s) for s in range(1, 7)]
    for (_, _, loss_d, top1_d), (_, _, loss_s, top1_s) in zip(ddp, single):
        assert loss_d == pytest.approx(loss_s, rel=1e-4)
        assert top1_d == pytest.approx(top1_s, abs=1e-9)
    a, b = ck.load_checkpoint(ddp_run / "ckpt.pt"), ck.load_checkpoint(single_run / "ckpt.pt")
    for k in a["model"]:
        assert torch.allclose(a["model"][k], b["model"][k], rtol=1e-4, atol=1e-6), k
    assert "ranks in sync" in res.stderr
