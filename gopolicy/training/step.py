"""One optimizer step, and the guard against a diverging run."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gopolicy.corpus.batches import model_input
from gopolicy.net.device import autocast
from gopolicy.training import recipes

MAX_BAD_STEPS = 10  # consecutive non-finite steps before giving up


class TrainingDiverged(RuntimeError):
    """Loss or gradients stayed NaN/inf: the run diverged."""


@dataclass
class StepResult:
    loss: object      # scalar tensor (fp32)
    logits: object    # (B, points) detached
    grad_norm: object
    finite: bool


def train_step(run, batch, lr: float) -> StepResult:
    """Forward, backward, clip, update (skipped when the loss or gradients are not finite)."""
    recipe, opt, scaler = run.recipe, run.optimizer, run.scaler
    for g in opt.param_groups:
        g["lr"] = lr
    x = model_input(batch.x, run.dev.channels_last)
    with autocast(run.dev):
        logits = run.model(x)
    loss = F.cross_entropy(logits.float(), batch.target, label_smoothing=recipe.label_smoothing)
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    gnorm = torch.nn.utils.clip_grad_norm_(run.params, recipe.grad_clip if recipe.grad_clip else float("inf"))
    finite = bool(torch.isfinite(gnorm)) and bool(torch.isfinite(loss.detach()))
    if scaler.is_enabled():
        scaler.step(opt)  # skips the update itself on inf/NaN gradients
        scaler.update()
        finite = finite or bool(torch.isfinite(loss.detach()))  # an overflow is not divergence
    elif finite:
        opt.step()
    return StepResult(loss.detach(), logits.detach(), gnorm, finite)


class DivergenceGuard:
    """Counts non-finite steps; :class:`TrainingDiverged` after ``MAX_BAD_STEPS`` in a row."""

    def __init__(self, say):
        self.say, self.bad, self.skipped = say, 0, 0

    def check(self, res: StepResult, step: int, lr: float) -> None:
        if res.finite:
            self.bad = 0
            return
        self.bad += 1
        self.skipped += 1
        self.say(f"[train] step {step}: non-finite loss/gradients (loss {float(res.loss):.4g}, grad norm "
                 f"{float(res.grad_norm):.4g}); update skipped")
        if self.bad >= MAX_BAD_STEPS:
            raise TrainingDiverged(
                f"training diverged: {self.bad} consecutive steps with NaN/inf loss or gradients at step "
                f"{step} (lr {lr:g}). The plain ReLU network has no normalisation; lower --lr (safe peaks: "
                f"AdamW {recipes.DEFAULT_LR['adamw']:g}, Nesterov SGD {recipes.DEFAULT_LR['sgd']:g}), keep "
                f"--grad-clip, or --resume from the last checkpoint with a smaller --lr.")
