"""What a training run is asked to do (``gopolicy train`` flags), how a
resumed run's stored settings merge with the flags given again, and how a
checkpoint's network meets the architecture flags."""
from __future__ import annotations

from dataclasses import dataclass, field

from gopolicy.net.architecture import DEFAULT_FILTERS, DEFAULT_LAYERS, DEFAULT_PLANES, MODEL_NAME
from gopolicy.training import recipes


@dataclass
class TrainConfig:
    data: str | None = None          # prepared shard directory (or None with sgf)
    out: str = ""
    sgf: list | None = None          # SGF files, folders, archives streamed (train --sgf)
    recipe: str = "fast"
    split: str = "train"
    val_split: str = "val"
    model: str = MODEL_NAME
    filters: int = DEFAULT_FILTERS
    layers: int = DEFAULT_LAYERS
    planes: int = DEFAULT_PLANES
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
    time_limit: float | None = None  # minutes of the whole run (all sessions): stop cleanly then
    log_every: int = 50
    eval_every: int = 1000
    eval_positions: int = 4096
    ckpt_every: int = 1000
    ckpt_minutes: float = 1.0        # also checkpoint when this much time passed (a kill loses at most that)
    # data feeding
    workers: int | None = None       # loader processes (None: cores - 1 for --sgf, 0 for shards)
    shuffle: int | None = None       # --sgf: shuffle buffer positions per worker
    val_fraction: float = 0.01       # --sgf: held-out shares by game hash, as prepare's
    test_fraction: float = 0.01
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
    # where the data is read from is given anew each time, never taken from a checkpoint
    NOT_STORED = ("data", "sgf", "out", "resume", "workers")
    # the network's shape: a --resume / --init checkpoint's model_config decides it
    ARCHITECTURE = {"model": "name", "planes": "planes", "filters": "filters", "layers": "layers"}


def resolve_config(cfg: TrainConfig, stored: dict | None, explicit: set[str]):
    """Merge a resumed run's stored config with explicitly given flags.

    Order: recipe defaults < stored (resumed) config < flags given explicitly.
    Returns ``(cfg, recipe)``.
    """
    if stored:
        for k, v in stored.items():
            if k in TrainConfig.NOT_STORED or k not in TrainConfig.__dataclass_fields__:
                continue
            if k not in explicit:
                setattr(cfg, k, v)
    overrides = {k: getattr(cfg, k) for k in TrainConfig.RECIPE_FIELDS}
    recipe = recipes.get_recipe(cfg.recipe, **overrides)
    return cfg, recipe


def config_from_args(args) -> tuple[TrainConfig, set[str]]:
    """TrainConfig from parsed ``gopolicy train`` arguments, and the set of fields
    given explicitly (they win over a resumed checkpoint's stored config)."""
    fields = TrainConfig.__dataclass_fields__
    values = {k: getattr(args, k) for k in fields if k != "extra" and hasattr(args, k)}
    cfg = TrainConfig(**values)
    return cfg, set(values)


def take_architecture(cfg: TrainConfig, model_config: dict, explicit: set[str], where: str) -> str | None:
    """Set ``cfg``'s architecture fields to a checkpoint's ``model_config``.

    A field given explicitly with another value is refused (ValueError, one line:
    the checkpoint's weights fix the network, a flag cannot change it); ``where``
    names the checkpoint (``"--init PATH"``, ``"--resume PATH"``). Returns the log
    line for the values taken without being asked (None when all were given)."""
    remedy = ("pick another checkpoint" if where.startswith("--init")
              else "train a new run in another --out")
    taken = []
    for field_name, key in TrainConfig.ARCHITECTURE.items():
        stored = model_config[key]
        if field_name not in explicit:
            taken.append(f"{field_name} {stored}")
        elif getattr(cfg, field_name) != stored:
            flag = f"--{field_name}"
            raise ValueError(f"{flag} {getattr(cfg, field_name)} conflicts with the checkpoint's {stored} "
                             f"{field_name} ({where}): drop {flag} or {remedy}")
        setattr(cfg, field_name, stored)
    return f"[train] the network is the checkpoint's ({where}): {', '.join(taken)}" if taken else None
