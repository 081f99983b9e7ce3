"""Supervised training of the policy network (``gopolicy train``).

One readable loop in the style of nanoGPT's train.py: the setup is in
:mod:`gopolicy.training.setup`, one optimizer step in :mod:`gopolicy.training.step`,
progress lines, metrics and validation in :mod:`gopolicy.training.reporting`.
DDP, autocast and torch.compile sit behind flags. The data come from prepared
shards (``--data``) or are streamed from SGF by worker processes (``--sgf``,
:mod:`gopolicy.corpus.stream`).

Single process::

    gopolicy train --data SHARDS --out runs/fast --recipe fast --max-samples 2000000
    gopolicy train --sgf SGF_FOLDER --out runs/stream --time-limit 60   # no shards

Several processes on one machine (DDP: nccl on GPUs, gloo on CPUs; each rank
reads a disjoint part of every global batch; only rank 0 logs and checkpoints)::

    torchrun --standalone --nproc_per_node 4 -m gopolicy train --data DIR --out RUN --recipe fast

Several machines (the same command on every node; the c10d rendezvous at a
host:port all nodes reach, typically node 0's, assigns the ranks)::

    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_id gopolicy1 \\
             --rdzv_endpoint node0.example:29500 -m gopolicy train --data DIR --out RUN --recipe fast

``--batch-size`` is the *global* batch: each of W ranks processes batch/W
positions per step, so a run's maths does not depend on W (2 ranks x 128 ==
1 process x 256, up to float rounding).

Outputs in RUN_DIR: ``ckpt.pt`` (latest checkpoint, atomic), ``metrics.jsonl``
(one JSON object per log/eval point), ``config.json``, and at the end
``policy.pt`` (fp16 weights only, what ``data/bundled/policy.pt`` is),
``summary.json`` and ``curves.png``. ``--resume`` continues from ``ckpt.pt``
exactly where it stopped (model, optimizer, data position, RNG states; an SGF
stream restarts at the oldest game whose positions were not all used, see
:mod:`gopolicy.corpus.stream`). ``--time-limit MINUTES`` ends the run cleanly
(checkpoint, export, metrics, plot) within that time, counted over all its
sessions; without a length, the lr schedule then follows the clock. A
checkpoint is also written every ``--ckpt-minutes`` (1), so a killed run loses
at most that.
"""
from __future__ import annotations

import json
import os
import time

import torch
import torch.distributed as dist

from gopolicy.net import checkpoint as ckpt_mod
from gopolicy.training import recipes
from gopolicy.training.config import TrainConfig, config_from_args, resolve_config
from gopolicy.training.plotting import plot_runs
from gopolicy.training.reporting import Reporter
from gopolicy.training.setup import CKPT_NAME, METRICS_NAME, WEIGHTS_NAME, Run, log, setup_run
from gopolicy.training.step import MAX_BAD_STEPS, DivergenceGuard, TrainingDiverged, train_step

__all__ = ["CKPT_NAME", "MAX_BAD_STEPS", "METRICS_NAME", "WEIGHTS_NAME", "TrainConfig", "TrainingDiverged",
           "config_from_args", "resolve_config", "train"]


class Clock:
    """The run's time budget (``--time-limit``) and time-based checkpoints."""

    def __init__(self, run: Run, t_entry: float):
        self.run, self.t_entry = run, t_entry
        self.limit_s = run.cfg.time_limit * 60.0 if run.cfg.time_limit else None
        self.eval_s = self.save_s = 0.0   # the last validation and checkpoint took this long
        self.last_ckpt = time.time()

    def elapsed(self) -> float:
        return self.run.train_seconds + time.time() - self.t_entry

    def left(self) -> float | None:
        return None if self.limit_s is None else self.limit_s - self.elapsed()

    def fraction(self) -> float:
        return min(1.0, self.elapsed() / self.limit_s)

    def out_of_time(self) -> bool:
        if self.limit_s is None:
            return False
        reserve = 1.5 * (self.eval_s + self.save_s)   # the end needs one more of each
        stop = self.elapsed() + reserve >= self.limit_s
        if self.run.ddp:  # every rank stops at the same step
            flag = torch.tensor([float(stop)], device=self.run.dev.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            stop = bool(flag.item())
        return stop

    def ckpt_due(self) -> bool:
        m = self.run.cfg.ckpt_minutes
        return bool(m) and time.time() - self.last_ckpt >= 60.0 * m


def lr_now(run: Run, clock: Clock) -> float:
    if run.total_steps:
        return recipes.lr_at(run.recipe, run.step, run.total_steps)
    if run.recipe.schedule == "cosine":  # a run with only a time limit: the schedule follows the clock
        return recipes.lr_at(run.recipe, int(clock.fraction() * 1_000_000), 1_000_000)
    return recipes.lr_at(run.recipe, run.step, 1 << 62)


def save(run: Run, clock: Clock, rep, lr: float, final: bool = False) -> float:
    """The training checkpoint (rank 0; atomic)."""
    t0 = time.time()
    if run.master:
        ckpt_mod.save_checkpoint(
            run.ckpt_path, model=run.raw_model, model_config=run.model_config, optimizer=run.optimizer,
            scheduler={"schedule": run.recipe.schedule, "peak_lr": run.recipe.lr, "total_steps": run.total_steps,
                       "lr": lr, "recipe": run.recipe.to_dict(), "train_seconds": clock.elapsed()},
            scaler=run.scaler, step=run.step, samples=run.samples, data_state=run.loader.state_dict(),
            train_config=run.cfg_dict, metrics={"last_val": rep.last_val, "final": final})
    clock.last_ckpt = time.time()
    rep.pause(time.time() - t0)
    return time.time() - t0


def _feed_stats(run: Run) -> dict | None:
    st = getattr(run.loader, "stats", None)
    return {"games": st["games"], "positions": st["positions"], "skipped": dict(st["skipped"])} if st else None


# ---------------------------------------------------------------------------
# the training run
# ---------------------------------------------------------------------------

def train(cfg: TrainConfig, explicit: set[str] | None = None) -> dict:
    """Run (or resume) training; returns the summary dict (rank 0 also writes it)."""
    t_entry = time.time()
    run = setup_run(cfg, set(explicit or ()))
    cfg = run.cfg
    rep, guard, clock = Reporter(run), DivergenceGuard(run.say), Clock(run, t_entry)
    step_sleep = float(os.environ.get("GOPOLICY_TEST_STEP_SLEEP", "0") or 0)  # test hook (kill -9 test)
    start_step = run.step
    lr = lr_now(run, clock)
    # a fresh run takes at least one step (and logs, evaluates and saves it) even when setting
    # up ate its whole time limit, as it can on a loaded machine; a finished one resumes to none
    done = (run.total_steps is not None and run.step >= run.total_steps
            or run.train_seconds > 0 and clock.out_of_time())
    while not done:
        lr = lr_now(run, clock)
        batch = run.loader.next_batch()
        res = train_step(run, batch, lr)
        guard.check(res, run.step, lr)
        rep.add(res, batch)
        run.step += 1
        run.samples += run.recipe.batch_size
        if step_sleep:
            time.sleep(step_sleep)

        done = (run.total_steps is not None and run.step >= run.total_steps) or clock.out_of_time()
        if run.step % cfg.log_every == 0 or done:
            rep.progress(lr, guard.skipped, clock.left(), _feed_stats(run))
        if run.val_set is not None and cfg.eval_every and (run.step % cfg.eval_every == 0 or done):
            t0 = time.time()
            rep.evaluate()
            clock.eval_s = time.time() - t0
        if (cfg.ckpt_every and run.step % cfg.ckpt_every == 0) or done or clock.ckpt_due():
            clock.save_s = save(run, clock, rep, lr, final=done)
    return finish(run, clock, rep, lr, start_step, guard.skipped)


def finish(run: Run, clock: Clock, rep, lr: float, start_step: int, skipped: int) -> dict:
    """Final checkpoint, fp16 export, summary and curves."""
    summary = {"step": run.step, "samples": run.samples, "total_steps": run.total_steps, "world_size": run.world,
               "wall": time.time() - clock.t_entry, "train_seconds": clock.elapsed(),
               "steps_this_session": run.step - start_step, "skipped_steps": skipped,
               "last_val": rep.last_val, "device": run.dev.describe(),
               "stopped_by": "time limit" if run.total_steps is None or run.step < run.total_steps else "length"}
    feed = _feed_stats(run)
    if feed:
        summary["feed"] = feed
    if run.ddp:
        flat = torch.cat([p.detach().float().reshape(-1) for p in run.raw_model.parameters()])
        ref = flat.clone()
        dist.broadcast(ref, 0)
        diff = (flat - ref).abs().max()
        dist.all_reduce(diff, op=dist.ReduceOp.MAX)
        summary["rank_weight_max_abs_diff"] = float(diff)
        run.say(f"[train] ranks in sync: max |w_rank - w_0| = {float(diff):.3g}")
        dist.barrier()
    run.loader.close()
    out = run.out
    if run.master:
        if run.step > start_step or not run.ckpt_path.exists():
            save(run, clock, rep, lr, final=True)
        ckpt_mod.export_weights(run.ckpt_path, out / WEIGHTS_NAME)
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        if run.cfg.plot:
            try:
                plot_runs([out], out / "curves.png")
            except Exception as exc:
                log(f"[train] plotting failed: {exc}")
        if feed:
            log(f"[train] fed {feed['games']:,} games, {feed['positions']:,} positions; skipped "
                f"{sum(v for k, v in feed['skipped'].items() if k != 'held out'):,} "
                f"{feed['skipped']}")
        log(f"[train] done: {run.step:,} steps, {run.samples:,} samples ({summary['stopped_by']}); "
            f"checkpoint {run.ckpt_path}, weights {out / WEIGHTS_NAME}")
    if run.ddp:
        dist.destroy_process_group()
    return summary

