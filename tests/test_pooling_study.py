"""The pooling study: matched model pairs, the pixel-shift evaluation, Go data and
metrics, the generated report, and a tiny end-to-end run (CLI)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gopolicy.pooling_study import go_task, report, shifts
from gopolicy.pooling_study.variants import go_variants, image_variants

PNG = b"\x89PNG\r\n\x1a\n"


def conv_signature(model: nn.Module):
    return [(c.in_channels, c.out_channels, c.kernel_size, c.padding)
            for c in model.modules() if isinstance(c, nn.Conv2d)]


# ---------------------------------------------------------------- model pairs

def test_image_variants_share_the_conv_stack():
    vs = {v.name: v.build() for v in image_variants(["maxpool-fc", "none-fc", "none-gap", "stride-fc"],
                                                    channels=(8, 16))}
    sigs = {n: conv_signature(m) for n, m in vs.items()}
    assert sigs["maxpool-fc"] == sigs["none-fc"] == sigs["none-gap"] == sigs["stride-fc"]
    assert len(sigs["maxpool-fc"]) == 2 and sigs["maxpool-fc"][1][:2] == (8, 16)

    def count(m, cls):
        return sum(isinstance(x, cls) for x in m.modules())

    assert count(vs["maxpool-fc"], nn.MaxPool2d) == 2
    for n in ("none-fc", "none-gap", "stride-fc"):
        assert count(vs[n], nn.MaxPool2d) == 0
    assert all(c.stride == (1, 1) for n in ("maxpool-fc", "none-fc", "none-gap")
               for c in vs[n].modules() if isinstance(c, nn.Conv2d))
    assert all(c.stride == (2, 2) for c in vs["stride-fc"].modules() if isinstance(c, nn.Conv2d))
    assert count(vs["none-gap"], nn.AdaptiveAvgPool2d) == 1
    x = torch.rand(3, 1, 28, 28)
    for m in vs.values():
        assert m(x).shape == (3, 10)
    # the unpooled FC head sees the full 28x28 map: 16*28*28 inputs vs 16*7*7 after two pools
    fc = {n: [mod for mod in m.modules() if isinstance(mod, nn.Linear)][-1].in_features for n, m in vs.items()}
    assert fc == {"maxpool-fc": 16 * 7 * 7, "none-fc": 16 * 28 * 28, "none-gap": 16, "stride-fc": 16 * 7 * 7}


def test_generic_pool_nopool_pair_and_bad_names():
    pool, nopool = [v.build() for v in image_variants(["pool", "nopool"], model="lenet")]
    assert conv_signature(pool) == conv_signature(nopool)
    assert any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in pool.modules())
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in nopool.modules())
    with pytest.raises(ValueError, match="unknown image variant"):
        image_variants(["maxpool-xx"])
    with pytest.raises(ValueError, match="unknown Go variant"):
        go_variants(["alphazero"])


def test_go_variants_same_body_convs_pools_where_asked():
    vs = {v.name: v.build() for v in go_variants(["alphago", "pooled-upsample", "pooled-fc"], planes=48,
                                                 filters=16, layers=5, pool_after=(1, 3))}
    body = {n: conv_signature(m.body) for n, m in vs.items()}
    assert body["alphago"] == body["pooled-upsample"] == body["pooled-fc"]
    assert body["alphago"][0] == (48, 16, (5, 5), (2, 2)) and len(body["alphago"]) == 4
    assert not any(isinstance(m, nn.MaxPool2d) for m in vs["alphago"].modules())
    x = torch.rand(2, 48, 19, 19)
    sizes = {}
    for n, m in vs.items():
        assert m(x).shape == (2, 361)
        sizes[n] = m.body(x).shape[-1]
    assert sizes == {"alphago": 19, "pooled-upsample": 5, "pooled-fc": 5}   # 19 -> 10 -> 5
    # pools follow exactly conv layers 1 and 3
    seq = [type(m).__name__ for m in vs["pooled-fc"].body]
    convs_before_pool = [seq[:i].count("Conv2d") for i, t in enumerate(seq) if t == "MaxPool2d"]
    assert convs_before_pool == [1, 3]


# ---------------------------------------------------------------- shifts

@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("dy, dx", shifts.DIRECTIONS)
def test_shift_moves_a_lit_pixel_by_k(k, dy, dx):
    x = np.zeros((2, 1, 12, 12), np.float32)
    x[:, 0, 5, 6] = 1.0
    for arr in (x, torch.from_numpy(x)):
        out = np.asarray(shifts.shift_images(arr, k * dy, k * dx))
        assert out.shape == x.shape
        lit = np.argwhere(out[0, 0] == 1.0)
        assert lit.tolist() == [[5 + k * dy, 6 + k * dx]]
        assert out.sum() == 2.0


def test_shift_zero_fill_and_out_of_frame():
    x = np.ones((1, 1, 6, 6), np.float32)
    out = shifts.shift_images(x, 0, 2)
    assert (out[..., :, :2] == 0).all() and (out[..., :, 2:] == 1).all()
    out = shifts.shift_images(x, -3, 0)
    assert (out[..., 3:, :] == 0).all() and (out[..., :3, :] == 1).all()
    assert shifts.shift_images(x, 6, 0).sum() == 0
    np.testing.assert_array_equal(shifts.shift_images(x, 0, 0), x)
    assert x.sum() == 36  # the input is not modified


def test_shift_accuracy_averages_directions_and_loses_what_leaves_the_frame():
    x = np.zeros((4, 1, 10, 10), np.float32)
    x[:, 0, 5, 8] = 1.0                         # one column from the right edge
    y = np.zeros(4, np.int64)

    def any_ink(batch):                          # "class 0" as long as the pixel is in the frame
        return np.where(np.asarray(batch).reshape(len(batch), -1).max(1) > 0, 0, 1)

    def exact_place(batch):                      # "class 0" only if the pixel has not moved
        return np.where(np.asarray(batch)[:, 0, 5, 8] > 0, 0, 1)

    acc = shifts.shift_accuracy(any_ink, x, y, shifts=(0, 1, 2, 3))
    assert acc == {0: 1.0, 1: 1.0, 2: 0.75, 3: 0.75}    # right shift by >=2 pushes it out
    acc = shifts.shift_accuracy(exact_place, x, y, shifts=(0, 1))
    assert acc == {0: 1.0, 1: 0.0}


# ---------------------------------------------------------------- Go metrics and data

def test_move_metrics_exact_near_far_occupied():
    n = 4
    targets = torch.tensor([0 * 19 + 0, 5 * 19 + 5, 10 * 19 + 10, 3 * 19 + 3])
    preds = [0 * 19 + 0, 6 * 19 + 4, 13 * 19 + 10, 3 * 19 + 4]     # exact, diagonal neighbour, 3 away, 1 away
    logits = -1e-3 * torch.arange(361.0).repeat(n, 1)              # distinct: top-5 = pred, 300, 0, 1, 2
    logits[torch.arange(n), torch.tensor(preds)] = 5.0
    logits[:, 300] = 1.0
    planes = np.zeros((n, 2, 19, 19), np.uint8)
    planes[2, 1, 13, 10] = 1                                        # position 2 predicts on a stone
    m = go_task.move_metrics(logits, targets, planes, 19)
    assert m["top1"] == 0.25 and m["near"] == 0.5 and m["within1"] == 0.75
    assert m["occupied"] == 0.25 and m["miss_dist"] == pytest.approx((1 + 3 + 1) / 3)
    assert m["top5"] == 0.25


def test_symmetry_augment_moves_targets_with_the_board():
    rng = np.random.default_rng(0)
    y = torch.from_numpy(rng.integers(0, 361, 64))
    x = torch.zeros(64, 3, 19, 19, dtype=torch.uint8)
    x[torch.arange(64), 1, y // 19, y % 19] = 1                     # plane 1 marks the target point
    xa, ya = go_task.symmetry_augment(19)(x, y, torch.Generator().manual_seed(1))
    lit = xa[:, 1].reshape(64, -1).argmax(1)
    assert torch.equal(lit, ya)
    assert not torch.equal(ya, y)                                   # some were transformed
    assert x[torch.arange(64), 1, y // 19, y % 19].all()            # input untouched


def test_load_go_from_sgf_splits_by_game(shipped_sgf_dir):
    data = go_task.load_go([shipped_sgf_dir], max_games=4, max_positions=150, max_test=60, log=lambda m: None)
    assert data.x_train.shape[1:] == (48, 19, 19) and data.x_train.dtype == np.uint8
    assert len(data.y_train) == 150 and 0 < len(data.y_test) <= 60
    assert data.train_games + data.test_games == 4 and data.test_games >= 1
    assert data.y_train.max() < 361
    # the move played is on an empty point: plane 2 ("empty") is set there
    assert data.x_train[np.arange(150), 2, data.y_train // 19, data.y_train % 19].all()
    again = go_task.load_go([shipped_sgf_dir], max_games=4, max_positions=150, max_test=60, log=lambda m: None)
    np.testing.assert_array_equal(again.y_test, data.y_test)


def test_load_go_from_prepared_shards(tmp_path):
    from gopolicy.corpus.packing import pack_planes
    from gopolicy.corpus.shard_format import META_DTYPE

    rng = np.random.default_rng(0)
    splits = {}
    for split, n in (("train", 30), ("test", 12)):
        planes = rng.integers(0, 2, (n, 48, 19, 19), dtype=np.uint8)
        meta = np.zeros(n, META_DTYPE)
        meta["target"] = rng.integers(0, 361, n)
        meta["game"] = np.arange(n) // 6
        name = f"{split}-00000"
        np.save(tmp_path / f"{name}.planes.npy", pack_planes(planes))
        np.save(tmp_path / f"{name}.meta.npy", meta)
        splits[split] = {"positions": n, "games": n // 6,
                         "shards": [{"name": name, "positions": n, "games": n // 6}]}
        if split == "test":
            test_planes, test_meta = planes, meta
    (tmp_path / "manifest.json").write_text(json.dumps({
        "format": "gopolicy-shards", "version": 1, "num_planes": 48, "board_size": 19, "packed_bytes": 2166,
        "sources": ["x"], "splits": splits, "complete": True}))
    data = go_task.load_go([tmp_path], planes=12, max_positions=20)
    assert data.x_train.shape == (20, 12, 19, 19) and len(data.y_test) == 12
    np.testing.assert_array_equal(data.x_test, test_planes[:, :12])
    np.testing.assert_array_equal(data.y_test, test_meta["target"])


# ---------------------------------------------------------------- report text

def fake_results(pool_shift4: float, go_pooled_top1: float) -> dict:
    rows = []
    for seed in (0, 1):
        for name, acc, s4, macs in (("maxpool-fc", 0.97, pool_shift4, 1e6), ("none-fc", 0.97, 0.35, 4e6)):
            rows.append(dict(task="images", dataset="mnist", variant=name, label=name, seed=seed, model="simple_cnn",
                             params=20000 if name == "maxpool-fc" else 250000, macs=macs, epochs=3,
                             train_examples=1000, test_examples=2000, train_seconds=3.0, seconds_per_epoch=1.0,
                             train_loss=0.1, acc=acc + 0.001 * seed, shift1_acc=acc - 0.01, shift2_acc=acc - 0.1,
                             shift3_acc=(acc + s4) / 2, shift4_acc=s4 + 0.001 * seed))
        for name, top1 in (("alphago", 0.27), ("pooled-upsample", go_pooled_top1)):
            rows.append(dict(task="go", dataset="go", variant=name, label=name, seed=seed, model="m", params=1000,
                             macs=1e7, epochs=8, train_examples=2000, test_examples=600, train_seconds=8.0,
                             seconds_per_epoch=1.0, train_loss=3.5, top1=top1, top5=0.5, near=0.22 if name != "alphago" else 0.1,
                             within1=top1 + 0.2, occupied=0.4 if name != "alphago" else 0.0, miss_dist=3.0))
    cfg = dict(seeds=2, first_seed=0, shifts=[0, 1, 2, 3, 4], image_model="simple_cnn", channels=[16, 32],
               image_epochs=3, image_batch=64, image_lr=1e-3, go_layers=6, go_filters=32, go_epochs=8, go_batch=64,
               go_lr=1e-3, go_pool_after=[1, 3], budget="default")
    return dict(config=cfg, rows=rows, history=[], plots=[], wall_seconds=1.0, environment={},
                images=[dict(name="mnist", source="test", train=1000, test=2000, size=28, classes=10)],
                go=dict(source="test", train=2000, test=600, planes=48))


def test_report_text_follows_the_numbers():
    robust = report.render(fake_results(pool_shift4=0.60, go_pooled_top1=0.05))
    fragile = report.render(fake_results(pool_shift4=0.20, go_pooled_top1=0.26))
    assert "| `maxpool-fc`" in robust and "97.0 ± 0.1" in robust          # table with mean ± std
    assert "lecture's claim in numbers" in robust and "lecture's claim in numbers" not in fragile
    assert "*more* shift-robust" in fragile
    assert "27.0%" in robust and "5.0%" in robust
    assert "gets 5.0%: 22.0 points lower than without pooling" in robust    # 27.0 vs 5.0 top-1
    assert "within noise" in fragile and "Caveat" in fragile and "Caveat" not in robust
    assert "knows roughly *where*" in robust


# ---------------------------------------------------------------- end to end

def _toy_npz(path: Path, n_train=160, n_test=60, seed=0):
    """A learnable toy: class = which quadrant holds a bright 5x5 square."""
    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 4, n)
        x = np.zeros((n, 16, 16), np.uint8)
        for i, c in enumerate(y):
            r, col = 2 + 8 * (c // 2) + rng.integers(0, 2), 2 + 8 * (c % 2) + rng.integers(0, 2)
            x[i, r:r + 5, col:col + 5] = 255
        return x, y

    (xtr, ytr), (xte, yte) = make(n_train), make(n_test)
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    return path


@pytest.mark.slow
def test_tiny_study_end_to_end_cli(tmp_path, shipped_sgf_dir):
    from gopolicy.cli import main

    npz = _toy_npz(tmp_path / "toy.npz")
    out = tmp_path / "out"
    args = ["pooling-study", "--budget", "tiny", "--images", str(npz), "--go", str(shipped_sgf_dir),
            "--go-max-games", "3", "--go-max-positions", "120", "--go-max-test", "40", "--seeds", "2",
            "--threads", "1", "--out", str(out)]
    assert main(args) == 0
    text = (out / "report.md").read_text()
    assert "## Images: toy" in text and "## Go: move prediction" in text and "How to explain this" in text
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == (4 + 3) * 2
    assert {r["variant"] for r in rows if r["task"] == "images"} == {"maxpool-fc", "none-fc", "none-gap", "stride-fc"}
    for r in rows:
        if r["task"] == "images":
            assert 0 <= float(r["acc"]) <= 1 and r["shift4_acc"] != ""
        else:
            assert 0 <= float(r["top1"]) <= float(r["within1"]) <= 1
        assert int(r["params"]) > 0 and int(r["macs"]) > 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["go_example_policy.png", "go_top1.png", "images_accuracy_per_epoch.png", "images_shift.png"]
    for p in out.glob("*.png"):
        assert p.read_bytes()[:8] == PNG and p.stat().st_size > 2000
        assert f"]({p.name})" in text
    assert json.loads((out / "config.json").read_text())["config"]["budget"] == "tiny"

    # repeatable: the same command gives the same measurements (times aside)
    out2 = tmp_path / "out2"
    assert main(args[:-1] + [str(out2), "--no-plots", "--quiet"]) == 0
    rows2 = list(csv.DictReader(open(out2 / "results.csv")))
    timing = {"train_seconds", "seconds_per_epoch"}
    assert [{k: v for k, v in r.items() if k not in timing} for r in rows] == \
           [{k: v for k, v in r.items() if k not in timing} for r in rows2]


def test_cli_errors_are_clean(tmp_path, capsys):
    from gopolicy.cli import main

    assert main(["pooling-study", "--images", "nonexistent-set", "--go", "none", "--out", str(tmp_path)]) == 2
    assert "unknown image data set" in capsys.readouterr().err
    assert main(["pooling-study", "--images", "none", "--go", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_threads_follow_the_idle_cores(monkeypatch):
    from gopolicy.pooling_study import study

    monkeypatch.setattr(study.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(study.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert study._threads(0) == 2       # quiet 2-core machine: both cores
    monkeypatch.setattr(study.os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert study._threads(0) == 1       # a match on one core: one thread
    monkeypatch.setattr(study.os, "getloadavg", lambda: (5.0, 5.0, 5.0))
    assert study._threads(0) == 1       # overloaded: never below one
    assert study._threads(3) == 3       # asked for: as asked
