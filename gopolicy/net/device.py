"""The one place that decides device and numeric precision.

``select_device("auto")`` picks CUDA when present, else the CPU, and the
fastest precision that trains this network correctly there:

* CUDA: bf16 autocast where the GPU supports it (Ampere and later), else fp16
  autocast with a ``GradScaler``; channels_last; pinned host memory and
  non-blocking copies; ``cudnn.benchmark``.
* CPU: channels_last (oneDNN); for training, bf16 autocast when the CPU runs
  bf16 convolutions natively (AMX / AVX512-BF16; probed once with a tiny conv),
  else fp32. For inference (``inference=True``: the engine, matches, the env)
  "auto" is fp32 on every CPU, so that the same position gives the same move on
  every machine: bf16 changed the bundled network's move in 3 of 400 held-out
  positions for 0.7 ms a move (``scripts/precision_check.py``, Xeon with AMX).

``--device cpu|cuda|cuda:N|auto`` and ``--precision auto|fp32|bf16|fp16``
override the choice. Everything else (training, evaluation, benchmarks, the GTP
engine) asks this module instead of testing ``torch.cuda.is_available()``.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class DeviceConfig:
    device: torch.device
    amp_dtype: torch.dtype | None  # None = fp32, no autocast
    channels_last: bool
    pin_memory: bool
    non_blocking: bool
    use_scaler: bool                # fp16 autocast needs loss scaling

    @property
    def type(self) -> str:
        return self.device.type

    @property
    def precision(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.amp_dtype]

    def describe(self) -> str:
        extra = []
        if self.channels_last:
            extra.append("channels_last")
        if self.use_scaler:
            extra.append("GradScaler")
        name = str(self.device)
        if self.device.type == "cuda":
            name += f" ({torch.cuda.get_device_name(self.device)})"
        return f"{name}, {self.precision}" + (", " + ", ".join(extra) if extra else "")

    # -- helpers used by the training / evaluation code --------------------
    def to_input(self, x: torch.Tensor) -> torch.Tensor:
        """Move a batch to the device in the layout the model runs in."""
        x = x.to(self.device, non_blocking=self.non_blocking)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def prepare_model(self, model: torch.nn.Module) -> torch.nn.Module:
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model


@functools.lru_cache(maxsize=None)
def cpu_supports_bf16() -> bool:
    """True when the CPU runs bf16 convolutions natively (and so faster than fp32).

    Checks the oneDNN ISA hints (AMX tiles, AVX512-BF16) and then really runs a
    tiny bf16 convolution, so an odd build that lacks the kernels falls back to
    fp32 instead of crashing later.
    """
    native = False
    try:
        if getattr(torch.cpu, "_is_amx_tile_supported", None) and torch.cpu._is_amx_tile_supported():
            native = True
        elif getattr(torch.cpu, "_is_avx512_bf16_supported", None) and torch.cpu._is_avx512_bf16_supported():
            native = True
    except Exception:  # pragma: no cover - private API moved
        native = False
    if not native or not torch.backends.mkldnn.is_available():
        return False
    try:
        conv = torch.nn.Conv2d(4, 4, 3, padding=1)
        x = torch.ones(1, 4, 5, 5)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = conv(x)
        return y.dtype == torch.bfloat16 and bool(torch.isfinite(y.float()).all())
    except Exception:
        return False


def _cuda_bf16(device: torch.device) -> bool:
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # older torch
        return torch.cuda.is_bf16_supported()


def parse_device(requested: str | None) -> torch.device:
    req = (requested or "auto").strip().lower()
    if req == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if req == "cpu":
        return torch.device("cpu")
    if req == "cuda" or req.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {requested}: CUDA is not available in this torch build/machine "
                             f"(torch {torch.__version__}); use --device cpu or auto")
        dev = torch.device(req)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"--device {requested}: only {torch.cuda.device_count()} CUDA device(s)")
        if dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
        return dev
    if req == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ValueError("--device mps: MPS is not available")
        return torch.device("mps")
    raise ValueError(f"unknown device {requested!r}: expected cpu, cuda, cuda:N or auto")


def select_device(requested: str | None = None, precision: str | None = "auto",
                  inference: bool = False) -> DeviceConfig:
    """Device and precision for ``requested`` (``None``/"auto", "cpu", "cuda", "cuda:N").

    ``precision`` "auto" picks the fastest safe one (see the module docstring; with
    ``inference`` on a CPU, fp32: the same moves on every CPU);
    "fp32", "bf16" or "fp16" force it (fp16 on the CPU is refused: no speed-up
    and no loss scaling there).
    """
    device = parse_device(requested)
    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        if precision == "auto":
            amp = torch.bfloat16 if _cuda_bf16(device) else torch.float16
        else:
            amp = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        return DeviceConfig(device, amp, channels_last=True, pin_memory=True, non_blocking=True,
                            use_scaler=amp is torch.float16)
    if device.type == "cpu":
        if precision == "fp16":
            raise ValueError("fp16 autocast is not supported on the CPU; use bf16 or fp32")
        if precision == "auto":
            amp = torch.bfloat16 if cpu_supports_bf16() and not inference else None
        else:
            amp = torch.bfloat16 if precision == "bf16" else None
        # channels_last lets oneDNN pick its blocked conv kernels in fp32 as in
        # bf16: measured on an AVX-512 Xeon without AMX, k=64 training 102 -> 160
        # samples/s and k=48 batch-1 inference 7.7 -> 3.1 ms.
        return DeviceConfig(device, amp, channels_last=torch.backends.mkldnn.is_available(), pin_memory=False,
                            non_blocking=False, use_scaler=False)
    # mps: fp32, plain layout
    amp = None if precision in ("auto", "fp32") else {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    return DeviceConfig(device, amp, channels_last=False, pin_memory=False, non_blocking=False,
                        use_scaler=False)


def autocast(cfg: DeviceConfig):
    """Autocast context for ``cfg`` (a no-op context for fp32)."""
    if cfg.amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=cfg.device.type, dtype=cfg.amp_dtype)


def make_grad_scaler(cfg: DeviceConfig):
    """A GradScaler when fp16 needs one, else a disabled one (same API either way)."""
    return torch.amp.GradScaler(cfg.device.type, enabled=cfg.use_scaler)
