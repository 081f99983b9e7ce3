"""gopolicy.corpus.stream: positions streamed from SGF by worker processes equal
what `gopolicy prepare` writes for the same games (planes, targets, meta, the
held-out split), with the same symmetries applied; shuffling loses nothing;
resuming loses nothing; skips are counted."""
import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from gopolicy.corpus import sgf, stream
from gopolicy.corpus.batches import to_device
from gopolicy.corpus.prepare import prepare
from gopolicy.corpus.shard_set import ShardSet

ROOT = Path(__file__).resolve().parents[1]
SELFPLAY = ROOT / "data" / "selfplay"
VAL, TEST = 0.25, 0.1   # large shares, so that 16 games fill every split


def _sorted(packed, meta):
    order = np.lexsort((meta["move_number"], meta["game"]))
    return packed[order], meta[order]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared")
    prepare([str(SELFPLAY)], str(out), workers=1, val_fraction=VAL, test_fraction=TEST, progress=False)
    rows = {}
    for split in ("train", "val", "test"):
        s = ShardSet(out, split)
        rows[split] = _sorted(*s.gather(np.arange(len(s))))
    return rows


@pytest.fixture(scope="module")
def plan():
    return stream.plan_stream([str(SELFPLAY)])


def test_plan_numbers_games_as_prepare(plan):
    assert plan.games == 16 and plan.sources == ["selfplay"]


@pytest.mark.parametrize("split", ["train", "val"])
def test_streamed_positions_equal_prepared_shards(prepared, plan, split):
    got = stream.collect_split(plan, split, workers=2, val_fraction=VAL, test_fraction=TEST)
    want_p, want_m = prepared[split]
    assert len(want_m) > 100 and len(got) == len(want_m)
    assert np.array_equal(got.packed, want_p)   # every plane of every position
    assert np.array_equal(got.meta, want_m)     # target, game id, move number, source, colour, ranks
    assert got.stats["skipped"].get(stream.HELD_OUT, 0) > 0  # the other splits' games were left out


def test_shuffled_augmented_batches_equal_shard_rows_with_the_same_symmetry(prepared, plan):
    want_p, want_m = prepared["train"]
    index = {(int(m["game"]), int(m["move_number"])): i for i, m in enumerate(want_m)}
    loader = stream.SGFLoader(plan, 64, workers=2, seed=5, shuffle=500, epochs=1, augment=True,
                              val_fraction=VAL, test_fraction=TEST)
    loader.cfg.drop_last = False
    seen, games_per_batch, syms = [], [], []
    try:
        while True:
            try:
                packed, meta, sym = loader.next_host()
            except StopIteration:
                break
            rows = np.array([index[(int(m["game"]), int(m["move_number"]))] for m in meta])
            seen.extend(rows.tolist())
            games_per_batch.append(len(np.unique(meta["game"])))
            syms.extend(sym.tolist())
            for fused in (True, False):   # the CPU path and the accelerator path (run here on the CPU)
                a = to_device(packed, meta, sym, 48, "cpu", fused=fused)
                b = to_device(want_p[rows], want_m[rows], sym, 48, "cpu", fused=fused)
                assert np.array_equal(a.x.numpy(), b.x.numpy()) and np.array_equal(a.target, b.target)
                assert np.array_equal(a.meta, b.meta)
    finally:
        loader.close()
    assert sorted(seen) == list(range(len(want_m)))   # every position exactly once
    assert set(syms) == set(range(8))
    # batches mix the games of the buffer (~500 positions: ~2.5 games a worker here); in game
    # order, 64 consecutive moves of a ~200-move game come from one or two games
    assert np.mean(games_per_batch[:-2]) > 2.5


def test_resume_key_loses_no_position(prepared, plan):
    want_m = prepared["train"][1]
    everything = {(int(m["game"]), int(m["move_number"])) for m in want_m}

    def make():
        ld = stream.SGFLoader(plan, 32, workers=2, seed=1, shuffle=300, epochs=1,
                              val_fraction=VAL, test_fraction=TEST)
        ld.cfg.drop_last = False
        return ld

    first = make()
    used = set()
    # Read until the key has moved past game 0: how many batches that takes depends on
    # how the two workers' games interleave in the shuffle buffer (12 was not always enough).
    for _ in range(60):
        _p, meta, _s = first.next_host()
        used |= {(int(m["game"]), int(m["move_number"])) for m in meta}
        if len(used) >= 12 * 32 and first.resume_key() > 0:
            break
    state = first.state_dict()
    first.close()
    assert 0 < state["key"] < plan.games
    second = make()
    second.load_state_dict(state)
    later = set()
    try:
        while True:
            _p, meta, _s = second.next_host()
            later |= {(int(m["game"]), int(m["move_number"])) for m in meta}
    except StopIteration:
        pass
    finally:
        second.close()
    assert used | later == everything                     # nothing lost
    assert all(g >= state["key"] for g, _ in later)       # restarted at the key, not at the beginning


def _tar_gz(path, members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buf.getvalue(), compresslevel=1))
    return path


def test_corrupt_archive_mid_stream_is_a_counted_skip(tmp_path, plan):
    games = sorted(SELFPLAY.glob("*.sgf"))
    members = [(f"arch/{p.name}", p.read_bytes()) for p in games]
    members.insert(3, ("arch/chess.sgf", b"(;GM[1]FF[4]SZ[19];B[zz])"))   # a bad move: a parse-level skip
    full = _tar_gz(tmp_path / "full.tar.gz", members)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])      # the archive breaks part-way
    p = stream.plan_stream([str(cut), str(SELFPLAY)])
    assert 3 < p.games < 16 + 17
    loader = stream.SGFLoader(p, 64, workers=2, shuffle=1, epochs=1, val_fraction=0, test_fraction=0)
    loader.cfg.drop_last = False
    n = 0
    try:
        while True:
            _p, meta, _s = loader.next_host()
            n += len(meta)
    except StopIteration:
        pass
    finally:
        loader.close()
    skipped = loader.stats["skipped"]
    assert skipped.get(sgf.BAD_ARCHIVE) == 1, skipped    # the break, counted once (not once per worker)
    assert sum(v for k, v in skipped.items() if k != sgf.BAD_ARCHIVE) >= 1   # the bad record
    assert loader.stats["games"] >= 16 + 3 and n == loader.stats["positions"]


def test_no_game_of_the_split_is_a_clear_error(plan):
    from gopolicy.corpus.feed_workers import FeedError

    loader = stream.SGFLoader(plan, 16, workers=1, val_fraction=1.0, test_fraction=0)   # every game held out
    try:
        with pytest.raises(FeedError, match="no game of the 'train' split"):
            loader.next_host()
    finally:
        loader.close()


def test_batches_for_an_accelerator_come_grouped_by_symmetry(prepared, plan):
    """For a GPU the workers group each batch by symmetry (one transform call per group
    there); the rows are still those of the shards, with their symmetry."""
    want_p, want_m = prepared["train"]
    index = {(int(m["game"]), int(m["move_number"])): i for i, m in enumerate(want_m)}
    loader = stream.SGFLoader(plan, 64, workers=1, seed=2, shuffle=300, val_fraction=VAL, test_fraction=TEST)
    loader.cfg.grouped = True   # what device="cuda" sets
    try:
        for _ in range(5):
            packed, meta, sym = loader.next_host()
            assert np.all(sym[1:] >= sym[:-1]) and len(set(sym.tolist())) > 3
            rows = np.array([index[(int(m["game"]), int(m["move_number"]))] for m in meta])
            a = to_device(packed, meta, sym, 48, "cpu", fused=False)
            b = to_device(want_p[rows], want_m[rows], sym, 48, "cpu", fused=False)
            assert np.array_equal(a.x.numpy(), b.x.numpy()) and np.array_equal(a.target, b.target)
    finally:
        loader.close()
