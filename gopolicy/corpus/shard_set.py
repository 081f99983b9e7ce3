"""The trusted shards of one split of a prepared directory (the writer is
``gopolicy prepare``; the format is :mod:`gopolicy.corpus.shard_format`).

* Only shards listed in the manifest are read, and only when both files have
  exactly the header, shape, dtype and byte size the manifest implies (a shard
  being written, truncated or foreign is skipped with a warning); ``verify=True``
  also checks their sha256.
* Files are memory-mapped (``np.load(mmap_mode="r")``): RAM does not grow with
  the corpus, and a batch is a sorted gather of its rows (page locality);
  :meth:`ShardSet.read_rows` reads runs of rows with plain ``pread``s.
"""
from __future__ import annotations

import mmap
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gopolicy.corpus.packing import packed_size
from gopolicy.corpus.shard_format import META_DTYPE, ShardError, file_sha256, read_manifest

__all__ = ["ShardError", "ShardSet"]


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
        self.manifest = read_manifest(self.root, required=True)
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
            problem = self._problem(sh, entry, verify)
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

    def _problem(self, sh: _Shard, entry: dict, verify: bool) -> str | None:
        """Why a listed shard cannot be read (shape, dtype, size, with ``verify`` its sha256), or None."""
        n = sh.positions
        problem = (_check_npy(sh.planes_path, (n, self.packed_bytes), np.dtype(np.uint8))
                   or _check_npy(sh.meta_path, (n,), np.dtype(META_DTYPE)))
        if problem is not None:
            return problem
        files = (("planes", sh.planes_path), ("meta", sh.meta_path))
        listed = entry.get("bytes") or {}
        for kind, path in files:
            if kind in listed and path.stat().st_size != int(listed[kind]):
                return f"{path.name}: {path.stat().st_size} bytes, manifest lists {listed[kind]}"
        if not verify:
            return None
        digests = entry.get("sha256") or {}
        for kind, path in files:
            want = digests.get(kind)
            if want is None:
                return f"no sha256 for {kind} in the manifest"
            if file_sha256(path) != want:
                return f"{path.name}: sha256 mismatch"
        return None

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
