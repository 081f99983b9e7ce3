"""gopolicy.net.device: one place decides device and precision."""
import pytest
import torch

from gopolicy.net import device as devmod
from gopolicy.net.device import autocast, select_device


def test_cpu_auto_follows_bf16_support():
    cfg = select_device("cpu")
    assert cfg.device == torch.device("cpu")
    assert not cfg.pin_memory and not cfg.non_blocking and not cfg.use_scaler
    assert cfg.channels_last == torch.backends.mkldnn.is_available()
    if devmod.cpu_supports_bf16():
        assert cfg.amp_dtype is torch.bfloat16
    else:
        assert cfg.amp_dtype is None


@pytest.mark.parametrize("native_bf16", [True, False])
def test_cpu_inference_auto_is_fp32_on_every_cpu(monkeypatch, native_bf16):
    # the engine's moves must not depend on the CPU: training may take bf16, inference not
    monkeypatch.setattr(devmod, "cpu_supports_bf16", lambda: native_bf16)
    assert select_device("cpu", "auto", inference=True).amp_dtype is None
    assert select_device("cpu", "auto").amp_dtype is (torch.bfloat16 if native_bf16 else None)
    assert select_device("cpu", "bf16", inference=True).amp_dtype is torch.bfloat16


def test_cpu_without_bf16_falls_back_to_fp32(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    devmod.cpu_supports_bf16.cache_clear()
    try:
        cfg = select_device("cpu")
        assert cfg.amp_dtype is None and cfg.precision == "fp32"
    finally:
        devmod.cpu_supports_bf16.cache_clear()


def test_precision_override_and_autocast():
    conv = torch.nn.Conv2d(2, 2, 3, padding=1)
    x = torch.ones(1, 2, 5, 5)
    fp32 = select_device("cpu", "fp32")
    assert fp32.amp_dtype is None
    with autocast(fp32):
        assert conv(x).dtype == torch.float32
    bf16 = select_device("cpu", "bf16")
    assert bf16.amp_dtype is torch.bfloat16
    with autocast(bf16):
        assert conv(x).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="fp16"):
        select_device("cpu", "fp16")
    with pytest.raises(ValueError, match="precision"):
        select_device("cpu", "fp8")


def test_device_override_errors_and_auto(monkeypatch):
    with pytest.raises(ValueError, match="unknown device"):
        select_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto").device.type == "cpu"
    assert select_device(None).device.type == "cpu"
    with pytest.raises(ValueError, match="CUDA is not available"):
        select_device("cuda:0")


@pytest.mark.parametrize("bf16_ok", [True, False])
def test_cuda_branch(monkeypatch, bf16_ok):
    # the CUDA decision logic, without a GPU: pretend one is there
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(devmod, "_cuda_bf16", lambda d: bf16_ok)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    cfg = select_device("cuda:1")
    assert cfg.device == torch.device("cuda", 1)
    assert cfg.channels_last and cfg.pin_memory and cfg.non_blocking
    assert torch.backends.cudnn.benchmark is True
    if bf16_ok:
        assert cfg.amp_dtype is torch.bfloat16 and not cfg.use_scaler
    else:
        assert cfg.amp_dtype is torch.float16 and cfg.use_scaler
    assert select_device("auto").device.type == "cuda"
    assert select_device("cuda", "fp32").amp_dtype is None
    with pytest.raises(ValueError, match="only 2"):
        select_device("cuda:5")
