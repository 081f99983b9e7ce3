"""Host batch -> device tensors: unpacking, the symmetry of each row, targets.

Augmentation: each row carries one of the 8 board symmetries (chosen by the
loader); :func:`to_device` applies it to the planes and maps the target through
``symmetry.point_map``. Only the packed bytes travel to an accelerator (2.2 KB
a position for 48 planes), pinned and copied without blocking when asked;
unpacking (``gopolicy.corpus.packing.unpack_planes_torch``) runs there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gopolicy.corpus.packing import unpack_planes_nhwc, unpack_planes_torch
from gopolicy.go import symmetry


@dataclass
class Batch:
    x: "object"            # (B, planes, 19, 19) on the device: float32 channels_last on the CPU, else uint8
    target: "object"       # torch int64 (B,) on the device
    meta: np.ndarray       # host META_DTYPE rows (same order as x)
    sym: np.ndarray        # host symmetry per row (0 = identity)


_MAPS: dict[int, np.ndarray] = {}


def _point_maps(size: int) -> np.ndarray:
    if size not in _MAPS:
        _MAPS[size] = np.stack([symmetry.point_map(s, size) for s in range(symmetry.NUM_SYMMETRIES)])
    return _MAPS[size]


def model_input(x, channels_last: bool = False):
    """Batch planes -> the float tensor the model eats, in the memory format asked
    (a no-op for the CPU loader's float32 channels_last batches)."""
    import torch

    x = x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    return x.float()


def to_device(packed: np.ndarray, meta: np.ndarray, sym: np.ndarray | None, num_planes: int,
              device=None, *, board_size: int = 19, pin_memory: bool = False,
              non_blocking: bool = False, fused: bool | None = None) -> Batch:
    """Unpack (and augment) a host batch on ``device``.

    On the CPU (``device`` None or cpu; or ``fused=True``) one numba pass unpacks, applies each row's
    symmetry and writes float32 channels_last (``packing.unpack_planes_nhwc``);
    rows keep their order. Elsewhere only the packed bytes travel: the rows are
    regrouped by symmetry (stable, so a None/all-zero ``sym`` keeps the order),
    unpacked on the device and each group is transformed by one
    ``symmetry.apply_torch`` call. ``Batch.meta``/``Batch.sym`` follow the
    returned order; targets are mapped with ``symmetry.point_map``. ``fused=False``
    forces the device path (the tests run the GPU code this way on the CPU).
    """
    import torch

    target = meta["target"].astype(np.int64)
    if sym is None:
        sym = np.zeros(len(target), dtype=np.int64)
    if fused is None:
        fused = device is None or torch.device(device).type == "cpu"
    if fused:
        host = packed.numpy() if isinstance(packed, torch.Tensor) else packed
        x = unpack_planes_nhwc(host, num_planes, sym, board_size)
        if np.any(sym):
            target = _point_maps(board_size)[sym, target]
        return Batch(x, torch.from_numpy(target), meta, sym)
    counts = None
    if np.any(sym):
        if np.any(sym[1:] < sym[:-1]):  # worker batches arrive grouped already (group_by_symmetry)
            packed, meta, sym = group_by_symmetry(packed, meta, sym)
            target = meta["target"].astype(np.int64)
        target = _point_maps(board_size)[sym, target]
        counts = np.bincount(sym, minlength=symmetry.NUM_SYMMETRIES)
    t_packed = packed if isinstance(packed, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(packed))
    t_target = torch.from_numpy(target)
    if pin_memory:
        if not t_packed.is_pinned():  # a DataLoader with pin_memory pinned it in its thread
            t_packed = t_packed.pin_memory()
        t_target = t_target.pin_memory()
    if device is not None:
        t_packed = t_packed.to(device, non_blocking=non_blocking)
        t_target = t_target.to(device, non_blocking=non_blocking)
    x = unpack_planes_torch(t_packed, num_planes, board_size)
    if counts is not None:
        parts, start = [], 0
        for s, c in enumerate(counts.tolist()):
            if c:
                parts.append(symmetry.apply_torch(x[start:start + c], s))
                start += c
        x = torch.cat(parts) if len(parts) > 1 else parts[0].contiguous()
    return Batch(x, t_target, meta, sym)


def on_accelerator(device) -> bool:
    """True when batches go to a device other than the CPU (packed bytes travel, unpacked there)."""
    if device is None:
        return False
    import torch

    return torch.device(device).type != "cpu"


def group_by_symmetry(packed, meta: np.ndarray, sym: np.ndarray):
    """Rows reordered (stably) so that equal symmetries are adjacent: the device
    path then transforms each group with one call. Loader workers do this on
    their side so that the main process only pins and copies."""
    order = np.argsort(sym, kind="stable")
    return packed[order], meta[order], sym[order]
