"""Checkpoints: atomic, self-describing, and loadable with ``weights_only=True``.

A training checkpoint (``RUN_DIR/ckpt.pt``) is a dict::

    {"format": "gopolicy-checkpoint", "version": 1, "kind": "train",
     "model_config": {"name": "alphago_policy", "planes": 48, "filters": 192, "layers": 13, "board_size": 19},
     "model": state_dict, "optimizer": ..., "scheduler": {...}, "scaler": ..., "step": int, "samples": int,
     "data": loader state, "rng": {"torch": ByteTensor, "cuda": [...], "numpy": {...}, "python": [...]},
     "train_config": {...}, "metrics": {...}}

Only tensors, numbers, strings, lists and dicts are stored, so ``torch.load(...,
weights_only=True)`` reads it (no pickled code runs on load). ``export_weights``
writes the small ``kind: "weights"`` variant (model config + fp16 weights) that
ships as ``data/bundled/policy.pt``; :func:`load_model` accepts both.

Writes go to a temporary file in the same folder, are fsync'ed, then
``os.replace``d over the target: a crash (even ``kill -9``) leaves either the old
or the new checkpoint, never a torn one.
"""
from __future__ import annotations

import os
import random
import zipfile
from pathlib import Path

import numpy as np
import torch

FORMAT = "gopolicy-checkpoint"
VERSION = 1
MODEL_KEYS = ("name", "planes", "filters", "layers", "board_size")


class CheckpointError(Exception):
    """A file that is not a usable gopolicy checkpoint (foreign, truncated, corrupt)."""


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def atomic_save(obj, path) -> Path:
    """``torch.save`` to ``path`` atomically (tmp file + fsync + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:  # pragma: no cover - e.g. platforms without directory fsync
        pass
    return path


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DDP / torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, torch.nn.Module):
            model = model._orig_mod
        else:
            return model


def clean_state_dict(model: torch.nn.Module) -> dict:
    """A CPU state dict with no ``module.``/``_orig_mod.`` prefixes, plain contiguous layout."""
    sd = unwrap_model(model).state_dict()
    return {k: v.detach().to("cpu").contiguous() for k, v in sd.items()}


def capture_rng_state() -> dict:
    """torch, CUDA, numpy and python RNG states as tensors/lists (weights_only-safe)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": str(np_state[0]), "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": {"version": int(py_state[0]), "state": torch.tensor(py_state[1], dtype=torch.int64),
                   "gauss_next": py_state[2]},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def restore_rng_state(state: dict) -> None:
    if not state:
        return
    if "torch" in state:
        torch.set_rng_state(state["torch"].to(torch.uint8).cpu())
    if "numpy" in state:
        s = state["numpy"]
        np.random.set_state((s["name"], s["keys"].numpy().astype(np.uint32), int(s["pos"]), int(s["has_gauss"]),
                             float(s["cached_gaussian"])))
    if "python" in state:
        s = state["python"]
        random.setstate((int(s["version"]), tuple(int(v) for v in s["state"].tolist()), s["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        states = state["cuda"]
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([t.to(torch.uint8).cpu() for t in states])


def save_checkpoint(path, *, model: torch.nn.Module, model_config: dict, optimizer=None,
                    scheduler: dict | None = None, scaler=None, step: int = 0, samples: int = 0,
                    data_state: dict | None = None, train_config: dict | None = None,
                    metrics: dict | None = None, rng: bool = True) -> Path:
    """Write a training checkpoint atomically; see the module docstring for its content."""
    obj = {
        "format": FORMAT, "version": VERSION, "kind": "train",
        "model_config": _check_model_config(model_config),
        "model": clean_state_dict(model),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": dict(scheduler) if scheduler else None,
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "step": int(step), "samples": int(samples),
        "data": dict(data_state) if data_state else None,
        "rng": capture_rng_state() if rng else None,
        "train_config": dict(train_config) if train_config else None,
        "metrics": dict(metrics) if metrics else None,
        "torch_version": str(torch.__version__),
    }
    return atomic_save(obj, path)


def export_weights(ckpt, out_path, dtype: torch.dtype = torch.float16) -> Path:
    """A small weights-only file (model config + weights in ``dtype``) from a
    checkpoint path or a loaded checkpoint dict; :func:`load_model` reads it."""
    ck = load_checkpoint(ckpt) if not isinstance(ckpt, dict) else ckpt
    weights = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in ck["model"].items()}
    obj = {"format": FORMAT, "version": VERSION, "kind": "weights", "model_config": dict(ck["model_config"]),
           "model": weights, "step": int(ck.get("step", 0)), "samples": int(ck.get("samples", 0)),
           "dtype": str(dtype).replace("torch.", ""), "metrics": ck.get("metrics")}
    return atomic_save(obj, out_path)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def _check_model_config(cfg: dict) -> dict:
    cfg = dict(cfg)
    missing = [k for k in MODEL_KEYS if k not in cfg]
    if missing:
        raise ValueError(f"model_config lacks {missing}")
    return cfg


def load_checkpoint(path, map_location="cpu") -> dict:
    """Read a checkpoint or weights file with ``weights_only=True``.

    Raises :class:`CheckpointError` with "not a gopolicy checkpoint" for a
    foreign file and "truncated or corrupt" for a damaged one.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    with open(path, "rb") as f:
        head = f.read(4)
    if head != b"PK\x03\x04":  # torch.save's zip container
        raise CheckpointError(f"{path}: not a gopolicy checkpoint (not a torch zip archive"
                              + (", empty file)" if not head else ")"))
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint (incomplete zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            is_torch = any(n.endswith("data.pkl") for n in zf.namelist())
            bad = zf.testzip() if is_torch else None  # CRC of every member: catches bit rot
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({exc})") from exc
    if not is_torch:
        raise CheckpointError(f"{path}: not a gopolicy checkpoint (a zip archive, but not written by torch.save)")
    if bad is not None:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint (CRC mismatch in {bad})")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        msg = str(exc)
        if "Weights only load failed" in msg or "Unsupported global" in msg:
            raise CheckpointError(f"{path}: not a gopolicy checkpoint (it holds pickled objects that "
                                  f"weights_only loading refuses)") from exc
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({type(exc).__name__}: "
                              f"{msg.splitlines()[0] if msg else ''})") from exc
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a gopolicy checkpoint (no '{FORMAT}' marker)")
    if int(obj.get("version", -1)) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {obj.get('version')} is newer than this gopolicy reads")
    if not isinstance(obj.get("model"), dict) or not isinstance(obj.get("model_config"), dict):
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint (no model weights/config)")
    return obj


def build_model(model_config: dict) -> torch.nn.Module:
    """The network described by a checkpoint's ``model_config``."""
    import cnn_core

    cfg = dict(model_config)
    name = cfg.pop("name")
    return cnn_core.build_model(name, **cfg)


def load_model(path, device="cpu", dtype: torch.dtype | None = torch.float32):
    """``(model, model_config)`` from a training checkpoint or an exported weights
    file; the model is in eval mode on ``device`` (weights cast to ``dtype``)."""
    ck = load_checkpoint(path)
    cfg = dict(ck["model_config"])
    model = build_model(cfg)
    sd = ck["model"]
    if dtype is not None:
        sd = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items()}
    try:
        model.load_state_dict(sd)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit the model config {cfg}: {exc}") from exc
    model.to(device).eval()
    return model, cfg
