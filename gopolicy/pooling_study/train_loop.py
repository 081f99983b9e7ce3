"""A small, deterministic training loop shared by both tasks, and progress/ETA.

Matched training: for a given seed every variant sees the same examples in the
same order (the shuffling generator depends only on the seed), with the same
optimizer, learning rate, batch size and number of epochs.
"""
from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from gopolicy.net.device import DeviceConfig, autocast
from gopolicy.progress import format_duration


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    seconds: float                       # training time of this epoch (evaluation excluded)
    metrics: dict = field(default_factory=dict)


def to_float(x: torch.Tensor, cfg: DeviceConfig) -> torch.Tensor:
    x = x.to(cfg.device).float()
    if cfg.channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


@torch.no_grad()
def predict_logits(model: torch.nn.Module, x, cfg: DeviceConfig, batch_size: int = 500) -> torch.Tensor:
    """Logits (float32, on the CPU) of ``model`` for every row of ``x`` (numpy or torch)."""
    was = model.training
    model.eval()
    xt = torch.as_tensor(x)
    outs = []
    for i in range(0, len(xt), batch_size):
        with autocast(cfg):
            outs.append(model(to_float(xt[i:i + batch_size], cfg)).float().cpu())
    model.train(was)
    return torch.cat(outs) if outs else torch.zeros(0)


def fit(model: torch.nn.Module, x_train, y_train, *, epochs: int, batch_size: int, lr: float,
        seed: int, cfg: DeviceConfig, evaluate: Callable[[torch.nn.Module], dict] | None = None,
        augment: Callable | None = None, on_epoch: Callable[[EpochStats], None] | None = None,
        weight_decay: float = 0.0) -> list[EpochStats]:
    """Train with Adam on (x_train, y_train); ``evaluate(model)`` after every epoch.

    ``augment(xb, yb, generator) -> (xb, yb)`` transforms a batch (Go: board
    symmetries); it draws from the same seeded generator as the shuffling.
    """
    x = torch.as_tensor(x_train)
    y = torch.as_tensor(y_train, dtype=torch.long)
    model = cfg.prepare_model(model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(10_007 * seed + 1)
    history = []
    n = len(y)
    steps = max(1, math.ceil(n / batch_size))
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        total, count = 0.0, 0
        for s in range(steps):
            idx = order[s * batch_size:(s + 1) * batch_size]
            if len(idx) == 0:
                continue
            xb, yb = x[idx], y[idx]
            if augment is not None:
                xb, yb = augment(xb, yb, gen)
            xb = to_float(xb, cfg)
            yb = yb.to(cfg.device)
            with autocast(cfg):
                loss = F.cross_entropy(model(xb).float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        seconds = time.perf_counter() - t0
        stats = EpochStats(epoch, total / max(count, 1), seconds, evaluate(model) if evaluate else {})
        history.append(stats)
        if on_epoch:
            on_epoch(stats)
    return history


class Progress:
    """Progress lines on stderr with an ETA.

    Work is measured in planned seconds (each variant's cost per example is
    timed on this machine before training, see study._calibrate); the ETA
    scales what is left by how the real time compares with the plan so far,
    so it also adapts to how busy the machine is.
    """

    def __init__(self, total_units: float, stream=None, enabled: bool = True):
        self.total = max(float(total_units), 1e-9)
        self.done = 0.0
        self.start = time.perf_counter()
        self.stream = stream or sys.stderr
        self.enabled = enabled

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def eta(self) -> float | None:
        if self.done <= 0:
            return None
        return self.elapsed() / self.done * max(self.total - self.done, 0.0)

    def advance(self, units: float) -> None:
        self.done += units

    def log(self, msg: str) -> None:
        if not self.enabled:
            return
        eta = self.eta()
        print(f"[pooling-study {format_duration(self.elapsed())}] {msg}"
              + (f"  ETA {format_duration(eta)}" if eta is not None else ""), file=self.stream, flush=True)


def set_seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2 ** 32))
