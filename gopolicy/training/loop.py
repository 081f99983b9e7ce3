"""Supervised training of the policy network on prepared shards (``gopolicy train``).

One readable loop in the style of nanoGPT's train.py; DDP, autocast and
torch.compile sit behind flags.

Single process::

    gopolicy train --data /work/state/shards --out /work/state/runs/fast --recipe fast --max-samples 2000000

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
exactly where it stopped (model, optimizer, data position, RNG states).
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gopolicy.progress import format_duration

CKPT_NAME = "ckpt.pt"
WEIGHTS_NAME = "policy.pt"
METRICS_NAME = "metrics.jsonl"
MAX_BAD_STEPS = 10  # consecutive non-finite steps before giving up


class TrainingDiverged(RuntimeError):
    """Loss or gradients stayed NaN/inf: the run diverged."""


@dataclass
class TrainConfig:
    data: str
    out: str
    recipe: str = "fast"
    split: str = "train"
    val_split: str = "val"
    model: str = "alphago_policy"
    filters: int = 192
    layers: int = 13
    planes: int = 48
    # recipe overrides (None: the recipe's value)
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    schedule: str | None = None
    warmup_frac: float | None = None
    halve_every: int | None = None
    grad_clip: float | None = None
    label_smoothing: float | None = None
    augment: bool | None = None
    # length and cadence
    max_steps: int | None = None
    max_samples: int | None = None
    log_every: int = 50
    eval_every: int = 1000
    eval_positions: int = 4096
    ckpt_every: int = 1000
    # system
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    seed: int = 1
    resume: bool = False
    init: str | None = None
    verify_data: bool = False
    plot: bool = True
    threads: int | None = None
    extra: dict = field(default_factory=dict)

    RECIPE_FIELDS = ("batch_size", "lr", "optimizer", "momentum", "weight_decay", "schedule", "warmup_frac",
                     "halve_every", "grad_clip", "label_smoothing", "augment")


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------

def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()


def _truncate_metrics(path: Path, step: int) -> None:
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


def _setup_distributed():
    """(rank, local_rank, world_size); initialises the process group under torchrun."""
    import torch
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 0, 1
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and os.environ.get("GOPOLICY_DDP_BACKEND") != "gloo" else "gloo"
        dist.init_process_group(backend=backend)
    return rank, local, world


def resolve_config(cfg: TrainConfig, stored: dict | None, explicit: set[str]):
    """Merge a resumed run's stored config with explicitly given flags.

    Order: recipe defaults < stored (resumed) config < flags given explicitly.
    Returns ``(cfg, recipe)``.
    """
    from gopolicy.training import recipes

    if stored:
        for k, v in stored.items():
            if k in ("data", "out", "resume") or k not in TrainConfig.__dataclass_fields__:
                continue
            if k not in explicit:
                setattr(cfg, k, v)
    overrides = {k: getattr(cfg, k) for k in TrainConfig.RECIPE_FIELDS}
    recipe = recipes.get_recipe(cfg.recipe, **overrides)
    return cfg, recipe


# ---------------------------------------------------------------------------
# validation pass
# ---------------------------------------------------------------------------

def validate(model, shards, dev, *, planes: int, batch_size: int, max_positions: int,
             rank: int = 0, world: int = 1):
    """(mean loss, top-1, positions) on a fixed, evenly spread subset of ``shards``."""
    import torch
    import torch.nn.functional as F

    from gopolicy.net.device import autocast
    from gopolicy.corpus.shards import iter_eval_batches, model_input, to_device

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
        import torch.distributed as dist
        dist.all_reduce(tot)
    model.train(was_training)
    n = max(1.0, float(tot[2]))
    return float(tot[0]) / n, float(tot[1]) / n, int(tot[2])


# ---------------------------------------------------------------------------
# the training run
# ---------------------------------------------------------------------------

def train(cfg: TrainConfig, explicit: set[str] | None = None) -> dict:
    """Run (or resume) training; returns the summary dict (rank 0 also writes it)."""
    import torch
    import torch.nn.functional as F

    from gopolicy.net import checkpoint as ckpt_mod
    from gopolicy.training import recipes
    from gopolicy.net.device import autocast, make_grad_scaler, select_device
    from gopolicy.corpus.shards import ShardError, ShardLoader, ShardSet, model_input

    explicit = set(explicit or ())
    rank, local_rank, world = _setup_distributed()
    master = rank == 0
    ddp = world > 1
    say = _log if master else (lambda msg: None)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)

    # -- device -----------------------------------------------------------
    requested = cfg.device
    if ddp and torch.cuda.is_available() and requested in ("auto", "cuda"):
        requested = f"cuda:{local_rank}"
    dev = select_device(requested, cfg.precision)
    if dev.device.type == "cuda":
        torch.cuda.set_device(dev.device)

    # -- run dir, resume --------------------------------------------------
    out = Path(cfg.out)
    ckpt_path = out / CKPT_NAME
    metrics_path = out / METRICS_NAME
    resume_ck = None
    if cfg.resume and ckpt_path.exists():
        resume_ck = ckpt_mod.load_checkpoint(ckpt_path)
        if resume_ck.get("kind") != "train":
            raise ckpt_mod.CheckpointError(f"{ckpt_path}: an exported weights file, not a training checkpoint")
    elif cfg.resume:
        say(f"[train] --resume: no {ckpt_path} yet, starting a new run")
    elif ckpt_path.exists():
        raise FileExistsError(f"{out} already holds a checkpoint ({CKPT_NAME}); pass --resume to continue it "
                              "or choose another --out")
    cfg, recipe = resolve_config(cfg, resume_ck.get("train_config") if resume_ck else None, explicit)
    init_ck = None
    if cfg.init and not resume_ck:
        # warm start: weights (and so the architecture) from a checkpoint or weights file,
        # a fresh optimizer, schedule and data order (a new run, e.g. a longer schedule)
        init_ck = ckpt_mod.load_checkpoint(cfg.init)
    src_ck = resume_ck or init_ck
    if src_ck:  # the network is the checkpoint's, whatever the flags say
        mc = src_ck["model_config"]
        cfg.model, cfg.planes, cfg.filters, cfg.layers = mc["name"], mc["planes"], mc["filters"], mc["layers"]
    if master:
        out.mkdir(parents=True, exist_ok=True)
        for stale in out.glob(f".{CKPT_NAME}.tmp-*"):
            stale.unlink(missing_ok=True)
    if recipe.batch_size % world:
        raise ValueError(f"--batch-size {recipe.batch_size} (global) is not divisible by {world} ranks")

    # -- data -------------------------------------------------------------
    train_set = ShardSet(cfg.data, cfg.split, verify=cfg.verify_data, warn=say if master else (lambda m: None))
    if not 1 <= cfg.planes <= train_set.num_planes:
        raise ValueError(f"--planes {cfg.planes}: the shards hold {train_set.num_planes} planes")
    loader = ShardLoader(train_set, recipe.batch_size, rank=rank, world_size=world, seed=cfg.seed,
                         augment=recipe.augment, num_planes=cfg.planes, device=dev.device,
                         pin_memory=dev.pin_memory, non_blocking=dev.non_blocking)
    try:
        val_set = ShardSet(cfg.data, cfg.val_split, warn=lambda m: None) if cfg.eval_every else None
    except ShardError as exc:
        say(f"[train] no validation: {exc}")
        val_set = None
    if cfg.max_steps:
        total_steps = int(cfg.max_steps)
    elif cfg.max_samples:
        total_steps = math.ceil(int(cfg.max_samples) / recipe.batch_size)
    else:
        total_steps = loader.steps_per_epoch  # one epoch

    # -- model --------------------------------------------------------------
    model_config = {"name": cfg.model, "planes": cfg.planes, "filters": cfg.filters, "layers": cfg.layers,
                    "board_size": train_set.board_size}
    if src_ck:
        model_config = dict(src_ck["model_config"])
    torch.manual_seed(cfg.seed)  # same init on every rank (DDP also broadcasts rank 0's)
    raw_model = ckpt_mod.build_model(model_config)
    if src_ck:  # exported weights may be fp16: load_state_dict casts to the model's dtype
        raw_model.load_state_dict(src_ck["model"])
        if init_ck:
            say(f"[train] initialised from {cfg.init}")
    raw_model = dev.prepare_model(raw_model)
    raw_model.train()
    optimizer = recipes.make_optimizer(recipe, raw_model)
    scaler = make_grad_scaler(dev)
    step, samples = 0, 0
    if resume_ck:
        optimizer.load_state_dict(resume_ck["optimizer"])
        for g, wd in zip(optimizer.param_groups, (recipe.weight_decay, 0.0)):
            g["weight_decay"] = wd  # a changed --weight-decay applies on resume too
        if resume_ck.get("scaler") and scaler.is_enabled():
            scaler.load_state_dict(resume_ck["scaler"])
        loader.load_state_dict(resume_ck["data"])
        step, samples = int(resume_ck["step"]), int(resume_ck["samples"])
        ckpt_mod.restore_rng_state(resume_ck["rng"])
        if master:
            _truncate_metrics(metrics_path, step)
        say(f"[train] resumed {ckpt_path} at step {step:,} ({samples:,} samples)")
    model = raw_model
    if cfg.compile:
        model = torch.compile(model)
    if ddp:
        from torch.nn.parallel import DistributedDataParallel as DDP
        model = DDP(model, device_ids=[dev.device.index] if dev.device.type == "cuda" else None)
    params = [p for p in raw_model.parameters() if p.requires_grad]
    n_params = sum(p.numel() for p in params)

    cfg_dict = {k: v for k, v in asdict(cfg).items() if k != "extra"}
    if master:
        (out / "config.json").write_text(json.dumps({"train": cfg_dict, "recipe": recipe.to_dict(),
                                                     "model": model_config, "world_size": world,
                                                     "device": dev.describe()}, indent=1))
    say(f"[train] {model_config['name']} k={model_config['filters']} layers={model_config['layers']} "
        f"planes={model_config['planes']} ({n_params:,} parameters) on {dev.describe()}, world {world}")
    say(f"[train] recipe {recipe.name}: batch {recipe.batch_size}, {recipe.optimizer}"
        f"{' nesterov' if recipe.optimizer == 'sgd' and recipe.nesterov and recipe.momentum else ''}"
        f"{' momentum %g' % recipe.momentum if recipe.optimizer == 'sgd' and recipe.momentum else ''} "
        f"lr {recipe.lr:g} ({recipe.schedule}), "
        f"wd {recipe.weight_decay:g}, clip {recipe.grad_clip}, {len(train_set):,} training positions, "
        f"{total_steps:,} steps = {total_steps * recipe.batch_size:,} samples")

    def save(final: bool = False):
        if not master:
            return
        ckpt_mod.save_checkpoint(
            ckpt_path, model=raw_model, model_config=model_config, optimizer=optimizer,
            scheduler={"schedule": recipe.schedule, "peak_lr": recipe.lr, "total_steps": total_steps,
                       "lr": lr, "recipe": recipe.to_dict()},
            scaler=scaler, step=step, samples=samples, data_state=loader.state_dict(), train_config=cfg_dict,
            metrics={"last_val": last_val, "final": final})

    # -- the loop -----------------------------------------------------------
    step_sleep = float(os.environ.get("GOPOLICY_TEST_STEP_SLEEP", "0") or 0)  # test hook (kill -9 test)
    acc = torch.zeros(3, dtype=torch.float64, device=dev.device)  # loss sum, correct, count
    bad_steps, skipped_total = 0, 0
    last_val = None
    lr = recipes.lr_at(recipe, step, total_steps)
    t_start = time.time()
    t_mark, step_mark, paused = time.time(), step, 0.0
    start_step = step
    while step < total_steps:
        lr = recipes.lr_at(recipe, step, total_steps)
        for g in optimizer.param_groups:
            g["lr"] = lr
        batch = loader.next_batch()
        x = model_input(batch.x, dev.channels_last)
        with autocast(dev):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), batch.target, label_smoothing=recipe.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        gnorm = torch.nn.utils.clip_grad_norm_(params, recipe.grad_clip if recipe.grad_clip else float("inf"))
        finite = bool(torch.isfinite(gnorm)) and bool(torch.isfinite(loss.detach()))
        if scaler.is_enabled():
            scaler.step(optimizer)  # skips the update itself on inf/NaN gradients
            scaler.update()
            finite = finite or bool(torch.isfinite(loss.detach()))  # an overflow is not divergence
        elif finite:
            optimizer.step()
        if finite:
            bad_steps = 0
            with torch.no_grad():
                acc[0] += loss.detach().double() * len(batch.target)
                acc[1] += (logits.detach().argmax(1) == batch.target).sum()
                acc[2] += len(batch.target)
        else:
            bad_steps += 1
            skipped_total += 1
            say(f"[train] step {step}: non-finite loss/gradients (loss {float(loss.detach()):.4g}, grad norm "
                f"{float(gnorm):.4g}); update skipped")
            if bad_steps >= MAX_BAD_STEPS:
                raise TrainingDiverged(
                    f"training diverged: {bad_steps} consecutive steps with NaN/inf loss or gradients at step "
                    f"{step} (lr {lr:g}). The plain ReLU network has no normalisation; lower --lr (safe peaks: "
                    f"AdamW {recipes.DEFAULT_LR['adamw']:g}, Nesterov SGD {recipes.DEFAULT_LR['sgd']:g}), keep "
                    f"--grad-clip, or --resume from the last checkpoint with a smaller --lr.")
        step += 1
        samples += recipe.batch_size
        if step_sleep:
            time.sleep(step_sleep)

        last = step == total_steps
        if step % cfg.log_every == 0 or last:
            tot = acc.clone()
            if ddp:
                import torch.distributed as dist
                dist.all_reduce(tot)
            now = time.time()
            dt = max(1e-9, now - t_mark - paused)
            rate = (step - step_mark) * recipe.batch_size / dt
            n = max(1.0, float(tot[2]))
            rec = {"step": step, "samples": samples, "loss": float(tot[0]) / n, "top1": float(tot[1]) / n,
                   "lr": lr, "samples_per_s": rate, "wall": now - t_start, "skipped": skipped_total}
            eta = (total_steps - step) * recipe.batch_size / rate if rate > 0 else float("inf")
            say(f"step {step:,}/{total_steps:,} | samples {samples:,} | loss {rec['loss']:.4f} | "
                f"top1 {100 * rec['top1']:.2f}% | lr {lr:.3g} | {rate:,.1f} samples/s | ETA {format_duration(eta)}")
            if master:
                _append_jsonl(metrics_path, rec)
            acc.zero_()
            t_mark, step_mark, paused = time.time(), step, 0.0
        if val_set is not None and cfg.eval_every and (step % cfg.eval_every == 0 or last):
            t0 = time.time()
            vloss, vtop1, vn = validate(raw_model, val_set, dev, planes=cfg.planes,
                                        batch_size=min(256, max(recipe.batch_size, 64)),
                                        max_positions=cfg.eval_positions, rank=rank, world=world)
            last_val = {"val_loss": vloss, "val_top1": vtop1, "val_positions": vn}
            say(f"eval step {step:,} | val loss {vloss:.4f} | val top1 {100 * vtop1:.2f}% ({vn:,} positions)")
            if master:
                _append_jsonl(metrics_path, {"step": step, "samples": samples, **last_val,
                                             "wall": time.time() - t_start})
            paused += time.time() - t0
        if (cfg.ckpt_every and step % cfg.ckpt_every == 0) or last:
            t0 = time.time()
            save(final=last)
            paused += time.time() - t0

    # -- the end --------------------------------------------------------------
    summary = {"step": step, "samples": samples, "total_steps": total_steps, "world_size": world,
               "wall": time.time() - t_start, "steps_this_session": step - start_step,
               "skipped_steps": skipped_total, "last_val": last_val, "device": dev.describe()}
    if ddp:
        import torch.distributed as dist
        flat = torch.cat([p.detach().float().reshape(-1) for p in raw_model.parameters()])
        ref = flat.clone()
        dist.broadcast(ref, 0)
        diff = (flat - ref).abs().max()
        dist.all_reduce(diff, op=dist.ReduceOp.MAX)
        summary["rank_weight_max_abs_diff"] = float(diff)
        say(f"[train] ranks in sync: max |w_rank - w_0| = {float(diff):.3g}")
        dist.barrier()
    loader.close()
    if master:
        if step > start_step or not ckpt_path.exists():
            save(final=True)
        ckpt_mod.export_weights(ckpt_path, out / WEIGHTS_NAME)
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        if cfg.plot:
            try:
                from gopolicy.training.plotting import plot_runs
                plot_runs([out], out / "curves.png")
            except Exception as exc:
                say(f"[train] plotting failed: {exc}")
        say(f"[train] done: {step:,} steps, {samples:,} samples; checkpoint {ckpt_path}, "
            f"weights {out / WEIGHTS_NAME}")
    if ddp:
        import torch.distributed as dist
        dist.destroy_process_group()
    return summary


def config_from_args(args) -> tuple[TrainConfig, set[str]]:
    """TrainConfig from parsed ``gopolicy train`` arguments, and the set of fields
    given explicitly (they win over a resumed checkpoint's stored config)."""
    fields = TrainConfig.__dataclass_fields__
    values = {k: getattr(args, k) for k in fields if k != "extra" and hasattr(args, k)}
    cfg = TrainConfig(**values)
    return cfg, set(values)


def main(argv: list[str] | None = None) -> int:
    """``python -m gopolicy.training.loop ...`` == ``gopolicy train ...``."""
    from gopolicy.cli import main as cli_main

    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
