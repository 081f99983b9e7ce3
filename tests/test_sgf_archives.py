"""Archives broken on purpose: truncated, corrupt, not archives at all, and
members over the size cap. Each is skipped with its reason through ``on_skip``
(the contract the streaming trainer relies on), the members read before a
break are kept byte for byte, and nothing over the cap is read into memory."""
from __future__ import annotations

import io
import random
import tarfile
import tracemalloc
import zipfile

import pytest

from gopolicy.corpus.sgf_sources import (
    BAD_ARCHIVE,
    DEFAULT_MAX_FILE_BYTES,
    TOO_LARGE,
    SourceSkipped,
    iter_archive,
    iter_sources,
)

N = 30


def _members(n=N, seed=0):
    """n SGF records with incompressible comments (~6 kB each), so that a cut
    at 60% of the compressed file falls well inside the member data."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        comment = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6000))
        out.append((f"games/{i:03d}.sgf", f"(;GM[1]SZ[19]C[{comment}];B[dd];W[pp])".encode()))
    return out


def _write(path, kind, members):
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
        return
    mode = {"tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz", "tar": "w"}[kind]
    kw = {"compresslevel": 1} if kind == "tar.bz2" else {}   # 100 kB blocks: a cut keeps the first ones
    with tarfile.open(path, mode, **kw) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def _read(paths, **kw):
    skips = []
    got = list(iter_sources([str(p) for p in paths], on_skip=lambda r, d: skips.append((r, d)), **kw))
    return got, skips


@pytest.mark.parametrize("kind", ["tar.gz", "tar.bz2", "tar.xz", "tar", "zip"])
def test_intact_archive_reads_everything_without_skips(tmp_path, kind):
    members = _members()
    arch = tmp_path / f"a.{kind}"
    _write(arch, kind, members)
    got, skips = _read([arch])
    assert skips == []
    assert got == [(f"a.{kind}!{n}", d) for n, d in members]


@pytest.mark.parametrize("kind", ["tar.gz", "tar.bz2", "tar.xz", "tar"])
@pytest.mark.parametrize("frac", [0.6, 0.95])
def test_truncated_tar_keeps_the_games_before_the_break(tmp_path, kind, frac):
    members = _members()
    full = tmp_path / f"full.{kind}"
    _write(full, kind, members)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(data[:int(len(data) * frac)])
    good = tmp_path / "good.sgf"
    good.write_bytes(b"(;SZ[19];B[dd])")
    got, skips = _read([cut, good])
    assert len(skips) == 1 and skips[0][0] == BAD_ARCHIVE, skips
    assert skips[0][1].startswith(str(cut))
    arch_games = [x for x in got if x[0].startswith("cut.")]
    k = len(arch_games)
    # a prefix, byte for byte: no member is cut short or invented
    assert arch_games == [(f"cut.{kind}!{n}", d) for n, d in members[:k]]
    assert k < N
    if kind != "tar.bz2" or frac > 0.9:
        assert k >= N // 3, k       # most of what lies before the cut survives
    assert got[-1] == (str(good), b"(;SZ[19];B[dd])")      # the next input is still read
    # without on_skip: the members before the break, then an exception naming the archive
    seen = []
    with pytest.raises(SourceSkipped) as e:
        for name, _ in iter_archive(str(cut)):
            seen.append(name)
    assert e.value.reason == BAD_ARCHIVE and str(cut) in e.value.detail and len(seen) == k


def test_corrupt_tar_header_is_not_a_silent_end(tmp_path):
    # tarfile ends a stream quietly at a bad header; we report it
    members = _members(6)
    arch = tmp_path / "h.tar"
    _write(arch, "tar", members)
    data = bytearray(arch.read_bytes())
    third = data.index(b"games/002.sgf")      # the third member's header
    data[third + 148:third + 156] = b"9999999\x00"    # its checksum field
    arch.write_bytes(bytes(data))
    got, skips = _read([arch])
    assert [n for n, _ in got] == [f"h.tar!{n}" for n, _ in members[:2]]
    assert len(skips) == 1 and skips[0][0] == BAD_ARCHIVE and "corrupt header" in skips[0][1]


@pytest.mark.parametrize("name, data", [
    ("junk.tar.gz", b"this is not gzip at all" * 10),
    ("junk.tar.bz2", b"BZh9" + b"\x00" * 100),
    ("junk.zip", b"PK\x03\x04 not really a zip"),
    ("empty.tar.gz", b""),
    ("empty.zip", b""),
])
def test_files_that_are_not_archives_are_skipped_whole(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    (tmp_path / "ok.sgf").write_bytes(b"(;SZ[19];B[dd])")
    got, skips = _read([tmp_path / name, tmp_path / "ok.sgf"])
    assert [n for n, _ in got] == [str(tmp_path / "ok.sgf")]
    assert len(skips) == 1 and skips[0][0] == BAD_ARCHIVE and name in skips[0][1]


def test_truncated_zip_is_skipped_whole(tmp_path):
    # no central directory: nothing can be trusted (the reason says so)
    arch = tmp_path / "z.zip"
    _write(arch, "zip", _members(8))
    data = arch.read_bytes()
    arch.write_bytes(data[:len(data) // 2])
    got, skips = _read([arch])
    assert got == [] and len(skips) == 1 and skips[0][0] == BAD_ARCHIVE
    assert "unreadable zip" in skips[0][1]


def test_corrupt_zip_member_is_skipped_alone(tmp_path):
    members = _members(8)
    arch = tmp_path / "z.zip"
    _write(arch, "zip", members)
    data = bytearray(arch.read_bytes())
    with zipfile.ZipFile(arch) as zf:
        info = zf.getinfo("games/003.sgf")
    at = info.header_offset + 30 + len(info.filename) + 200     # inside its compressed data
    data[at] ^= 0xFF
    arch.write_bytes(bytes(data))
    got, skips = _read([arch])
    assert [n for n, _ in got] == [f"z.zip!{n}" for n, _ in members if n != "games/003.sgf"]
    assert [d for _, d in got] == [d for n, d in members if n != "games/003.sgf"]
    assert len(skips) == 1 and skips[0][0] == BAD_ARCHIVE and "z.zip!games/003.sgf" in skips[0][1]


# ---------------------------------------------------------------- size cap
CAP = 1 << 20
BIG = 160 << 20      # 160 MiB of zeros: a ~160 kB zip, a compression bomb in miniature


def _bomb(path, kind):
    small = [("games/a.sgf", b"(;SZ[19];B[dd])"), ("games/z.sgf", b"(;SZ[19];B[pp])")]
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(small[0][0], small[0][1])
            with zf.open("games/bomb.sgf", "w", force_zip64=True) as f:
                chunk = b"\x00" * (1 << 20)
                for _ in range(BIG >> 20):
                    f.write(chunk)
            zf.writestr(small[1][0], small[1][1])
    else:
        class Zeros(io.RawIOBase):
            def __init__(self):
                self.left = BIG

            def readable(self):
                return True

            def readinto(self, b):
                n = min(len(b), self.left)
                b[:n] = bytes(n)
                self.left -= n
                return n

        with tarfile.open(path, "w:gz", compresslevel=1) as tf:
            for name, data in small[:1]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo("games/bomb.sgf")
            info.size = BIG
            tf.addfile(info, Zeros())
            for name, data in small[1:]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_member_over_the_cap_is_skipped_before_it_is_read(tmp_path, kind):
    arch = tmp_path / f"bomb.{kind}"
    _bomb(arch, kind)
    assert arch.stat().st_size < BIG // 20
    tracemalloc.start()
    try:
        got, skips = _read([arch], max_bytes=CAP)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [n for n, _ in got] == [f"bomb.{kind}!games/a.sgf", f"bomb.{kind}!games/z.sgf"]
    assert skips == [(TOO_LARGE, f"bomb.{kind}!games/bomb.sgf: {BIG} bytes > cap {CAP}")]
    # skipping a tar member still inflates it, in bounded steps (tarfile inflates
    # each 10 kB block whole: ~10 MB of zeros): far below the member's size
    assert peak < 48 << 20, f"peak {peak >> 20} MiB: the member was read"
    # a cap above the member reads it (the cap is what skipped it)
    got, skips = _read([arch], max_bytes=BIG)
    assert len(got) == 3 and skips == [] and len(got[1][1]) == BIG


def test_zip_member_bigger_than_its_header_claims(tmp_path):
    # the central directory says 100 bytes; the data is 4 MiB: cut at the cap, never read whole
    arch = tmp_path / "liar.zip"
    with zipfile.ZipFile(arch, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.sgf", b"\x00" * (4 << 20))
    raw = bytearray(arch.read_bytes())
    with zipfile.ZipFile(arch) as zf:
        info = zf.getinfo("x.sgf")
    cd = raw.rindex(b"PK\x01\x02")
    raw[cd + 24:cd + 28] = (100).to_bytes(4, "little")           # uncompressed size, central directory
    lh = info.header_offset
    raw[lh + 22:lh + 26] = (100).to_bytes(4, "little")           # and in the local header
    arch.write_bytes(bytes(raw))
    got, skips = _read([arch], max_bytes=CAP)
    assert got == [] and len(skips) == 1 and skips[0][0] in (TOO_LARGE, BAD_ARCHIVE)


def test_loose_file_over_the_cap(tmp_path):
    (tmp_path / "a.sgf").write_bytes(b"(;SZ[19];B[dd])")
    (tmp_path / "huge.sgf").write_bytes(b"(" + b" " * (CAP + 10) + b")")
    got, skips = _read([tmp_path], max_bytes=CAP)
    assert [n for n, _ in got] == [str(tmp_path / "a.sgf")]
    assert skips == [(TOO_LARGE, f"{tmp_path / 'huge.sgf'}: {CAP + 12} bytes > cap {CAP}")]
    with pytest.raises(SourceSkipped):
        list(iter_sources([tmp_path], max_bytes=CAP))


def test_default_cap_is_far_above_real_games(shipped_sgf_files):
    biggest = max(p.stat().st_size for p in shipped_sgf_files)
    assert biggest < 100_000 and DEFAULT_MAX_FILE_BYTES >= 16 * 2**20


def test_replay_check_counts_a_broken_archive(tmp_path):
    from gopolicy.corpus.replay_check import run_check

    (tmp_path / "junk.tar.gz").write_bytes(b"not gzip" * 20)
    (tmp_path / "ok.sgf").write_bytes(b"(;SZ[19];B[dd];W[pp])")
    (tmp_path / "chess.sgf").write_bytes(b"(;GM[3]SZ[8];B[dd])")
    tot = run_check([str(tmp_path)], workers=1, progress=False)
    assert tot["agree"] == 1 and tot["skipped"] == {"bad archive": 1, "not go": 1}
