"""Everything a training run needs before its first step: processes, device,
run directory, checkpoint to resume or start from, data feeds, model, optimizer."""
from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from gopolicy.corpus import stream
from gopolicy.corpus.shard_format import ShardError
from gopolicy.corpus.shard_loader import ShardLoader
from gopolicy.corpus.shard_set import ShardSet
from gopolicy.net import checkpoint as ckpt_mod
from gopolicy.net.device import make_grad_scaler, select_device
from gopolicy.training import recipes
from gopolicy.training.config import TrainConfig, resolve_config, take_architecture

CKPT_NAME = "ckpt.pt"
WEIGHTS_NAME = "policy.pt"
METRICS_NAME = "metrics.jsonl"
VAL_CACHE = "val_positions.npz"   # --sgf: the held-out positions, computed once per run


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Run:
    cfg: TrainConfig
    recipe: object
    dev: object
    rank: int
    world: int
    out: Path
    loader: object                 # ShardLoader or SGFLoader
    val_set: object                # ShardSet, PositionSet or None
    model: object                  # what the step calls (compiled / DDP-wrapped)
    raw_model: object              # the module itself (checkpoints, validation)
    optimizer: object
    scaler: object
    params: list
    model_config: dict
    cfg_dict: dict
    total_steps: int | None        # None: the run ends by --time-limit
    step: int = 0
    samples: int = 0
    train_seconds: float = 0.0     # of earlier sessions (a resumed run's budget goes on)

    @property
    def master(self) -> bool:
        return self.rank == 0

    @property
    def ddp(self) -> bool:
        return self.world > 1

    @property
    def ckpt_path(self) -> Path:
        return self.out / CKPT_NAME

    @property
    def metrics_path(self) -> Path:
        return self.out / METRICS_NAME

    def say(self, msg: str) -> None:
        if self.master:
            log(msg)


def setup_distributed():
    """(rank, local_rank, world_size); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 0, 1
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and os.environ.get("GOPOLICY_DDP_BACKEND") != "gloo" else "gloo"
        dist.init_process_group(backend=backend)
    return rank, local, world


def _device(cfg: TrainConfig, ddp: bool, local_rank: int):
    requested = cfg.device
    if ddp and torch.cuda.is_available() and requested in ("auto", "cuda"):
        requested = f"cuda:{local_rank}"
    dev = select_device(requested, cfg.precision)
    if dev.device.type == "cuda":
        torch.cuda.set_device(dev.device)
        # fixed input shapes: let cuDNN pick its fastest kernels; TF32 for what autocast leaves in fp32
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return dev


def default_workers(cfg: TrainConfig) -> int:
    if cfg.workers is not None:
        return max(0, int(cfg.workers))
    return max(1, (os.cpu_count() or 2) - 1) if cfg.sgf else 0


def _feeds(cfg: TrainConfig, recipe, dev, rank: int, world: int, out: Path, say):
    """(training loader, validation set or None, board size, planes in the data)."""
    workers = default_workers(cfg)
    val_set = None
    if cfg.sgf:
        try:
            plan = stream.plan_stream(cfg.sgf)
        except FileNotFoundError as exc:
            raise ValueError(f"--sgf {exc}: no such file or folder") from None
        say(f"[train] streaming {plan.games:,} SGF games from {len(cfg.sgf)} input(s) "
            f"({', '.join(plan.sources[:6])}{'...' if len(plan.sources) > 6 else ''}) with {workers} workers"
            + (f"; skipped while listing: {plan.skipped}" if plan.skipped else ""))
        if not 1 <= cfg.planes <= stream.NUM_PLANES:
            raise ValueError(f"--planes {cfg.planes}: the stream makes {stream.NUM_PLANES} planes")
        loader = stream.SGFLoader(plan, recipe.batch_size, workers=workers, rank=rank, world_size=world,
                                  seed=cfg.seed, augment=recipe.augment, num_planes=cfg.planes,
                                  shuffle=cfg.shuffle or stream.DEFAULT_SHUFFLE, split=cfg.split,
                                  val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction,
                                  device=dev.device, pin_memory=dev.pin_memory, non_blocking=dev.non_blocking)
        if cfg.eval_every and not cfg.data:
            val_set = _held_out_positions(cfg, plan, workers, rank, out, say)
        board_size, data_planes = stream.BOARD_SIZE, stream.NUM_PLANES
    else:
        if not cfg.data:
            raise ValueError("say what to train on: --data SHARDS (prepared) or --sgf PATH... (streamed)")
        train_set = ShardSet(cfg.data, cfg.split, verify=cfg.verify_data, warn=say)
        if not 1 <= cfg.planes <= train_set.num_planes:
            raise ValueError(f"--planes {cfg.planes}: the shards hold {train_set.num_planes} planes")
        loader = ShardLoader(train_set, recipe.batch_size, rank=rank, world_size=world, seed=cfg.seed,
                             augment=recipe.augment, num_planes=cfg.planes, device=dev.device,
                             pin_memory=dev.pin_memory, non_blocking=dev.non_blocking, workers=workers)
        board_size, data_planes = train_set.board_size, train_set.num_planes
        say(f"[train] {len(train_set):,} training positions in {cfg.data}"
            + (f", read by {workers} worker processes" if workers else ""))
    if cfg.eval_every and cfg.data and val_set is None:
        try:
            val_set = ShardSet(cfg.data, cfg.val_split, warn=lambda m: None)
        except ShardError as exc:
            say(f"[train] no validation: {exc}")
    return loader, val_set, board_size, data_planes


def _held_out_positions(cfg: TrainConfig, plan, workers: int, rank: int, out: Path, say):
    """--sgf: the validation positions (computed once per run, then read from the
    run directory), or None with a warning when the held-out games gave none."""
    cache = out / VAL_CACHE
    if cache.exists():
        val_set = stream.PositionSet.load(cache, split=cfg.val_split)
    else:
        val_set = stream.collect_split(plan, cfg.val_split, workers=max(1, workers),
                                       val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction,
                                       max_positions=cfg.eval_positions or None)
        if rank == 0:
            val_set.save(cache)
    if len(val_set):
        say(f"[train] held-out positions: {len(val_set):,} from the {cfg.val_split!r} games "
            f"(game hash, as prepare splits)")
        return val_set
    flag, fraction = (("--test-fraction", cfg.test_fraction) if cfg.val_split == "test"
                      else ("--val-fraction", cfg.val_fraction))
    say(f"[train] warning: held-out positions: 0 (no usable game of the {plan.games:,} fell in the "
        f"{cfg.val_split!r} split at {flag} {fraction:g}), so this run has no validation loss or accuracy; "
        f"give more games or a larger {flag}")
    return None


def _total_steps(cfg: TrainConfig, recipe, loader) -> int | None:
    if cfg.max_steps:
        return int(cfg.max_steps)
    if cfg.max_samples:
        return math.ceil(int(cfg.max_samples) / recipe.batch_size)
    if cfg.time_limit:
        return None
    if cfg.sgf:
        raise ValueError("--sgf: say how long to train (--max-samples, --max-steps or --time-limit)")
    return loader.steps_per_epoch  # one epoch


def setup_run(cfg: TrainConfig, explicit: set[str]) -> Run:
    rank, local_rank, world = setup_distributed()
    master = rank == 0
    say = log if master else (lambda msg: None)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dev = _device(cfg, world > 1, local_rank)

    # -- run dir, resume or init ----------------------------------------------
    out = Path(cfg.out)
    resume_ck = _resume_checkpoint(cfg, out, say)
    cfg, recipe = resolve_config(cfg, resume_ck.get("train_config") if resume_ck else None, explicit)
    # warm start (--init): weights (and so the architecture) from a checkpoint or weights file,
    # a fresh optimizer, schedule and data order (a new run, e.g. a longer schedule)
    init_ck = ckpt_mod.load_checkpoint(cfg.init) if cfg.init and not resume_ck else None
    src_ck = resume_ck or init_ck
    if src_ck:  # the network is the checkpoint's: a flag asking for another one is refused
        where = f"--resume {out / CKPT_NAME}" if resume_ck else f"--init {cfg.init}"
        taken = take_architecture(cfg, src_ck["model_config"], explicit, where)
        if taken:
            say(taken)
    if master:
        out.mkdir(parents=True, exist_ok=True)
        for stale in out.glob(f".{CKPT_NAME}.tmp-*"):
            stale.unlink(missing_ok=True)
    if recipe.batch_size % world:
        raise ValueError(f"--batch-size {recipe.batch_size} (global) is not divisible by {world} ranks")

    loader, val_set, board_size, _ = _feeds(cfg, recipe, dev, rank, world, out, say)
    total_steps = _total_steps(cfg, recipe, loader)
    raw_model, model_config = _build_model(cfg, src_ck, board_size, dev)
    if init_ck:
        say(f"[train] initialised from {cfg.init}")
    optimizer = recipes.make_optimizer(recipe, raw_model)
    run = Run(cfg=cfg, recipe=recipe, dev=dev, rank=rank, world=world, out=out, loader=loader, val_set=val_set,
              model=raw_model, raw_model=raw_model, optimizer=optimizer, scaler=make_grad_scaler(dev),
              params=[p for p in raw_model.parameters() if p.requires_grad], model_config=model_config,
              cfg_dict={k: v for k, v in asdict(cfg).items() if k != "extra"}, total_steps=total_steps)
    if resume_ck:
        _restore(run, resume_ck)
    if cfg.compile:
        run.model = torch.compile(raw_model)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        run.model = DDP(run.model, device_ids=[dev.device.index] if dev.device.type == "cuda" else None)
    if master:
        (out / "config.json").write_text(json.dumps({"train": run.cfg_dict, "recipe": recipe.to_dict(),
                                                     "model": model_config, "world_size": world,
                                                     "device": dev.describe()}, indent=1))
    _describe(run)
    return run


def _resume_checkpoint(cfg: TrainConfig, out: Path, say) -> dict | None:
    """The run directory's checkpoint with --resume (None: a new run); without
    --resume a directory that holds one is refused."""
    ckpt_path = out / CKPT_NAME
    if cfg.resume and ckpt_path.exists():
        ck = ckpt_mod.load_checkpoint(ckpt_path)
        if ck.get("kind") != "train":
            raise ckpt_mod.CheckpointError(f"{ckpt_path}: an exported weights file, not a training checkpoint")
        return ck
    if cfg.resume:
        say(f"[train] --resume: no {ckpt_path} yet, starting a new run")
    elif ckpt_path.exists():
        raise FileExistsError(f"{out} already holds a checkpoint ({CKPT_NAME}); pass --resume to continue it "
                              "or choose another --out")
    return None


def _build_model(cfg: TrainConfig, src_ck: dict | None, board_size: int, dev):
    """``(model on the device in train mode, its model_config)``: the checkpoint's
    network and weights, else a fresh one of the flags' shape."""
    model_config = {"name": cfg.model, "planes": cfg.planes, "filters": cfg.filters, "layers": cfg.layers,
                    "board_size": board_size}
    if src_ck:
        model_config = dict(src_ck["model_config"])
    torch.manual_seed(cfg.seed)  # same init on every rank (DDP also broadcasts rank 0's)
    raw_model = ckpt_mod.build_model(model_config)
    if src_ck:  # exported weights may be fp16: load_state_dict casts to the model's dtype
        raw_model.load_state_dict(src_ck["model"])
    raw_model = dev.prepare_model(raw_model)
    raw_model.train()
    return raw_model, model_config


def _restore(run: Run, ck: dict) -> None:
    """A resumed run's optimizer, scaler, data position, counters and RNG states."""
    recipe, optimizer, loader = run.recipe, run.optimizer, run.loader
    optimizer.load_state_dict(ck["optimizer"])
    for g, wd in zip(optimizer.param_groups, (recipe.weight_decay, 0.0)):
        g["weight_decay"] = wd  # a changed --weight-decay applies on resume too
    if ck.get("scaler") and run.scaler.is_enabled():
        run.scaler.load_state_dict(ck["scaler"])
    loader.load_state_dict(ck["data"])
    run.step, run.samples = int(ck["step"]), int(ck["samples"])
    run.train_seconds = float((ck.get("scheduler") or {}).get("train_seconds", 0.0))
    ckpt_mod.restore_rng_state(ck["rng"])
    run.say(f"[train] resumed {run.ckpt_path} at step {run.step:,} ({run.samples:,} samples)")
    if run.cfg.sgf:
        epoch, game = divmod(loader.cfg.start_key, loader.plan.games)
        run.say(f"[train] the SGF stream restarts at game {game:,} of epoch {epoch} (the oldest game with "
                "positions not yet used at the checkpoint): no position is lost, those of later games already "
                "used are seen again, and the shuffle and symmetries are drawn afresh")


def _describe(run: Run) -> None:
    """The run's network, device and recipe, in two log lines."""
    cfg, recipe, model_config, total_steps = run.cfg, run.recipe, run.model_config, run.total_steps
    n_params = sum(p.numel() for p in run.params)
    run.say(f"[train] {model_config['name']} k={model_config['filters']} layers={model_config['layers']} "
            f"planes={model_config['planes']} ({n_params:,} parameters) on {run.dev.describe()}, "
            f"world {run.world}{', torch.compile' if cfg.compile else ''}")
    length = (f"{total_steps:,} steps = {total_steps * recipe.batch_size:,} samples" if total_steps
              else "until the time limit")
    limit = f", stop by {cfg.time_limit:g} min" if cfg.time_limit else ""
    run.say(f"[train] recipe {recipe.name}: batch {recipe.batch_size}, {recipe.optimizer}"
            f"{' nesterov' if recipe.optimizer == 'sgd' and recipe.nesterov and recipe.momentum else ''}"
            f"{' momentum %g' % recipe.momentum if recipe.optimizer == 'sgd' and recipe.momentum else ''} "
            f"lr {recipe.lr:g} ({recipe.schedule}), wd {recipe.weight_decay:g}, clip {recipe.grad_clip}, "
            f"{length}{limit}")
