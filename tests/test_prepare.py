"""`gopolicy prepare`: shard contents, manifest, splits, determinism, crash safety."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO_ROOT
from test_sgf_io import BROKEN

from gopolicy.corpus import shard_format as sf
from gopolicy.corpus.packing import unpack_planes_np
from gopolicy.corpus.prepare import prepare
from gopolicy.corpus.sgf import parse_game, replay
from gopolicy.go.coords import pass_move
from gopolicy.go.features import planes as compute_planes

OPTS = dict(games_per_shard=2, val_fraction=0.2, test_fraction=0.2)


def _prepare(inputs, out, workers=1, **kw):
    opts = dict(OPTS)
    opts.update(kw)
    return prepare([str(p) for p in inputs], str(out), workers=workers, progress=False, **opts)


def _shards(manifest):
    """Everything that identifies the content: split -> [(name, positions, games, sha256)]."""
    return {s: [(e["name"], e["positions"], e["games"], e["sha256"]["planes"], e["sha256"]["meta"])
                for e in manifest["splits"][s]["shards"]] for s in sf.SPLITS}


@pytest.fixture(scope="module")
def clean(tmp_path_factory, shipped_sgf_dir):
    out = tmp_path_factory.mktemp("clean")
    m = _prepare([shipped_sgf_dir], out, workers=1)
    return out, m


def _games(shipped_sgf_files):
    return [parse_game(p.read_bytes(), str(p)) for p in shipped_sgf_files]


def test_shapes_and_meta(clean, shipped_sgf_files):
    out, m = clean
    assert m["complete"] is True
    assert m["num_planes"] == 48 and m["packed_bytes"] == 2166 and m["board_size"] == 19
    assert m["sources"] == ["selfplay"]
    games = _games(shipped_sgf_files)
    checked = 0
    for split in sf.SPLITS:
        for e in m["splits"][split]["shards"]:
            assert sf.verify_shard(str(out), e) is None
            planes, meta = sf.load_shard(str(out), e)
            assert planes.dtype == np.uint8 and planes.shape == (e["positions"], 2166)
            assert meta.dtype == sf.META_DTYPE and meta.shape == (e["positions"],)
            assert (meta["target"] >= 0).all() and (meta["target"] < 361).all()   # never a pass
            assert set(np.unique(meta["color"])) <= {1, 2}
            assert (meta["source"] == 0).all()
            # recompute a few rows from scratch
            for i in range(0, len(meta), 97):
                row = meta[i]
                g = games[row["game"]]
                for board, color, move, number in replay(g):
                    if number == row["move_number"]:
                        assert move == row["target"] and color == row["color"]
                        want = compute_planes(board, color)
                        got = unpack_planes_np(np.asarray(planes[i]), 48)
                        assert np.array_equal(got, want)
                        checked += 1
                        break
                else:
                    pytest.fail(f"move {row['move_number']} not in game {row['game']}")
    assert checked >= 20


def test_manifest_counts_add_up(clean, shipped_sgf_files):
    out, m = clean
    with open(out / "manifest.json") as f:
        assert json.load(f) == json.loads(json.dumps(m))
    games = _games(shipped_sgf_files)
    n = len(shipped_sgf_files)
    assert m["files_read"] == n
    assert sum(m["splits"][s]["games"] for s in sf.SPLITS) + sum(m["skipped"].values()) == n
    for s in sf.SPLITS:
        sp = m["splits"][s]
        assert sp["positions"] == sum(e["positions"] for e in sp["shards"])
        assert sp["games"] == sum(e["games"] for e in sp["shards"]) or sp["positions"] == 0
    positions = sum(1 for g in games for _, mv in g.moves if mv != pass_move(19))
    assert sum(m["splits"][s]["positions"] for s in sf.SPLITS) == positions
    assert m["per_source"]["selfplay"] == {"games": n, "positions": positions, "skipped": 0}
    assert m["splits"]["train"]["positions"] > 0


def test_split_is_a_function_of_the_game(clean, shipped_sgf_files):
    out, m = clean
    games = _games(shipped_sgf_files)
    where = {}
    for split in sf.SPLITS:
        for e in m["splits"][split]["shards"]:
            _, meta = sf.load_shard(str(out), e)
            for gid in np.unique(meta["game"]):
                assert where.setdefault(int(gid), split) == split      # never spans splits
    assert len(where) == len(games)
    for gid, split in where.items():
        assert split == sf.split_of(sf.game_hash(games[gid]), 0.2, 0.2)
    assert len(set(where.values())) >= 2            # 16 games, 20%/20%: more than one split used


def test_split_of_fractions():
    hashes = [sf.game_hash(parse_game(f"(;SZ[19];B[{chr(97 + i % 19)}{chr(97 + i // 19)}])".encode()))
              for i in range(361)]
    counts = {s: 0 for s in sf.SPLITS}
    for h in hashes:
        counts[sf.split_of(h, 0.1, 0.1)] += 1
    assert 15 < counts["val"] < 60 and 15 < counts["test"] < 60
    # growing the val fraction moves only train games into val
    for h in hashes:
        a, b = sf.split_of(h, 0.1, 0.1), sf.split_of(h, 0.3, 0.1)
        assert a == b or (a, b) == ("train", "val")
    assert all(sf.split_of(h, 0.0, 0.0) == "train" for h in hashes)


def test_game_hash_ignores_names_and_sees_moves():
    a = parse_game(b"(;SZ[19]PB[x];B[dd];W[pp])", "a.sgf")
    b = parse_game(b"(;SZ[19]PB[y]C[hi];B[dd];W[pp])", "b.sgf")
    c = parse_game(b"(;SZ[19];B[dd];W[pq])")
    d = parse_game(b"(;SZ[19]AB[aa];B[dd];W[pp])")
    assert sf.game_hash(a) == sf.game_hash(b)
    assert len({sf.game_hash(a), sf.game_hash(c), sf.game_hash(d)}) == 3


def test_same_output_with_more_workers(clean, shipped_sgf_dir, tmp_path):
    out, m = clean
    m2 = _prepare([shipped_sgf_dir], tmp_path / "w2", workers=2)
    assert _shards(m2) == _shards(m)
    for e in m["splits"]["train"]["shards"]:
        for a, b in zip(sf.shard_paths(str(out), e["name"]), sf.shard_paths(str(tmp_path / "w2"), e["name"])):
            assert open(a, "rb").read() == open(b, "rb").read()


def _slow_run(sgf_dir, out):
    """The prepare command, and a run of it slowed down (0.4 s a game) to be killed part-way."""
    cmd = [sys.executable, "-m", "gopolicy", "prepare", str(sgf_dir), "--out", str(out),
           "--workers", "2", "--games-per-shard", "2", "--val-fraction", "0.2",
           "--test-fraction", "0.2", "--quiet"]
    env = dict(os.environ, GOPOLICY_PREPARE_DELAY="0.4")
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cmd, proc


def _wait_for_units(proc, out, n):
    deadline = time.time() + 240
    while time.time() < deadline:
        mm = sf.read_manifest(str(out))
        if mm and len(mm.get("units", {})) >= n:
            return
        assert proc.poll() is None, "prepare finished or died before it could be killed"
        time.sleep(0.05)
    pytest.fail("prepare made no progress")


@pytest.mark.slow
def test_kill_9_and_resume_equals_a_clean_run(clean, shipped_sgf_dir, tmp_path):
    _, m = clean
    out = tmp_path / "killed"
    cmd, proc = _slow_run(shipped_sgf_dir, out)
    try:
        _wait_for_units(proc, out, 2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)        # the whole run, workers included
        proc.wait()
    mm = sf.read_manifest(str(out))
    assert mm["complete"] is False
    assert 2 <= len(mm["units"]) < 8
    done = set(mm["units"])
    leftovers = [f for f in os.listdir(out) if ".tmp." in f]
    # the killed run left partial work behind: a temporary file or files of an unlisted unit
    unlisted = [f for f in os.listdir(out) if f.endswith(".npy") and
                str(int(f.split("-")[1].split(".")[0])) not in done]
    assert leftovers or unlisted or len(done) < 8
    # a partial file is never trusted: tamper with a listed shard too
    e = mm["splits"]["train"]["shards"][0] if mm["splits"]["train"]["shards"] else \
        next(sh for s in sf.SPLITS for sh in mm["splits"][s]["shards"])
    p = sf.shard_paths(str(out), e["name"])[0]
    with open(p, "r+b") as f:
        f.truncate(os.path.getsize(p) - 100)
    r = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    final = sf.read_manifest(str(out))
    assert final["complete"] is True
    assert _shards(final) == _shards(m)
    for s in sf.SPLITS:
        for e in final["splits"][s]["shards"]:
            assert sf.verify_shard(str(out), e) is None
    assert not [f for f in os.listdir(out) if ".tmp." in f]


def test_truncated_shard_is_detected_and_redone(clean, shipped_sgf_dir, tmp_path):
    src, m = clean
    out = tmp_path / "copy"
    shutil.copytree(src, out)
    e = m["splits"]["train"]["shards"][0]
    planes_path = sf.shard_paths(str(out), e["name"])[0]
    with open(planes_path, "r+b") as f:
        f.truncate(os.path.getsize(planes_path) - 2166)
    assert sf.verify_shard(str(out), e) == "planes size"
    assert sf.verify_shard(str(out), e, check_hash=False) == "planes size"
    from gopolicy.corpus.shards import ShardError, ShardSet

    with pytest.raises(ShardError):
        ShardSet(out, "train", strict=True, warn=lambda msg: None)
    # same length, different bytes: only the checksum sees it
    shutil.copy(sf.shard_paths(str(src), e["name"])[0], planes_path)
    with open(planes_path, "r+b") as f:
        f.seek(-1, 2)
        f.write(b"\x5a")
    assert sf.verify_shard(str(out), e) == "planes sha256"
    m2 = _prepare([shipped_sgf_dir], out, workers=1)
    assert _shards(m2) == _shards(m)
    assert sf.verify_shard(str(out), e) is None


def test_other_settings_are_refused(clean, shipped_sgf_dir):
    out, _ = clean
    with pytest.raises(RuntimeError, match="other settings"):
        _prepare([shipped_sgf_dir], out, workers=1, games_per_shard=3)


def test_broken_files_are_skipped_and_listed(tmp_path, shipped_sgf_files):
    d = tmp_path / "in"
    d.mkdir()
    for i, data in enumerate(BROKEN):
        (d / f"b{i:02d}.sgf").write_bytes(data)
    shutil.copy(shipped_sgf_files[0], d / "z-good.sgf")
    m = _prepare([d], tmp_path / "out", workers=2, games_per_shard=5)
    want = {}
    for r in BROKEN.values():
        want[r] = want.get(r, 0) + 1
    assert m["skipped"] == dict(sorted(want.items()))
    assert len(m["skipped_files"]) == len(BROKEN)
    assert sorted(os.path.basename(f) for f, _ in m["skipped_files"]) == \
        [f"b{i:02d}.sgf" for i in range(len(BROKEN))]
    assert sum(m["splits"][s]["games"] for s in sf.SPLITS) == 1
    assert m["complete"] is True


def test_colour_plane_and_limit(tmp_path, shipped_sgf_dir):
    m = _prepare([shipped_sgf_dir], tmp_path / "c", workers=1, limit_games=2, colour_plane=True,
                 val_fraction=0.0, test_fraction=0.0)
    assert m["num_planes"] == 49 and m["packed_bytes"] == (49 * 361 + 7) // 8
    assert m["files_read"] == 2 and m["splits"]["train"]["games"] == 2
    planes, meta = sf.load_shard(str(tmp_path / "c"), m["splits"]["train"]["shards"][0])
    x = unpack_planes_np(np.asarray(planes[:6]), 49)
    for i in range(6):
        assert (x[i, 48] == (1 if meta["color"][i] == 1 else 0)).all()


@pytest.mark.corpus
def test_corpus_sample(tmp_path, corpus_archives):
    m = _prepare([corpus_archives[0]], tmp_path / "corpus", workers=2, limit_games=20,
                 games_per_shard=10, val_fraction=0.01, test_fraction=0.01)
    assert m["complete"] and m["files_read"] == 20
    total = sum(m["splits"][s]["positions"] for s in sf.SPLITS)
    assert total > 20 * 50


# ---------------------------------------------------------------- bad archives, size cap, kill -9
def _tar_gz(path, files):
    import tarfile

    with tarfile.open(path, "w:gz") as tf:
        for f in files:
            tf.add(f, f"g/{f.name}")


def test_broken_archives_are_skipped_and_the_rest_prepared(tmp_path, shipped_sgf_files):
    import zipfile

    from gopolicy.corpus.sgf import iter_sources

    d = tmp_path / "in"
    d.mkdir()
    files = shipped_sgf_files
    _tar_gz(d / "a-good.tar.gz", files[:6])
    _tar_gz(tmp_path / "full.tar.gz", files[6:])
    data = (tmp_path / "full.tar.gz").read_bytes()
    (d / "b-cut.tar.gz").write_bytes(data[:int(len(data) * 0.6)])        # truncated mid-member
    (d / "c-junk.zip").write_bytes(b"PK\x03\x04 this is no zip")
    with zipfile.ZipFile(d / "d-bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("g/bomb.sgf", b"(" + b" " * 2_000_000 + b")")          # over the 100 kB cap below
        zf.writestr("g/small.sgf", files[0].read_bytes())
    (d / "e-chess.sgf").write_bytes(b"(;GM[3]FF[4]SZ[8];B[ee])")
    # the cut archive's readable prefix, found independently of prepare
    skips = []
    kept = [n for n, _ in iter_sources([d / "b-cut.tar.gz"], on_skip=lambda r, x: skips.append(r))]
    assert skips == ["bad archive"] and 1 <= len(kept) < len(files) - 6

    m = _prepare([d], tmp_path / "out", workers=2, games_per_shard=3, max_file_bytes=100_000)
    assert m["complete"] is True
    assert m["skipped"] == {"bad archive": 2, "not go": 1, "too large": 1}
    names = {os.path.basename(n.split("!")[0]) for n, _ in m["skipped_files"]}
    assert names == {"b-cut.tar.gz", "c-junk.zip", "d-bomb.zip", "e-chess.sgf"}
    assert [r for r, _, _ in m["input_skips"]] == ["bad archive", "bad archive", "too large"]
    games = sum(m["splits"][s]["games"] for s in sf.SPLITS)
    assert games == 6 + len(kept) + 1                  # good archive, the cut prefix, bomb.zip's small game
    assert m["files_read"] == games + 1                # + the chess record
    positions = sum(m["splits"][s]["positions"] for s in sf.SPLITS)
    want = sum(1 for f in files[:6 + len(kept)] + [files[0]]
               for _, mv in parse_game(f.read_bytes()).moves if mv != pass_move(19))
    assert positions == want
    # the same command again: nothing redone, the same manifest
    again = _prepare([d], tmp_path / "out", workers=1, games_per_shard=3, max_file_bytes=100_000)
    assert _shards(again) == _shards(m) and again["skipped"] == m["skipped"]


def test_cap_is_a_setting_of_the_output(tmp_path, shipped_sgf_dir):
    _prepare([shipped_sgf_dir], tmp_path / "o", workers=1, limit_games=2)
    with pytest.raises(RuntimeError, match="other settings"):
        _prepare([shipped_sgf_dir], tmp_path / "o", workers=1, limit_games=2, max_file_bytes=5000)
    # manifests from before the cap existed resume under the default cap
    from gopolicy.corpus.prepare import _same_config

    cfg = json.load(open(tmp_path / "o" / "manifest.json"))["config"]
    old = {k: v for k, v in cfg.items() if k != "max_file_bytes"}
    assert _same_config(old, cfg) and not _same_config(old, dict(cfg, max_file_bytes=5))


def _children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(x) for x in f.read().split()]
    return out


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_kill_9_of_the_main_process_alone_ends_the_workers_and_resume_is_at_once(
        clean, shipped_sgf_dir, tmp_path):
    """What an OOM killer does: SIGKILL to the main process only. Its workers must
    go too (they held the lock and burned the cores), and the same command, run
    at once, resumes and finishes with the clean run's shards."""
    _, m = clean
    out = tmp_path / "killed"
    cmd, proc = _slow_run(shipped_sgf_dir, out)
    workers = []
    try:
        _wait_for_units(proc, out, 1)
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        os.kill(proc.pid, signal.SIGKILL)            # the main process only
        proc.wait()
        r = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr           # not "being prepared by another process"
        deadline = time.time() + 5
        while any(_running(w) for w in workers) and time.time() < deadline:
            time.sleep(0.05)
        assert not [w for w in workers if _running(w)], "workers outlived their parent"
    finally:
        for w in workers:                            # never leave our own orphans behind
            if _running(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    final = sf.read_manifest(str(out))
    assert final["complete"] is True and _shards(final) == _shards(m)


def test_cli_size_cap_and_not_go(tmp_path, shipped_sgf_files, capsys):
    from gopolicy.cli import main

    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(shipped_sgf_files[0], d / "a.sgf")
    (d / "b-big.sgf").write_bytes(b"(;SZ[19]C[" + b"x" * 3000 + b"];B[dd])")
    (d / "c-chess.sgf").write_bytes(b"(;GM[3]SZ[8];B[ee])")
    assert shipped_sgf_files[0].stat().st_size < 2000
    rc = main(["prepare", str(d), "--out", str(tmp_path / "o"), "--workers", "1", "--quiet",
               "--max-file-mb", str(2000 / 2**20)])
    assert rc == 0
    m = sf.read_manifest(str(tmp_path / "o"))
    assert m["skipped"] == {"not go": 1, "too large": 1} and m["config"]["max_file_bytes"] == 2000
    assert sorted(os.path.basename(n) for n, _ in m["skipped_files"]) == ["b-big.sgf", "c-chess.sgf"]
    assert sum(m["splits"][s]["games"] for s in sf.SPLITS) == 1
