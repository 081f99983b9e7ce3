"""The on-disk format of prepared shards.

Shared by the writer (:mod:`gopolicy.corpus.prepare`), the reader
(:mod:`gopolicy.corpus.shard_set`) and the SGF stream (:mod:`gopolicy.corpus.stream`):
the format constants, the meta dtype, game hashing and splits, the one manifest
reader and sha256 helper, atomic writes and shard verification.

    DIR/manifest.json          {"format": "gopolicy-shards", "version": 1, ..., "complete": true}
    DIR/<name>.planes.npy      uint8 (n, packed_bytes)
    DIR/<name>.meta.npy        META_DTYPE (n,)

Readers must only trust shards listed in the manifest whose files have the
listed size (and, when checked, sha256): see :func:`verify_shard`.
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from gopolicy.corpus.sgf import parse_rank  # noqa: F401  (re-exported: rank parsing lives with the format)
from gopolicy.go.coords import to_sgf

FORMAT = "gopolicy-shards"
VERSION = 1
MANIFEST = "manifest.json"
SPLITS = ("train", "val", "test")

META_DTYPE = np.dtype([
    ("target", "<i2"),        # r*19+c of the move played (never a pass)
    ("game", "<i4"),          # game id: index of the game's file among all inputs
    ("move_number", "<i2"),   # 1-based, passes counted
    ("source", "u1"),         # index into manifest["sources"]
    ("color", "i1"),          # player to move: 1 black, 2 white
    ("black_rank", "<i2"),    # kyu -k, dan 1..9, pro 101..109, unknown 0
    ("white_rank", "<i2"),
])

PLANES_SUFFIX = ".planes.npy"
META_SUFFIX = ".meta.npy"


# ---------------------------------------------------------------- games, splits
def game_hash(game) -> str:
    """sha256 (hex) of a game's setup + move sequence (board size included), e.g.
    ``"19|AB[dd][pp];W[dq];B[]"``: the same game always gets the same hash,
    whatever its file name, players or comments."""
    size = game.size
    toks = []
    for ev in game.events:
        if ev[0] == "setup":
            for tag, pts in (("AB", ev[1]), ("AW", ev[2]), ("AE", ev[3])):
                if pts:
                    toks.append(tag + "".join(f"[{to_sgf(p, size)}]" for p in sorted(pts)))
        else:
            toks.append(("B" if ev[1] == 1 else "W") + f"[{to_sgf(ev[2], size)}]")
    text = f"{size}|" + ";".join(toks)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def split_of(game_hash_hex: str, val_fraction: float = 0.01, test_fraction: float = 0.01) -> str:
    """"train", "val" or "test" from the first 64 bits of the game hash, read as a
    uniform number u in [0, 1): test if u < test_fraction, val if u <
    test_fraction + val_fraction. Growing a fraction only moves games into that split."""
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction > 1:
        raise ValueError("fractions must be >= 0 and sum to <= 1")
    u = int(game_hash_hex[:16], 16) / float(1 << 64)
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


# ---------------------------------------------------------------- files
def fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path: str, obj) -> None:
    """Write JSON to a temporary name, flush + fsync, rename over ``path``."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=False, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


def file_sha256(path: str, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


class ShardError(Exception):
    """A shard directory that cannot be used (no manifest, wrong format, no usable shard)."""


def read_manifest(directory, required: bool = False) -> dict | None:
    """The manifest of a prepared directory, the one reader for writer and reader.

    ``required=False`` (prepare deciding whether to resume): None when there is
    no manifest or it is not one of ours. ``required=True`` (training, eval):
    :class:`ShardError` saying what is wrong, and the version is checked too."""
    path = os.path.join(os.fspath(directory), MANIFEST)
    if not os.path.isfile(path):
        if not required:
            return None
        raise ShardError(f"{directory}: no {MANIFEST}; prepare shards with "
                         f"`gopolicy prepare SGF... --out {directory}`")
    try:
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
    except (OSError, ValueError) as exc:
        if not required:
            return None
        raise ShardError(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        if not required:
            return None
        got = m.get("format") if isinstance(m, dict) else type(m).__name__
        raise ShardError(f"{path}: not a gopolicy shard manifest (format {got!r})")
    if required and m.get("version") != VERSION:
        raise ShardError(f"{path}: shard format version {m.get('version')}, this reader reads {VERSION}")
    return m


def shard_paths(directory: str, name: str) -> tuple[str, str]:
    return (os.path.join(directory, name + PLANES_SUFFIX),
            os.path.join(directory, name + META_SUFFIX))


def verify_shard(directory: str, entry: dict, check_hash: bool = True) -> str | None:
    """None if the shard's files match its manifest entry, else why not
    ("missing", "size", "sha256", "rows")."""
    for kind, path in zip(("planes", "meta"), shard_paths(directory, entry["name"])):
        if not os.path.exists(path):
            return f"{kind} missing"
        want_size = entry.get("bytes", {}).get(kind)
        if want_size is not None and os.path.getsize(path) != want_size:
            return f"{kind} size"
        if check_hash and file_sha256(path) != entry["sha256"][kind]:
            return f"{kind} sha256"
    if not check_hash:
        # cheap structural check: headers say the listed number of rows
        for path in shard_paths(directory, entry["name"]):
            try:
                arr = np.load(path, mmap_mode="r")
            except Exception:
                return "unreadable"
            if arr.shape[0] != entry["positions"]:
                return "rows"
    return None


def load_shard(directory: str, entry: dict, mmap: bool = True):
    """(planes, meta) of a listed shard (planes memory-mapped)."""
    p, m = shard_paths(directory, entry["name"])
    planes = np.load(p, mmap_mode="r" if mmap else None)
    meta = np.load(m)
    if planes.shape[0] != entry["positions"] or meta.shape[0] != entry["positions"]:
        raise ValueError(f"shard {entry['name']}: row count differs from the manifest")
    return planes, meta


class NpyRowWriter:
    """Stream rows of a 2-D uint8 array to a ``.npy`` file whose row count is
    known only at the end: a header of fixed length is reserved and filled in
    by :meth:`finish`, which flushes, fsyncs and renames the temporary file
    into place. Returns (rows, bytes, sha256)."""

    def __init__(self, path: str, row_bytes: int, dtype=np.uint8):
        self.path = path
        self.tmp = f"{path}.tmp.{os.getpid()}"
        self.row_bytes = row_bytes
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self.header_len = len(self._header(0))
        if len(self._header(10 ** 12)) != self.header_len:  # pragma: no cover
            raise AssertionError("npy header length depends on the row count")
        self.f = open(self.tmp, "wb")
        self.f.write(b"\0" * self.header_len)

    def _header(self, n: int) -> bytes:
        import io

        buf = io.BytesIO()
        d = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
             "shape": (n, self.row_bytes)}
        np.lib.format.write_array_header_1_0(buf, d)
        return buf.getvalue()

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.ndim != 2 or rows.shape[1] != self.row_bytes:
            raise ValueError(f"rows of shape {rows.shape}, want (*, {self.row_bytes})")
        self.f.write(rows.tobytes())
        self.rows += rows.shape[0]

    def finish(self) -> tuple[int, int, str]:
        self.f.seek(0)
        self.f.write(self._header(self.rows))
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        size = os.path.getsize(self.tmp)
        digest = file_sha256(self.tmp)
        os.replace(self.tmp, self.path)
        return self.rows, size, digest

    def abort(self) -> None:
        try:
            self.f.close()
        finally:
            try:
                os.remove(self.tmp)
            except OSError:
                pass


def save_npy_atomic(path: str, arr: np.ndarray) -> tuple[int, str]:
    """np.save to a temporary name, fsync, rename. Returns (bytes, sha256)."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        np.save(f, arr, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    size = os.path.getsize(tmp)
    digest = file_sha256(tmp)
    os.replace(tmp, path)
    return size, digest
