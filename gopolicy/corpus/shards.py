"""Reading prepared shards (the writer is ``gopolicy prepare`` / gopolicy/corpus/prepare.py).

Format (SPEC.md): ``DIR/manifest.json`` lists, per split, shards ``<name>`` with
``<name>.planes.npy`` (uint8 ``(n, packed_bytes)``, bit-packed planes) and
``<name>.meta.npy`` (``META_DTYPE`` rows: target, game, move number, source, ...).

* Only shards listed in the manifest are read, and only when both files have
  exactly the header, shape, dtype and byte size the manifest implies (a shard
  being written, truncated or foreign is skipped with a warning); ``verify=True``
  also checks their sha256.
* Files are memory-mapped (``np.load(mmap_mode="r")``): RAM does not grow with
  the corpus, and a batch is a sorted gather of its rows (page locality).
* Order: each epoch is a pseudo-random permutation of all positions computed on
  the fly by keyed Feistel networks (no O(N) permutation array), so the order
  is deterministic from ``(seed, epoch)`` and resumable from ``(epoch, step)``.
  By default it is a :class:`BlockOrder`: random runs of 32 positions (70 KB)
  are read into a 32,768-position chunk with sequential ``pread``s (a thread
  prefetches the next chunk) and batches sample the chunk at random, because a
  corpus larger than RAM read one random row at a time is bound by page faults
  (measured cold on a 17.9 GB corpus: ~1,500 positions/s per-row vs ~20-60k
  per-run; runs of 16/64/256 rows read at 62/120/185 MB/s).
  Rank ``r`` of ``W`` takes permutation slots ``r, r+W, r+2W, ...``: ranks read
  disjoint positions, and together they read exactly the batch a single process
  with the same global batch would (DDP == single process, same samples).
* Augmentation: each sample gets one of the 8 board symmetries from a hash of
  its permutation slot (so it too is the same for any number of ranks). The batch
  is grouped by symmetry on the host and each group is transformed with one
  ``rot90``/``transpose`` on the device; targets go through ``point_map``.
* Unpacking (``gopolicy.corpus.packing.unpack_planes_torch``) runs on the training
  device; ``num_planes=k`` keeps the first k planes (and reads only their bytes).
"""
from __future__ import annotations

import hashlib
import json
import mmap
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gopolicy.go import symmetry
from gopolicy.corpus.packing import packed_size, unpack_planes_nhwc, unpack_planes_torch

from gopolicy.corpus.shard_format import META_DTYPE  # owned by the writer side; both sides import it

FORMAT = "gopolicy-shards"
VERSION = 1
MANIFEST = "manifest.json"



def _random_access(arr: np.ndarray) -> np.ndarray:
    """Tell the kernel a memmap is read at random (no readahead).

    Batches gather scattered 2 KB rows; with the default readahead each page
    fault pulls in ~128 KB, and on a corpus larger than RAM (51 GB here) the
    disk then streams ~900 MB/s of unused data and training starves.
    """
    mm = getattr(arr, "_mmap", None)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_RANDOM"):
        try:
            mm.madvise(mmap.MADV_RANDOM)
        except OSError:
            pass
    return arr

class ShardError(Exception):
    """A shard directory that cannot be used (no manifest, wrong format, no usable shard)."""


# ---------------------------------------------------------------------------
# Opening and validating
# ---------------------------------------------------------------------------

def _npy_header(path: Path):
    """(shape, dtype, data offset) of an .npy file without reading its data."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            shape, fortran, dtype = np.lib.format._read_array_header(f, version)
        if fortran:
            raise ValueError("Fortran-ordered array")
        return shape, np.dtype(dtype), f.tell()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_npy(path: Path, shape: tuple, dtype: np.dtype) -> str | None:
    """None if ``path`` is an .npy of exactly ``shape``/``dtype`` and size, else the problem."""
    if not path.is_file():
        return f"{path.name} missing"
    try:
        got_shape, got_dtype, offset = _npy_header(path)
    except Exception as exc:
        return f"{path.name}: not a readable .npy ({exc})"
    if tuple(got_shape) != tuple(shape):
        return f"{path.name}: shape {tuple(got_shape)} != manifest {tuple(shape)}"
    if got_dtype != dtype:
        return f"{path.name}: dtype {got_dtype} != {dtype}"
    expect = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size = path.stat().st_size
    if size != expect:
        return f"{path.name}: {size} bytes, expected {expect} (truncated or still being written)"
    return None


def read_manifest(root) -> dict:
    root = Path(root)
    path = root / MANIFEST
    if not path.is_file():
        raise ShardError(f"{root}: no {MANIFEST}; prepare shards with `gopolicy prepare SGF... --out {root}`")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ShardError(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ShardError(f"{path}: not a gopolicy shard manifest (format {manifest.get('format')!r})"
                         if isinstance(manifest, dict) else f"{path}: not a gopolicy shard manifest")
    if manifest.get("version") != VERSION:
        raise ShardError(f"{path}: shard format version {manifest.get('version')}, this reader reads {VERSION}")
    return manifest


@dataclass
class _Shard:
    name: str
    positions: int
    planes_path: Path
    meta_path: Path
    planes: np.ndarray | None = None
    meta: np.ndarray | None = None
    fds: tuple | None = None        # (planes fd, planes data offset, meta fd, meta data offset)


class ShardSet:
    """The trusted shards of one split of a prepared directory, memory-mapped.

    ``ShardSet(root, "train")``; ``len(s)`` positions; ``s.gather(idx)`` returns
    ``(packed, meta)`` numpy arrays for global position indices ``idx``.
    """

    def __init__(self, root, split: str = "train", *, verify: bool = False, strict: bool = False,
                 warn=None):
        self.root = Path(root)
        self.split = split
        self.manifest = read_manifest(self.root)
        warn = warn or (lambda msg: print(f"[shards] warning: {msg}", file=sys.stderr))
        m = self.manifest
        self.num_planes = int(m["num_planes"])
        self.board_size = int(m.get("board_size", 19))
        self.packed_bytes = int(m.get("packed_bytes", packed_size(self.num_planes, self.board_size ** 2)))
        if self.packed_bytes != packed_size(self.num_planes, self.board_size ** 2):
            raise ShardError(f"{self.root}: packed_bytes {self.packed_bytes} does not match "
                             f"{self.num_planes} planes of {self.board_size}x{self.board_size}")
        self.sources = list(m.get("sources", []))
        if not m.get("complete", True):
            warn(f"{self.root}: manifest says the corpus is incomplete (prepare still running or interrupted); "
                 "reading the shards listed so far")
        splits = m.get("splits", {})
        if split not in splits:
            raise ShardError(f"{self.root}: no split {split!r} (have: {', '.join(sorted(splits)) or 'none'})")
        self.shards: list[_Shard] = []
        self.skipped: list[tuple[str, str]] = []
        for entry in splits[split].get("shards", []):
            name = str(entry["name"])
            if "/" in name or "\\" in name or name.startswith("."):
                self.skipped.append((name, "bad shard name"))
                continue
            n = int(entry["positions"])
            sh = _Shard(name, n, self.root / f"{name}.planes.npy", self.root / f"{name}.meta.npy")
            problem = (_check_npy(sh.planes_path, (n, self.packed_bytes), np.dtype(np.uint8))
                       or _check_npy(sh.meta_path, (n,), np.dtype(META_DTYPE)))
            listed = entry.get("bytes") or {}
            for kind, path in (("planes", sh.planes_path), ("meta", sh.meta_path)):
                if problem is None and kind in listed and path.stat().st_size != int(listed[kind]):
                    problem = f"{path.name}: {path.stat().st_size} bytes, manifest lists {listed[kind]}"
            if problem is None and verify:
                digests = entry.get("sha256") or {}
                for kind, path in (("planes", sh.planes_path), ("meta", sh.meta_path)):
                    want = digests.get(kind)
                    if want is None:
                        problem = f"no sha256 for {kind} in the manifest"
                    elif _sha256(path) != want:
                        problem = f"{path.name}: sha256 mismatch"
                    if problem:
                        break
            if problem is not None:
                if strict:
                    raise ShardError(f"{self.root}: shard {name}: {problem}")
                warn(f"skipping shard {name}: {problem}")
                self.skipped.append((name, problem))
                continue
            if n > 0:
                self.shards.append(sh)
        if not self.shards:
            raise ShardError(f"{self.root}: split {split!r} has no usable shard"
                             + (f" (skipped: {self.skipped})" if self.skipped else ""))
        sizes = np.array([s.positions for s in self.shards], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _open(self, i: int) -> _Shard:
        sh = self.shards[i]
        if sh.planes is None:
            sh.planes = _random_access(np.load(sh.planes_path, mmap_mode="r"))
            sh.meta = np.load(sh.meta_path, mmap_mode="r")
        return sh

    _fd_lock = threading.Lock()  # the prefetch thread and the main thread both read

    def _fds(self, i: int) -> tuple:
        sh = self.shards[i]
        with self._fd_lock:
            if sh.fds is None:
                fds = []
                for path in (sh.planes_path, sh.meta_path):
                    fds += [os.open(path, os.O_RDONLY), _npy_header(path)[2]]
                sh.fds = tuple(fds)
        return sh.fds

    def read_rows(self, start: int, packed_out: np.ndarray, meta_out: np.ndarray) -> None:
        """Fill ``packed_out`` (n, packed_bytes) and ``meta_out`` (n,) with the
        consecutive positions ``start .. start+n-1`` (may cross shards).

        Plain ``pread``s of whole runs, not the memmap: one I/O per run instead of a
        page fault per 4 KB, and no page-cache pollution by the mapping.
        """
        n = len(packed_out)
        pos = int(start)
        done = 0
        while done < n:
            s = int(np.searchsorted(self.offsets, pos, side="right")) - 1
            local = pos - int(self.offsets[s])
            take = min(n - done, int(self.offsets[s + 1]) - pos)
            pfd, poff, mfd, moff = self._fds(s)
            for fd, off, arr in ((pfd, poff, packed_out), (mfd, moff, meta_out)):
                view = memoryview(arr[done:done + take]).cast("B")
                row = arr.itemsize * (arr.shape[1] if arr.ndim == 2 else 1)
                got = os.preadv(fd, [view], off + local * row)
                if got != len(view):
                    raise ShardError(f"{self.shards[s].name}: short read ({got} of {len(view)} bytes)")
            done += take
            pos += take

    def close(self) -> None:
        """Close the file descriptors of ``read_rows`` (memmaps close with the object)."""
        for sh in self.shards:
            if sh.fds is not None:
                os.close(sh.fds[0])
                os.close(sh.fds[2])
                sh.fds = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def source_name(self, code: int) -> str:
        return self.sources[code] if 0 <= code < len(self.sources) else f"source{code}"

    def gather(self, idx: np.ndarray, num_bytes: int | None = None):
        """Rows ``idx`` (global indices, sorted ascending for locality):
        ``(packed uint8 (B, num_bytes), meta (B,) META_DTYPE)``."""
        idx = np.asarray(idx, dtype=np.int64)
        nb = self.packed_bytes if num_bytes is None else num_bytes
        packed = np.empty((len(idx), nb), dtype=np.uint8)
        meta = np.empty(len(idx), dtype=META_DTYPE)
        if len(idx) == 0:
            return packed, meta
        order = None
        if np.any(idx[1:] < idx[:-1]):
            order = np.argsort(idx, kind="stable")
            idx = idx[order]
        shard_of = np.searchsorted(self.offsets, idx, side="right") - 1
        bounds = np.searchsorted(shard_of, np.arange(len(self.shards) + 1), side="left")
        for s in range(len(self.shards)):
            a, b = bounds[s], bounds[s + 1]
            if a == b:
                continue
            sh = self._open(s)
            local = idx[a:b] - self.offsets[s]
            if nb == self.packed_bytes:
                packed[a:b] = sh.planes[local]
            else:
                packed[a:b] = sh.planes[local, :nb]
            meta[a:b] = sh.meta[local]
        if order is not None:  # back to the caller's order
            inv = np.empty_like(order)
            inv[order] = np.arange(len(order))
            packed, meta = packed[inv], meta[inv]
        return packed, meta


# ---------------------------------------------------------------------------
# Deterministic order: a keyed Feistel permutation, computed per batch
# ---------------------------------------------------------------------------

_MASK = 0xFFFFFFFFFFFFFFFF


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def _key(*parts: int) -> int:
    """A 64-bit key mixed from integers (splitmix64 steps in Python ints)."""
    k = 0
    for p in parts:
        k = (k ^ (int(p) & _MASK)) + 0x9E3779B97F4A7C15 & _MASK
        k ^= k >> 30
        k = k * 0xBF58476D1CE4E5B9 & _MASK
        k ^= k >> 27
        k = k * 0x94D049BB133111EB & _MASK
        k ^= k >> 31
    return k


class FeistelPermutation:
    """A bijection of ``[0, n)`` keyed by ``key``, evaluated on arrays of slots.

    Balanced Feistel network on the smallest even number of bits covering n,
    with cycle-walking back into range. O(1) memory for any n.
    """

    ROUNDS = 6

    def __init__(self, n: int, key: int):
        if n <= 0:
            raise ValueError("empty permutation")
        self.n = int(n)
        bits = max(2, int(n - 1).bit_length())
        bits += bits & 1
        self.half = bits // 2
        self.mask = np.uint64((1 << self.half) - 1)
        self.keys = [np.uint64(_key(key, r)) for r in range(self.ROUNDS)]

    def _round_trip(self, x: np.ndarray) -> np.ndarray:
        h = np.uint64(self.half)
        left, right = x >> h, x & self.mask
        for k in self.keys:
            left, right = right, left ^ (_mix64(right ^ k) & self.mask)
        return (left << h) | right

    def __call__(self, slots) -> np.ndarray:
        x = np.asarray(slots, dtype=np.uint64)
        y = self._round_trip(x)
        out = y >= np.uint64(self.n)
        while out.any():  # cycle-walk: expected < 4 extra rounds
            y[out] = self._round_trip(y[out])
            out = y >= np.uint64(self.n)
        return y.astype(np.int64)


class BlockOrder:
    """An epoch order that reads the disk in runs: a bijection slot -> position.

    The positions are cut into blocks of ``block`` consecutive positions (the
    last ``n % block`` form a tail); the blocks are permuted (Feistel) and taken
    ``chunk_blocks`` at a time into *chunks*; inside a chunk the positions are
    permuted again (Feistel keyed by the chunk). Slots ``[c*C*L, (c+1)*C*L)``
    are chunk ``c`` (the last chunk also holds the tail). So a batch is a
    random sample of one chunk (~``chunk_blocks`` blocks from all over the
    corpus), and a loader reads each chunk once, as ``chunk_blocks`` runs of
    ``block`` rows: sequential I/O instead of one random page fault per
    position. Like the plain Feistel order it is a pure function of the slot,
    so it is deterministic, resumable and splits across ranks the same way.
    """

    def __init__(self, n: int, key: int, block: int, chunk_blocks: int):
        if n <= 0:
            raise ValueError("empty permutation")
        self.n, self.block, self.chunk_blocks = int(n), int(block), int(chunk_blocks)
        self.key = key
        self.full_blocks = self.n // self.block
        self.tail = self.n - self.full_blocks * self.block
        self.chunk_size = self.block * self.chunk_blocks
        self.num_chunks = max(1, -(-self.full_blocks // self.chunk_blocks))
        self._blocks = FeistelPermutation(self.full_blocks, _key(key, 4)) if self.full_blocks else None
        self._inner: dict[int, FeistelPermutation] = {}
        self._starts: dict[int, np.ndarray] = {}

    def chunk_of(self, slots: np.ndarray) -> np.ndarray:
        return np.minimum(np.asarray(slots, dtype=np.int64) // self.chunk_size, self.num_chunks - 1)

    def chunk_blocks_of(self, c: int) -> int:
        return min(self.chunk_blocks, self.full_blocks - c * self.chunk_blocks)

    def chunk_len(self, c: int) -> int:
        return self.chunk_blocks_of(c) * self.block + (self.tail if c == self.num_chunks - 1 else 0)

    def chunk_starts(self, c: int) -> np.ndarray:
        """First position of each block of chunk ``c``, in chunk order (the tail, if
        any, follows them at position ``full_blocks * block``)."""
        if c not in self._starts:
            nb = max(0, self.chunk_blocks_of(c))
            self._starts[c] = (self._blocks(c * self.chunk_blocks + np.arange(nb, dtype=np.int64)) * self.block
                               if nb else np.zeros(0, dtype=np.int64))
        return self._starts[c]

    def locate(self, slots):
        """``(chunk, row in that chunk, global position)`` of each slot."""
        slots = np.asarray(slots, dtype=np.int64)
        chunk = self.chunk_of(slots)
        row = np.empty_like(slots)
        pos = np.empty_like(slots)
        for c in np.unique(chunk).tolist():
            m = chunk == c
            if c not in self._inner:
                if len(self._inner) > 4:  # a few chunks at a time are in use
                    self._inner.clear()
                    self._starts.clear()
                self._inner[c] = FeistelPermutation(self.chunk_len(c), _key(self.key, 3, c))
            r = self._inner[c](slots[m] - c * self.chunk_size)
            in_blocks = self.chunk_blocks_of(c) * self.block
            # rows past the blocks are the tail, stored after the last full block
            g = self.full_blocks * self.block + (r - in_blocks)
            b = r < in_blocks
            if b.any():
                g[b] = self.chunk_starts(c)[r[b] // self.block] + r[b] % self.block
            row[m], pos[m] = r, g
        return chunk, row, pos

    def __call__(self, slots) -> np.ndarray:
        return self.locate(slots)[2]


def slot_symmetries(slots: np.ndarray, key: int) -> np.ndarray:
    """Symmetry 0..7 for each permutation slot (a hash, so any rank split agrees)."""
    return (_mix64(np.asarray(slots, dtype=np.uint64) ^ np.uint64(key)) >> np.uint64(61)).astype(np.int64)


# ---------------------------------------------------------------------------
# Host batch -> device tensors
# ---------------------------------------------------------------------------

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
        x = unpack_planes_nhwc(packed, num_planes, sym, board_size)
        if np.any(sym):
            target = _point_maps(board_size)[sym, target]
        return Batch(x, torch.from_numpy(target), meta, sym)
    counts = None
    if np.any(sym):
        order = np.argsort(sym, kind="stable")
        packed, meta, sym = packed[order], meta[order], sym[order]
        target = _point_maps(board_size)[sym, target[order]]
        counts = np.bincount(sym, minlength=symmetry.NUM_SYMMETRIES)
    t_packed = torch.from_numpy(np.ascontiguousarray(packed))
    t_target = torch.from_numpy(target)
    if pin_memory:
        t_packed, t_target = t_packed.pin_memory(), t_target.pin_memory()
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


# ---------------------------------------------------------------------------
# The training loader
# ---------------------------------------------------------------------------

class ShardLoader:
    """Endless, deterministic, resumable random batches for one rank.

    ``batch_size`` is the *global* batch; each of ``world_size`` ranks gets
    ``batch_size // world_size`` positions per step. Epoch ``e``'s order is keyed
    by ``(seed, e)``; the last partial global batch of an epoch is dropped.
    ``state_dict()`` / ``load_state_dict()`` save and restore the position
    (``epoch``, ``step``) so a resumed run reads the same batches.

    ``block > 1`` (default 32): :class:`BlockOrder`; chunks of ``block *
    chunk_blocks`` positions (32,768 = 71 MB by default) are read with
    sequential ``pread``s, the next one by a background thread while the
    current one is consumed. A batch of 256 then holds ~32 pairs of rows from
    the same run (nearby moves of one game): mild correlation, a few % of rows.
    Every rank reads whole chunks (on one machine the page cache shares them). ``block=1``: every position independently random
    (:class:`FeistelPermutation`) through the memmap, one page fault per
    position on a corpus larger than RAM; checkpoints written before blocks
    existed resume in this order.
    """

    def __init__(self, shards: ShardSet, batch_size: int, *, rank: int = 0, world_size: int = 1,
                 seed: int = 0, augment: bool = True, num_planes: int | None = None, device=None,
                 pin_memory: bool = False, non_blocking: bool = False, block: int = 32,
                 chunk_blocks: int = 1024, prefetch: bool = True):
        if batch_size % world_size:
            raise ValueError(f"global batch size {batch_size} is not divisible by {world_size} ranks")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} not in 0..{world_size - 1}")
        if block < 1 or chunk_blocks < 1:
            raise ValueError("block and chunk_blocks must be >= 1")
        self.shards = shards
        self.batch_size = batch_size
        self.local_batch = batch_size // world_size
        self.rank, self.world_size = rank, world_size
        self.seed = int(seed)
        self.augment = augment
        self.num_planes = shards.num_planes if num_planes is None else int(num_planes)
        if not 1 <= self.num_planes <= shards.num_planes:
            raise ValueError(f"--planes {self.num_planes}: the shards hold {shards.num_planes} planes")
        self.num_bytes = packed_size(self.num_planes, shards.board_size ** 2)
        self.device = device
        self.pin_memory, self.non_blocking = pin_memory, non_blocking
        self.block, self.chunk_blocks, self.prefetch = int(block), int(chunk_blocks), prefetch
        self.steps_per_epoch = len(shards) // batch_size
        if self.steps_per_epoch == 0:
            raise ShardError(f"split {shards.split!r} has {len(shards)} positions, fewer than one batch of {batch_size}")
        self.epoch = 0
        self.step = 0
        self._perm_epoch = None
        self._perm = None
        self._chunks: dict[tuple, tuple] = {}    # (block, chunk_blocks, seed, epoch, chunk) -> (packed, meta)
        self._pending: dict[tuple, object] = {}  # same keys -> Future
        self._pool = None

    # -- order ------------------------------------------------------------
    def _permutation(self, epoch: int):
        if self._perm_epoch != (epoch, self.block, self.chunk_blocks, self.seed):
            n, key = len(self.shards), _key(self.seed, epoch, 1)
            self._perm = (FeistelPermutation(n, key) if self.block == 1
                          else BlockOrder(n, key, self.block, self.chunk_blocks))
            self._perm_epoch = (epoch, self.block, self.chunk_blocks, self.seed)
        return self._perm

    def slots(self, epoch: int, step: int) -> np.ndarray:
        """Permutation slots this rank reads at ``(epoch, step)``."""
        base = step * self.batch_size
        return base + np.arange(self.local_batch, dtype=np.int64) * self.world_size + self.rank

    def _symmetries(self, epoch: int, slots: np.ndarray) -> np.ndarray:
        if self.augment:
            return slot_symmetries(slots, _key(self.seed, epoch, 2))
        return np.zeros(len(slots), dtype=np.int64)

    def indices(self, epoch: int, step: int):
        """(global position indices sorted ascending, their symmetries) for this rank."""
        slots = self.slots(epoch, step)
        idx = self._permutation(epoch)(slots)
        sym = self._symmetries(epoch, slots)
        order = np.argsort(idx, kind="stable")
        return idx[order], sym[order]

    # -- chunked reading (block > 1) --------------------------------------------
    def _read_chunk(self, order: BlockOrder, c: int):
        n = order.chunk_len(c)
        packed = np.empty((n, self.shards.packed_bytes), dtype=np.uint8)
        meta = np.empty(n, dtype=META_DTYPE)
        starts = order.chunk_starts(c)
        L = order.block
        for j in np.argsort(starts, kind="stable").tolist():  # file order: kinder to disks
            self.shards.read_rows(int(starts[j]), packed[j * L:(j + 1) * L], meta[j * L:(j + 1) * L])
        if len(starts) * L < n:  # the tail rides with the last chunk
            self.shards.read_rows(order.full_blocks * L, packed[len(starts) * L:], meta[len(starts) * L:])
        return packed, meta

    def _chunk(self, epoch: int, c: int):
        key = (self.block, self.chunk_blocks, self.seed, epoch, c)
        if key not in self._chunks:
            fut = self._pending.pop(key, None)
            self._chunks[key] = fut.result() if fut is not None else self._read_chunk(self._permutation(epoch), c)
            while len(self._chunks) > 2:  # current and previous (a batch may straddle two)
                self._chunks.pop(next(iter(self._chunks)))
        if self.prefetch:
            nxt = (epoch, c + 1) if c + 1 < self._permutation(epoch).num_chunks else (epoch + 1, 0)
            nkey = (self.block, self.chunk_blocks, self.seed, *nxt)
            if nkey not in self._chunks and nkey not in self._pending:
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor
                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="gopolicy-shards")
                self._pending.clear()  # a stale prefetch (after a seek) is simply dropped
                order = BlockOrder(len(self.shards), _key(self.seed, nxt[0], 1), self.block, self.chunk_blocks)
                self._pending[nkey] = self._pool.submit(self._read_chunk, order, nxt[1])
        return self._chunks[key]

    def next_host(self):
        """Advance one step; ``(packed, meta, sym)`` numpy arrays for this rank."""
        if self.block == 1:
            idx, sym = self.indices(self.epoch, self.step)
            packed, meta = self.shards.gather(idx, self.num_bytes)
        else:
            slots = self.slots(self.epoch, self.step)
            chunk, row, pos = self._permutation(self.epoch).locate(slots)
            srt = np.argsort(pos, kind="stable")  # same row order as indices()
            slots, chunk, row = slots[srt], chunk[srt], row[srt]
            sym = self._symmetries(self.epoch, slots)
            packed = np.empty((len(slots), self.num_bytes), dtype=np.uint8)
            meta = np.empty(len(slots), dtype=META_DTYPE)
            for c in np.unique(chunk).tolist():
                m = chunk == c
                cp, cm = self._chunk(self.epoch, c)
                packed[m] = cp[row[m], :self.num_bytes]
                meta[m] = cm[row[m]]
        self.step += 1
        if self.step >= self.steps_per_epoch:
            self.epoch += 1
            self.step = 0
        return packed, meta, sym

    def next_batch(self) -> Batch:
        packed, meta, sym = self.next_host()
        return to_device(packed, meta, sym, self.num_planes, self.device, board_size=self.shards.board_size,
                         pin_memory=self.pin_memory, non_blocking=self.non_blocking)

    def __iter__(self):
        while True:
            yield self.next_batch()

    def close(self) -> None:
        """Stop the prefetch thread and drop cached chunks."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()
        self._chunks.clear()

    # -- resumption ----------------------------------------------------------
    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch, "step": self.step, "batch_size": self.batch_size,
                "positions": len(self.shards), "samples_in_epoch": self.step * self.batch_size,
                "block": self.block, "chunk_blocks": self.chunk_blocks}

    def load_state_dict(self, state: dict) -> None:
        if int(state.get("positions", len(self.shards))) != len(self.shards):
            print(f"[shards] warning: resuming on a split of {len(self.shards)} positions, the checkpoint "
                  f"was taken on {state['positions']}: the data order changes", file=sys.stderr)
        self.seed = int(state["seed"])
        self.epoch = int(state["epoch"])
        # the order of the run that wrote the state (no "block": written before blocks existed)
        self.block = int(state.get("block", 1))
        self.chunk_blocks = int(state.get("chunk_blocks", self.chunk_blocks))
        if int(state.get("batch_size", self.batch_size)) == self.batch_size:
            self.step = int(state["step"])
        else:  # keep the position in the epoch as well as a new batch size allows
            self.step = int(state.get("samples_in_epoch", 0)) // self.batch_size
        if self.step >= self.steps_per_epoch:
            self.epoch, self.step = self.epoch + 1, 0
        self._perm_epoch = None
        self._pending.clear()
        self._chunks.clear()


def eval_indices(n: int, max_positions: int | None = None) -> np.ndarray:
    """Positions to evaluate: all, or ``max_positions`` spread evenly over the split
    (so every shard, source and game phase is represented)."""
    if max_positions is None or max_positions >= n:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, max_positions).round().astype(np.int64))


def iter_eval_batches(shards: ShardSet, batch_size: int, *, num_planes: int | None = None,
                      max_positions: int | None = None, rank: int = 0, world_size: int = 1):
    """Host batches ``(packed, meta)`` in file order, no augmentation; rank r of W
    takes every W-th batch."""
    k = shards.num_planes if num_planes is None else num_planes
    nb = packed_size(k, shards.board_size ** 2)
    idx = eval_indices(len(shards), max_positions)
    for b, start in enumerate(range(0, len(idx), batch_size)):
        if b % world_size != rank:
            continue
        yield shards.gather(idx[start:start + batch_size], nb)


# ---------------------------------------------------------------------------
# Synthetic shards (tests and benchmarks): written exactly as SPEC.md says
# ---------------------------------------------------------------------------

def write_synthetic_shards(root, *, train: int = 512, val: int = 128, test: int = 0, shard_size: int = 256,
                           num_planes: int = 48, board_size: int = 19, seed: int = 0, signal: float = 1.0,
                           noise: float = 0.05, sources=("synth-a", "synth-b"), marker_plane: int = 0) -> Path:
    """A small prepared directory in the documented format.

    Each position has random sparse 0/1 planes; with probability ``signal``
    plane ``marker_plane`` is the one-hot of the target point (else of another
    point), so a CNN can learn it and a hand-made model knows the answer.
    Meta: game = i // 20, move_number cycles 1..250, source cycles over
    ``sources``, colour alternates.
    """
    from gopolicy.corpus.packing import pack_planes

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pts = board_size * board_size
    splits = {}
    game_base = 0
    for split, total in (("train", train), ("val", val), ("test", test)):
        entries = []
        done = 0
        k = 0
        while done < total:
            n = min(shard_size, total - done)
            planes = (rng.random((n, num_planes, pts)) < noise).astype(np.uint8)
            target = rng.integers(0, pts, n)
            hit = rng.random(n) < signal
            other = (target + rng.integers(1, pts, n)) % pts
            mark = np.where(hit, target, other)
            planes[:, marker_plane, :] = 0
            planes[np.arange(n), marker_plane, mark] = 1
            planes = planes.reshape(n, num_planes, board_size, board_size)
            meta = np.zeros(n, dtype=META_DTYPE)
            i = np.arange(done, done + n)
            meta["target"] = target
            meta["game"] = game_base + i // 20
            meta["move_number"] = i % 250 + 1
            meta["source"] = i % len(sources)
            meta["color"] = 1 + (i % 2)
            name = f"{split}-{k:05d}"
            np.save(root / f"{name}.planes.npy", pack_planes(planes))
            np.save(root / f"{name}.meta.npy", meta)
            entries.append({"name": name, "positions": int(n), "games": int(len(np.unique(meta["game"]))),
                            "bytes": {"planes": (root / f"{name}.planes.npy").stat().st_size,
                                      "meta": (root / f"{name}.meta.npy").stat().st_size},
                            "sha256": {"planes": _sha256(root / f"{name}.planes.npy"),
                                       "meta": _sha256(root / f"{name}.meta.npy")}})
            done += n
            k += 1
        game_base += total // 20 + 1
        splits[split] = {"positions": int(total), "games": int(sum(e["games"] for e in entries)),
                         "shards": entries}
    manifest = {"format": FORMAT, "version": VERSION, "num_planes": num_planes, "board_size": board_size,
                "packed_bytes": packed_size(num_planes, pts), "sources": list(sources), "splits": splits,
                "skipped": {}, "skipped_files": [], "inputs": ["synthetic"], "complete": True}
    tmp = root / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, root / MANIFEST)
    return root
