"""What a run tells: progress lines, ``metrics.jsonl`` records, the validation pass."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from gopolicy.corpus.batches import model_input, to_device
from gopolicy.corpus.shard_loader import iter_eval_batches
from gopolicy.net.device import autocast
from gopolicy.progress import format_duration


def append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()


def truncate_metrics(path: Path, step: int) -> None:
    """Drop records logged after ``step`` (they will be recomputed after a resume)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line torn by kill -9
        if int(rec.get("step", 0)) <= step:
            keep.append(line)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(x + "\n" for x in keep))
    os.replace(tmp, path)


def validate(model, shards, dev, *, planes: int, batch_size: int, max_positions: int,
             rank: int = 0, world: int = 1):
    """(mean loss, top-1, positions) on a fixed, evenly spread subset of ``shards``
    (a ShardSet, or the held-out PositionSet of an SGF stream)."""
    was_training = model.training
    model.eval()
    tot = torch.zeros(3, dtype=torch.float64, device=dev.device)
    with torch.inference_mode():
        for packed, meta in iter_eval_batches(shards, batch_size, num_planes=planes,
                                              max_positions=max_positions, rank=rank, world_size=world):
            b = to_device(packed, meta, None, planes, dev.device, board_size=shards.board_size)
            with autocast(dev):
                logits = model(model_input(b.x, dev.channels_last))
            logits = logits.float()
            tot[0] += F.cross_entropy(logits, b.target, reduction="sum").double()
            tot[1] += (logits.argmax(1) == b.target).sum()
            tot[2] += len(b.target)
    if world > 1:
        dist.all_reduce(tot)
    model.train(was_training)
    n = max(1.0, float(tot[2]))
    return float(tot[0]) / n, float(tot[1]) / n, int(tot[2])


class Reporter:
    """Accumulates training loss/top-1 between progress lines; times what is not training."""

    def __init__(self, run):
        self.run = run
        self.acc = torch.zeros(3, dtype=torch.float64, device=run.dev.device)  # loss sum, correct, count
        self.t_start = time.time()
        self.t_mark, self.step_mark, self.paused = time.time(), run.step, 0.0
        self.last_val = None
        if run.master and run.step:
            truncate_metrics(run.metrics_path, run.step)

    def add(self, res, batch) -> None:
        if not res.finite:
            return
        n = len(batch.target)
        with torch.no_grad():
            self.acc[0] += res.loss.double() * n
            self.acc[1] += (res.logits.argmax(1) == batch.target).sum()
            self.acc[2] += n

    def progress(self, lr: float, skipped: int, time_left: float | None = None, feed: dict | None = None) -> dict:
        run = self.run
        tot = self.acc.clone()
        if run.ddp:
            dist.all_reduce(tot)
        now = time.time()
        dt = max(1e-9, now - self.t_mark - self.paused)
        rate = (run.step - self.step_mark) * run.recipe.batch_size / dt
        n = max(1.0, float(tot[2]))
        rec = {"step": run.step, "samples": run.samples, "loss": float(tot[0]) / n, "top1": float(tot[1]) / n,
               "lr": lr, "samples_per_s": rate, "wall": now - self.t_start, "skipped": skipped}
        if feed:
            rec["feed"] = feed
        total = f"/{run.total_steps:,}" if run.total_steps else ""
        eta_s = time_left
        if run.total_steps:
            by_steps = (run.total_steps - run.step) * run.recipe.batch_size / rate if rate > 0 else float("inf")
            eta_s = by_steps if time_left is None else min(by_steps, time_left)
        eta = "" if eta_s is None else f" | ETA {format_duration(max(0.0, eta_s))}"
        run.say(f"step {run.step:,}{total} | samples {run.samples:,} | loss {rec['loss']:.4f} | "
                f"top1 {100 * rec['top1']:.2f}% | lr {lr:.3g} | {rate:,.1f} samples/s{eta}")
        if run.master:
            append_jsonl(run.metrics_path, rec)
        self.acc.zero_()
        self.t_mark, self.step_mark, self.paused = time.time(), run.step, 0.0
        return rec

    def evaluate(self) -> dict:
        run = self.run
        t0 = time.time()
        vloss, vtop1, vn = validate(run.raw_model, run.val_set, run.dev, planes=run.cfg.planes,
                                    batch_size=min(256, max(run.recipe.batch_size, 64)),
                                    max_positions=run.cfg.eval_positions or None, rank=run.rank, world=run.world)
        self.last_val = {"val_loss": vloss, "val_top1": vtop1, "val_positions": vn}
        run.say(f"eval step {run.step:,} | val loss {vloss:.4f} | val top1 {100 * vtop1:.2f}% ({vn:,} positions)")
        if run.master:
            append_jsonl(run.metrics_path, {"step": run.step, "samples": run.samples, **self.last_val,
                                            "wall": time.time() - self.t_start})
        self.pause(time.time() - t0)
        return self.last_val

    def pause(self, seconds: float) -> None:
        """Time spent outside training steps (left out of samples/s)."""
        self.paused += seconds
