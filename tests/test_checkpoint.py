"""gopolicy.net.checkpoint: atomic, self-describing, weights_only-loadable checkpoints."""
import os
import random

import numpy as np
import pytest
import torch

from gopolicy.net import checkpoint as ck


class Foreign:  # a pickled class: weights_only loading must refuse it
    pass


CFG = {"name": "alphago_policy", "planes": 4, "filters": 8, "layers": 3, "board_size": 19}


def _trained(seed=0):
    torch.manual_seed(seed)
    model = ck.build_model(CFG)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.rand(2, 4, 19, 19)).logsumexp(1).sum().backward()
    opt.step()
    return model, opt


def test_roundtrip_model_optimizer_rng(tmp_path):
    model, opt = _trained()
    path = ck.save_checkpoint(tmp_path / "c.pt", model=model, model_config=CFG, optimizer=opt, step=7,
                              samples=112, data_state={"epoch": 1, "step": 3, "seed": 5},
                              scheduler={"schedule": "cosine"}, train_config={"lr": 0.1})
    draws = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    # plain weights_only load works: nothing but tensors and plain containers inside
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "gopolicy-checkpoint" and raw["step"] == 7 and raw["samples"] == 112
    obj = ck.load_checkpoint(path)
    assert obj["data"] == {"epoch": 1, "step": 3, "seed": 5}
    ck.restore_rng_state(obj["rng"])
    assert draws == (random.random(), float(np.random.rand()), float(torch.rand(1)))
    opt2 = torch.optim.SGD(ck.build_model(CFG).parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(obj["optimizer"])
    assert torch.equal(opt2.state_dict()["state"][0]["momentum_buffer"], opt.state_dict()["state"][0]["momentum_buffer"])
    loaded, cfg = ck.load_model(path)
    assert cfg == CFG and not loaded.training
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


def test_export_weights_is_small_and_loadable(tmp_path):
    model, opt = _trained()
    path = ck.save_checkpoint(tmp_path / "c.pt", model=model, model_config=CFG, optimizer=opt)
    out = ck.export_weights(path, tmp_path / "w.pt")
    assert os.path.getsize(out) < os.path.getsize(path)
    raw = torch.load(out, weights_only=True)
    assert raw["kind"] == "weights" and all(v.dtype == torch.float16 for v in raw["model"].values())
    loaded, cfg = ck.load_model(out)
    x = torch.rand(3, 4, 19, 19)
    assert cfg == CFG
    assert torch.allclose(loaded(x), model(x), atol=2e-2)


def test_atomic_write_keeps_old_file_on_crash(tmp_path, monkeypatch):
    model, opt = _trained()
    path = ck.save_checkpoint(tmp_path / "c.pt", model=model, model_config=CFG, step=1)
    before = path.read_bytes()

    def boom(obj, f, *a, **k):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        ck.save_checkpoint(path, model=model, model_config=CFG, step=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary left behind


def test_truncated_corrupt_and_foreign_files(tmp_path):
    model, _ = _trained()
    good = ck.save_checkpoint(tmp_path / "good.pt", model=model, model_config=CFG)
    data = good.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    (tmp_path / "flip.pt").write_bytes(bytes(flipped))
    (tmp_path / "text.pt").write_text("not a model")
    (tmp_path / "empty.pt").write_bytes(b"")
    torch.save(model.state_dict(), tmp_path / "bare.pt")   # a torch file, but not ours
    torch.save({"format": "gopolicy-checkpoint", "x": Foreign()}, tmp_path / "pickle.pt")
    for name in ("trunc.pt", "flip.pt"):
        with pytest.raises(ck.CheckpointError, match="truncated or corrupt"):
            ck.load_checkpoint(tmp_path / name)
    for name in ("text.pt", "empty.pt", "bare.pt", "pickle.pt"):
        with pytest.raises(ck.CheckpointError, match="not a gopolicy checkpoint"):
            ck.load_model(tmp_path / name)
    with pytest.raises(ck.CheckpointError, match="no such"):
        ck.load_checkpoint(tmp_path / "missing.pt")


def test_unwraps_compiled_and_ddp_prefixes(tmp_path):
    model, _ = _trained()

    class Wrapper(torch.nn.Module):  # what DDP looks like from outside
        def __init__(self, m):
            super().__init__()
            self.module = m

    path = ck.save_checkpoint(tmp_path / "c.pt", model=Wrapper(model), model_config=CFG)
    assert not any(k.startswith("module.") for k in ck.load_checkpoint(path)["model"])
    ck.load_model(path)


def test_default_architecture_is_written_once():
    """gopolicy's defaults (gopolicy.net.architecture) are cnn_core's builder defaults."""
    import importlib
    import inspect

    ag = importlib.import_module("cnn_core.models.alphago_policy")   # the package re-binds the name
    from gopolicy.net import architecture as arch
    from gopolicy.training.config import TrainConfig

    params = inspect.signature(ag.alphago_policy).parameters
    defaults = (params["filters"].default, params["layers"].default)
    assert defaults == (arch.DEFAULT_FILTERS, arch.DEFAULT_LAYERS)
    assert (ag.DEFAULT_FILTERS, ag.DEFAULT_LAYERS) == (arch.DEFAULT_FILTERS, arch.DEFAULT_LAYERS)
    assert params["planes"].default == arch.DEFAULT_PLANES and params["board_size"].default == arch.BOARD_SIZE
    cfg = TrainConfig()
    assert (cfg.model, cfg.planes, cfg.filters, cfg.layers) == (arch.MODEL_NAME, arch.DEFAULT_PLANES,
                                                                arch.DEFAULT_FILTERS, arch.DEFAULT_LAYERS)
    built = ck.build_model(arch.default_model_config())
    assert sum(p.numel() for p in built.parameters()) == 3_882_793   # k=192 (README)
