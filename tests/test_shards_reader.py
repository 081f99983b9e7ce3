"""gopolicy.corpus.shards (reader): trusted shards only, memmap gathers, symmetry
augmentation, disjoint ranks, deterministic resumable order."""
import json
import shutil

import numpy as np
import pytest
import torch

from gopolicy.corpus.packing import pack_planes, unpack_planes_np, unpack_planes_torch
from gopolicy.corpus.shard_format import META_DTYPE
from gopolicy.corpus.shards import (
    BlockOrder,
    FeistelPermutation,
    ShardError,
    ShardLoader,
    ShardSet,
    mix_key,
    to_device,
    write_synthetic_shards,
)
from gopolicy.go import symmetry


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_shards(tmp_path_factory.mktemp("shards"), train=300, val=40, shard_size=128, seed=3)


def _copy(data, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(data, dst)
    return dst


def test_reads_listed_shards_memmapped(data):
    s = ShardSet(data, "train")
    assert len(s) == 300 and [sh.name for sh in s.shards] == ["train-00000", "train-00001", "train-00002"]
    idx = np.array([0, 5, 127, 128, 299])
    packed, meta = s.gather(idx)
    assert isinstance(s.shards[0].planes, np.memmap)
    full = np.concatenate([np.load(data / f"train-0000{i}.planes.npy") for i in range(3)])
    fmeta = np.concatenate([np.load(data / f"train-0000{i}.meta.npy") for i in range(3)])
    assert np.array_equal(packed, full[idx]) and np.array_equal(meta, fmeta[idx])
    # unsorted request: rows come back in the caller's order
    p2, m2 = s.gather(idx[::-1])
    assert np.array_equal(p2, full[idx[::-1]]) and np.array_equal(m2["target"], fmeta["target"][idx[::-1]])
    assert len(ShardSet(data, "val")) == 40


def test_only_manifest_listed_and_size_checked(data, tmp_path):
    d = _copy(data, tmp_path)
    # a stray, unlisted shard is never read
    np.save(d / "train-00077.planes.npy", np.zeros((5, 2166), np.uint8))
    # a listed shard that is truncated (e.g. still being written) is skipped
    with open(d / "train-00001.planes.npy", "r+b") as f:
        f.truncate(1000)
    warnings = []
    s = ShardSet(d, "train", warn=warnings.append)
    assert [sh.name for sh in s.shards] == ["train-00000", "train-00002"]
    assert len(s) == 128 + 44 and "truncated" in warnings[0]
    with pytest.raises(ShardError, match="train-00001"):
        ShardSet(d, "train", strict=True)
    # a wrong row count in the manifest is caught too
    m = json.loads((d / "manifest.json").read_text())
    m["splits"]["train"]["shards"][0]["positions"] = 100
    (d / "manifest.json").write_text(json.dumps(m))
    assert [sh.name for sh in ShardSet(d, "train", warn=lambda _: None).shards] == ["train-00002"]


def test_sha256_verification(data, tmp_path):
    d = _copy(data, tmp_path)
    path = d / "train-00002.planes.npy"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF  # same size, different content
    path.write_bytes(bytes(raw))
    assert len(ShardSet(d, "train")) == 300  # size check alone cannot see it
    s = ShardSet(d, "train", verify=True, warn=lambda _: None)
    assert [sh.name for sh in s.shards] == ["train-00000", "train-00001"]


def test_bad_directories(tmp_path, data):
    with pytest.raises(ShardError, match="no manifest.json"):
        ShardSet(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ShardError, match="not a gopolicy shard manifest"):
        ShardSet(tmp_path)
    with pytest.raises(ShardError, match="no split 'dev'"):
        ShardSet(data, "dev")


def test_feistel_is_a_permutation():
    for n in (1, 2, 5, 64, 1000, 4099):
        y = FeistelPermutation(n, 1234)(np.arange(n))
        assert np.array_equal(np.sort(y), np.arange(n))
    a = FeistelPermutation(1000, 1)(np.arange(1000))
    b = FeistelPermutation(1000, 2)(np.arange(1000))
    assert not np.array_equal(a, b) and not np.array_equal(a, np.arange(1000))


def test_fast_unpack_matches_packing_module():
    packed = torch.randint(0, 256, (7, 2166), dtype=torch.uint8)
    for k in (4, 12, 20, 48):
        assert np.array_equal(unpack_planes_torch(packed, k).numpy(), unpack_planes_np(packed.numpy(), k))


def test_augmentation_keeps_planes_and_target_consistent(data):
    s = ShardSet(data, "train")
    loader = ShardLoader(s, 64, seed=5, augment=True)
    idx, sym = loader.indices(0, 0)
    assert len(set(sym.tolist())) >= 6  # several symmetries in one batch
    packed, meta = s.gather(idx)
    b = to_device(packed, meta, sym, 48)
    x = b.x.numpy()
    # plane 0 marks the target point (signal=1): still true after augmentation
    marked = x[:, 0].reshape(len(x), -1).argmax(1)
    assert np.array_equal(marked, b.target.numpy())
    # and every row is exactly its original planes under its symmetry
    original = {int(g): unpack_planes_np(p, 48) for g, p in zip(np.arange(len(idx)), packed)}
    rows_by_key = {(int(m["game"]), int(m["move_number"])): i for i, m in enumerate(meta)}
    for j in range(len(x)):
        i = rows_by_key[(int(b.meta[j]["game"]), int(b.meta[j]["move_number"]))]
        assert np.array_equal(x[j], symmetry.apply_np(original[i], int(b.sym[j])))
        assert b.target[j] == symmetry.point_map(int(b.sym[j]))[meta[i]["target"]]
    # no augmentation: identity everywhere
    plain = ShardLoader(s, 64, seed=5, augment=False)
    assert not plain.indices(0, 0)[1].any()


def test_planes_subset(data):
    s = ShardSet(data, "train")
    full = ShardLoader(s, 32, seed=1, num_planes=48).next_batch()
    sub = ShardLoader(s, 32, seed=1, num_planes=4).next_batch()
    assert sub.x.shape == (32, 4, 19, 19)
    assert torch.equal(sub.x, full.x[:, :4]) and torch.equal(sub.target, full.target)


def test_ranks_are_disjoint_and_cover_the_single_process_batch(data):
    s = ShardSet(data, "train")
    world, batch = 3, 24
    single = ShardLoader(s, batch, seed=9)
    ranks = [ShardLoader(s, batch, seed=9, rank=r, world_size=world) for r in range(world)]
    seen = []
    for step in range(single.steps_per_epoch):
        parts = [r.indices(0, step)[0] for r in ranks]
        assert all(len(p) == batch // world for p in parts)
        union = np.concatenate(parts)
        assert len(np.unique(union)) == len(union)  # disjoint
        assert np.array_equal(np.sort(union), single.indices(0, step)[0])
        # the same symmetry for the same position, whatever the split
        sym_single = dict(zip(*single.indices(0, step)))
        for r in ranks:
            i, sy = r.indices(0, step)
            assert all(sym_single[a] == b for a, b in zip(i.tolist(), sy.tolist()))
        seen.append(union)
    seen = np.concatenate(seen)
    assert len(np.unique(seen)) == len(seen) == single.steps_per_epoch * batch  # an epoch repeats nothing
    with pytest.raises(ValueError, match="divisible"):
        ShardLoader(s, 10, world_size=3)


def test_order_is_deterministic_and_resumable(data):
    s = ShardSet(data, "train")
    a = ShardLoader(s, 32, seed=4)
    for _ in range(11):  # crosses the epoch boundary (9 steps per epoch)
        a.next_host()
    state = a.state_dict()
    assert state["epoch"] == 1 and state["step"] == 2
    expected = [a.next_host() for _ in range(4)]
    b = ShardLoader(s, 32, seed=999)
    b.load_state_dict(json.loads(json.dumps(state)))  # survives a JSON/checkpoint round trip
    for (p1, m1, s1), (p2, m2, s2) in zip(expected, [b.next_host() for _ in range(4)]):
        assert np.array_equal(p1, p2) and np.array_equal(m1, m2) and np.array_equal(s1, s2)
    # epochs differ, seeds differ
    c = ShardLoader(s, 32, seed=4)
    assert not np.array_equal(c.indices(0, 0)[0], c.indices(1, 0)[0])
    assert not np.array_equal(c.indices(0, 0)[0], ShardLoader(s, 32, seed=5).indices(0, 0)[0])


def test_pack_roundtrip_sanity():
    planes = (np.random.default_rng(0).random((3, 48, 19, 19)) < 0.2).astype(np.uint8)
    assert np.array_equal(unpack_planes_torch(torch.from_numpy(pack_planes(planes)), 48).numpy(), planes)


# -- block order: sequential runs read into chunks ------------------------------------

def test_block_order_is_a_permutation_with_tail_and_partial_chunks():
    for n, block, chunk_blocks in ((1, 16, 4), (15, 16, 4), (300, 16, 4), (300, 7, 3), (1000, 1, 8),
                                   (4099, 16, 2048), (512, 4, 10)):
        order = BlockOrder(n, 77, block, chunk_blocks)
        y = order(np.arange(n))
        assert np.array_equal(np.sort(y), np.arange(n)), (n, block, chunk_blocks)
        # slots of chunk c map exactly onto that chunk's blocks (and the tail for the last chunk)
        chunk, row, _ = order.locate(np.arange(n))
        for c in range(order.num_chunks):
            got = np.sort(y[chunk == c])
            starts = order.chunk_starts(c)
            want = [np.arange(s, s + block) for s in starts]
            if c == order.num_chunks - 1 and order.tail:
                want.append(np.arange(order.full_blocks * block, n))
            want = np.sort(np.concatenate(want)) if want else np.zeros(0, int)
            assert np.array_equal(got, want)
            assert np.array_equal(np.sort(row[chunk == c]), np.arange(order.chunk_len(c)))
    # blocks are shuffled, not left in file order
    starts = BlockOrder(4096, 5, 16, 64).chunk_starts(0)
    assert not np.array_equal(starts, np.sort(starts))


def test_chunked_reads_equal_memmap_gathers_across_chunks_shards_and_epochs(data):
    s = ShardSet(data, "train")  # 300 positions in shards of 128: blocks cross shard borders
    for prefetch in (True, False):
        loader = ShardLoader(s, 24, seed=2, block=4, chunk_blocks=10, prefetch=prefetch, num_planes=20)
        seen = []
        for _ in range(2 * loader.steps_per_epoch + 3):  # batches straddle chunks; epochs wrap
            epoch, step = loader.epoch, loader.step
            idx, sym = loader.indices(epoch, step)
            packed, meta, sym2 = loader.next_host()
            ref_packed, ref_meta = s.gather(idx, loader.num_bytes)
            assert np.array_equal(packed, ref_packed) and np.array_equal(meta, ref_meta)
            assert np.array_equal(sym, sym2)
            if epoch == 0:
                seen.append(idx)
        seen = np.concatenate(seen)
        assert len(np.unique(seen)) == len(seen) == loader.steps_per_epoch * 24
        loader.close()


def test_a_batch_samples_many_blocks(data):
    s = ShardSet(data, "train")
    idx, _ = ShardLoader(s, 64, seed=1, block=4, chunk_blocks=64).indices(0, 0)
    assert len(np.unique(idx // 4)) >= 40  # 64 draws from 64+ blocks: few land in the same run


def test_state_from_before_blocks_resumes_in_the_old_per_position_order(data):
    s = ShardSet(data, "train")
    loader = ShardLoader(s, 32, seed=4)
    loader.load_state_dict({"seed": 4, "epoch": 0, "step": 3, "batch_size": 32, "positions": 300})
    assert loader.block == 1
    idx, _ = loader.indices(0, 3)
    slots = 3 * 32 + np.arange(32)
    assert np.array_equal(idx, np.sort(FeistelPermutation(300, mix_key(4, 0, 1))(slots)))
    packed, meta, _ = loader.next_host()
    assert np.array_equal(packed, s.gather(idx)[0])
    # and a new state round-trips its block layout
    b = ShardLoader(s, 32, seed=4, block=8, chunk_blocks=5)
    st = json.loads(json.dumps(b.state_dict()))
    c = ShardLoader(s, 32, seed=0)
    c.load_state_dict(st)
    assert (c.block, c.chunk_blocks) == (8, 5) and np.array_equal(c.indices(0, 0)[0], b.indices(0, 0)[0])


def test_read_rows_refuses_a_short_file(data, tmp_path):
    d = _copy(data, tmp_path)
    s = ShardSet(d, "train")
    with open(d / "train-00002.planes.npy", "r+b") as f:  # shrink after validation
        f.truncate(f.seek(0, 2) - 2166 * 3)
    packed = np.empty((10, s.packed_bytes), np.uint8)
    meta = np.empty(10, dtype=META_DTYPE)
    with pytest.raises(ShardError, match="short read"):
        s.read_rows(290, packed, meta)
    s.close()


def test_cpu_fused_unpack_equals_the_device_path(data):
    """The CPU batch (one numba pass, float32 channels_last) and the GPU code path
    (uint8 unpack on the device, grouped rot90s), run here on the CPU, agree row by row."""
    s = ShardSet(data, "train")
    loader = ShardLoader(s, 64, seed=8)
    packed, meta, sym = loader.next_host()
    assert len(set(sym.tolist())) >= 6
    for planes in (48, 20, 4):
        fused = to_device(packed[:, :(planes * 361 + 7) // 8], meta, sym, planes)
        generic = to_device(packed, meta, sym, planes, fused=False)
        assert fused.x.dtype == torch.float32 and generic.x.dtype == torch.uint8
        assert fused.x.is_contiguous(memory_format=torch.channels_last)
        key = lambda m: (int(m["game"]), int(m["move_number"]))  # noqa: E731 - rows may be regrouped
        where = {key(m): i for i, m in enumerate(generic.meta)}
        for j, m in enumerate(fused.meta):
            i = where[key(m)]
            assert torch.equal(fused.x[j], generic.x[i].float()) and fused.target[j] == generic.target[i]
