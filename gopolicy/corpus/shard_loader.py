"""The training loader over prepared shards: endless, deterministic, resumable.

Each epoch's order is a :mod:`gopolicy.corpus.epoch_order` permutation keyed by
``(seed, epoch)``; rank ``r`` of ``W`` takes permutation slots ``r, r+W, r+2W, ...``,
so ranks read disjoint positions and together read exactly the batch a single
process with the same global batch would (DDP == single process, same samples).
Each sample gets one of the 8 board symmetries from a hash of its slot (the same
for any number of ranks or workers); :func:`gopolicy.corpus.batches.to_device`
applies it.

``workers=N``: the host batch of step ``s`` is read and gathered by one of N
worker processes (:mod:`gopolicy.corpus.feed_workers`); the batches are the
same as with ``workers=0`` (a pure function of the step), only made in parallel.
"""
from __future__ import annotations

import itertools
import sys

import numpy as np

from gopolicy.corpus.batches import Batch, group_by_symmetry, on_accelerator, to_device
from gopolicy.corpus.epoch_order import BlockOrder, FeistelPermutation, mix_key, slot_symmetries
from gopolicy.corpus.feed_workers import Feed, make_loader, stop
from gopolicy.corpus.packing import packed_size
from gopolicy.corpus.shard_format import META_DTYPE, ShardError
from gopolicy.corpus.shard_set import ShardSet


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
                 chunk_blocks: int = 1024, prefetch: bool = True, workers: int = 0):
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
        self.workers = int(workers)
        self._feed = None        # a feed_workers.Feed while workers > 0

    # -- order ------------------------------------------------------------
    def _permutation(self, epoch: int):
        if self._perm_epoch != (epoch, self.block, self.chunk_blocks, self.seed):
            n, key = len(self.shards), mix_key(self.seed, epoch, 1)
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
            return slot_symmetries(slots, mix_key(self.seed, epoch, 2))
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
                order = BlockOrder(len(self.shards), mix_key(self.seed, nxt[0], 1), self.block,
                                   self.chunk_blocks)
                self._pending[nkey] = self._pool.submit(self._read_chunk, order, nxt[1])
        return self._chunks[key]

    def next_host(self):
        """Advance one step; ``(packed, meta, sym)`` numpy arrays for this rank."""
        if self.workers > 0:
            return self._next_from_workers()
        return self._make_host()

    def _make_host(self):
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

    # -- worker processes (workers > 0) -------------------------------------------
    def _clone(self) -> "ShardLoader":
        """A loader for one worker: same order, no prefetch thread, no workers."""
        return ShardLoader(self.shards, self.batch_size, rank=self.rank, world_size=self.world_size,
                           seed=self.seed, augment=self.augment, num_planes=self.num_planes,
                           block=self.block, chunk_blocks=self.chunk_blocks, prefetch=False)

    def _next_from_workers(self):
        if self._feed is None:
            first = self.epoch * self.steps_per_epoch + self.step
            dl = make_loader(_StepBatches(self._clone(), grouped=on_accelerator(self.device)),
                             workers=self.workers, sampler=itertools.count(first))
            self._feed = Feed(dl, f"shard loader ({self.workers} workers)")
        item = self._feed.next()
        self.step += 1
        if self.step >= self.steps_per_epoch:
            self.epoch += 1
            self.step = 0
        return item

    def _stop_workers(self) -> None:
        stop(self._feed)
        self._feed = None

    def next_batch(self) -> Batch:
        if self.workers > 0:
            packed, meta, sym = self._next_from_workers()
            return to_device(packed, meta, sym, self.num_planes, self.device, board_size=self.shards.board_size,
                             pin_memory=self.pin_memory, non_blocking=self.non_blocking)
        packed, meta, sym = self.next_host()
        return to_device(packed, meta, sym, self.num_planes, self.device, board_size=self.shards.board_size,
                         pin_memory=self.pin_memory, non_blocking=self.non_blocking)

    def __iter__(self):
        while True:
            yield self.next_batch()

    def close(self) -> None:
        """Stop the prefetch thread and the workers, drop cached chunks."""
        self._stop_workers()
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
        self._stop_workers()  # they restart at the restored step


class _StepBatches:
    """Map-style dataset: item ``s`` is the host batch of global step ``s``
    (``epoch * steps_per_epoch + step``), made by a worker's own loader."""

    def __init__(self, proto: ShardLoader, grouped: bool):
        self.proto, self.grouped = proto, grouped

    def __getitem__(self, s: int):
        loader = self.proto  # each worker process has its own copy (fork)
        loader.epoch, loader.step = divmod(int(s), loader.steps_per_epoch)
        packed, meta, sym = loader._make_host()
        if self.grouped:  # the main process then only pins and copies
            packed, meta, sym = group_by_symmetry(packed, meta, sym)
        return np.ascontiguousarray(packed), meta, sym


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
