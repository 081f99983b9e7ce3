"""Training positions straight from SGF files, archives and folders (``gopolicy train --sgf``).

No shards on disk: worker processes (:mod:`gopolicy.corpus.feed_workers`) each
take every N-th game of the inputs (in the order ``gopolicy prepare`` numbers
them), parse, replay and encode it with the same code as prepare
(:class:`gopolicy.go.features.PlaneWriter`, bit-packed), and keep the positions in
a *shuffle buffer*: a batch is drawn at random from ``shuffle`` positions of
hundreds of games (darkforest mixes 2,048-4,096 games the same way), each new
position taking a drawn one's place. Every position gets a random one of the 8
symmetries, applied by the same :func:`gopolicy.corpus.batches.to_device` as
the shard loader. Only the games that :func:`~gopolicy.corpus.shard_format.split_of`
puts in the requested split are used (the same game hash and fractions as
prepare, so a held-out game is held out in both). Unreadable archives, members
and games are skipped and counted by reason, as prepare counts them.

Resumption: every batch carries its worker's *resume key*, ``epoch * games +
game`` of the oldest game with a position not yet handed out. All positions of
older games have been handed out, so a resumed stream restarts every worker at
the smallest key of the last batches consumed: no position is lost, and the
positions of later games already used (at most the shuffle buffers plus the
batches in flight) are seen a second time. The shuffle and symmetries after a
resume are drawn afresh (they are keyed by the seed and the restart key).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from gopolicy.corpus import shard_format as sf
from gopolicy.corpus.batches import Batch, group_by_symmetry, on_accelerator, to_device
from gopolicy.corpus.feed_workers import Feed, FeedError, make_loader, stop
from gopolicy.corpus.packing import pack_planes, packed_size
from gopolicy.corpus.sgf import parse_game, replay
from gopolicy.corpus.sgf_sources import (
    SkipGame,
    clean_name,
    expand_inputs,
    iter_archive,
    read_file_capped,
    source_of,
)
from gopolicy.corpus.shard_loader import eval_indices
from gopolicy.go.board import Board
from gopolicy.go.coords import pass_move
from gopolicy.go.features import PlaneWriter

BOARD_SIZE = 19
NUM_PLANES = 48
DEFAULT_SHUFFLE = 65_536       # positions per worker (~140 MB packed): ~300 games
HELD_OUT = "held out"          # a game of another split (not an error; counted apart)

# ---------------------------------------------------------------------------
# The games of the inputs, numbered as prepare numbers them
# ---------------------------------------------------------------------------

def input_groups(inputs) -> list[tuple[str, str | list[str]]]:
    """Inputs -> ``("archive", path)`` / ``("files", [paths])`` in prepare's order:
    loose files grouped by folder, in the order the folders first appear."""
    groups: list = []
    loose: dict[str, list[str]] = {}
    for kind, path in expand_inputs([os.fspath(p) for p in inputs]):
        if kind == "archive":
            groups.append(("archive", path))
            continue
        key = os.path.dirname(path)
        if key not in loose:
            loose[key] = []
            groups.append(("files", loose[key]))
        loose[key].append(path)
    return groups


def _read_file(path: str, on_skip):
    try:
        return read_file_capped(path)
    except SkipGame as exc:   # too large, unreadable: counted, not fatal
        on_skip(exc.reason, f"{path}: {exc.detail}")
    return None


def iter_games(groups, on_skip, names_only: bool = False, want=None):
    """``(game id, name, bytes)`` of every SGF of the inputs; ids count what is
    listed, as prepare's plan does. ``want(game id)`` False: a loose file is not
    read (its bytes are None); an archive is read through in any case."""
    gid = 0
    for kind, what in groups:
        if kind == "archive":
            for name, data in iter_archive(what, names_only=names_only, on_skip=on_skip):
                yield gid, name, data
                gid += 1
        else:
            for path in what:
                data = None if names_only or (want is not None and not want(gid)) else _read_file(path, on_skip)
                if data is not None or names_only:
                    yield gid, clean_name(path), data
                gid += 1


@dataclass
class StreamPlan:
    """What a names-only pass over the inputs found: the games, their sources."""
    inputs: list[str]
    groups: list
    games: int
    sources: list[str]
    skipped: dict = field(default_factory=dict)

    @property
    def source_index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.sources)}


def plan_stream(inputs) -> StreamPlan:
    """Number the games and sources (one sequential read of each archive's names)."""
    groups = input_groups(inputs)
    skipped: dict[str, int] = {}

    def on_skip(reason, detail):
        skipped[reason] = skipped.get(reason, 0) + 1

    sources: list[str] = []
    seen: set[str] = set()
    games = 0
    for _gid, name, _ in iter_games(groups, on_skip, names_only=True):
        s = source_of(name)
        if s not in seen:
            seen.add(s)
            sources.append(s)
        games += 1
    if games == 0:
        raise ValueError(f"no SGF games in {', '.join(map(str, inputs))}")
    if len(sources) > 255:
        raise ValueError("more than 255 sources do not fit meta['source'] (u1)")
    return StreamPlan([os.fspath(p) for p in inputs], groups, games, sources, skipped)


# ---------------------------------------------------------------------------
# One game -> its positions (what prepare writes for it)
# ---------------------------------------------------------------------------

class GameEncoder:
    """Parse + replay + planes of one game, as prepare does: every non-pass move
    is a target, the planes are those of the position before it."""

    def __init__(self, source_index: dict[str, int], num_planes: int = NUM_PLANES):
        self.writer = PlaneWriter(BOARD_SIZE)
        self.source_index = source_index
        self.colour_plane = num_planes > NUM_PLANES
        self.buf = np.empty((400, num_planes, BOARD_SIZE, BOARD_SIZE), np.uint8)
        self.pmove = pass_move(BOARD_SIZE)

    def parse(self, name: str, data: bytes):
        return parse_game(data, name)

    def encode(self, game, gid: int, name: str):
        """``(packed (k, bytes), meta (k,))``; raises SkipGame for a bad game."""
        rows = []
        k = 0
        src = self.source_index.get(source_of(name), 0)
        for board, color, mv, number in replay(game):
            if mv == self.pmove:
                continue   # passes are played, never targets
            if k >= self.buf.shape[0]:
                self.buf = np.concatenate([self.buf, np.empty_like(self.buf)])
            self.writer(board, color, colour_plane=self.colour_plane, out=self.buf[k])
            rows.append((mv, gid, number, src, color, game.black_rank, game.white_rank))
            k += 1
        meta = np.array(rows, dtype=sf.META_DTYPE) if rows else np.zeros(0, sf.META_DTYPE)
        return pack_planes(self.buf[:k]), meta


# ---------------------------------------------------------------------------
# The shuffle buffer
# ---------------------------------------------------------------------------

class ShuffleBuffer:
    """Up to ``capacity`` positions; :meth:`take` removes ``n`` chosen at random
    (``rng`` None: the oldest ``n``, in order)."""

    def __init__(self, capacity: int, row_bytes: int, rng: np.random.Generator | None):
        self.capacity = max(1, int(capacity))
        self.packed = np.empty((self.capacity, row_bytes), np.uint8)
        self.meta = np.empty(self.capacity, sf.META_DTYPE)
        self.key = np.empty(self.capacity, np.int64)   # resume key of each row's game
        self.count = 0
        self.rng = rng

    def free(self) -> int:
        return self.capacity - self.count

    def add(self, packed, meta, key: int) -> None:
        n = len(meta)
        assert n <= self.free()
        self.packed[self.count:self.count + n] = packed
        self.meta[self.count:self.count + n] = meta
        self.key[self.count:self.count + n] = key
        self.count += n

    def take(self, n: int):
        """``(packed, meta)`` of ``n`` rows drawn without replacement (order random)."""
        n = min(n, self.count)
        if self.rng is None:  # in order: take the head, move the rest down
            out = self.packed[:n].copy(), self.meta[:n].copy()
            for a in (self.packed, self.meta, self.key):
                a[:self.count - n] = a[n:self.count]
            self.count -= n
            return out
        idx = self.rng.choice(self.count, n, replace=False)
        out = self.packed[idx], self.meta[idx]
        # fill the holes left below the new end with the rows kept from the tail
        end = self.count - n
        tail = np.arange(end, self.count)
        kept = tail[~np.isin(tail, idx)]
        holes = idx[idx < end]
        self.packed[holes] = self.packed[kept]
        self.meta[holes] = self.meta[kept]
        self.key[holes] = self.key[kept]
        self.count = end
        return out

    def oldest(self) -> int | None:
        return int(self.key[:self.count].min()) if self.count else None


# ---------------------------------------------------------------------------
# The worker side: an IterableDataset of host batches
# ---------------------------------------------------------------------------

@dataclass
class StreamConfig:
    batch_size: int                 # positions per batch (this rank's share)
    split: str = "train"
    val_fraction: float = 0.01
    test_fraction: float = 0.01
    shuffle: int = DEFAULT_SHUFFLE  # positions per worker; <= 1: game order (no shuffle)
    augment: bool = True
    seed: int = 0
    num_planes: int = NUM_PLANES    # planes the batches keep (the first k)
    epochs: int | None = None       # None: endless
    start_key: int = 0              # resume key to start at
    rank: int = 0
    world_size: int = 1
    grouped: bool = False           # rows grouped by symmetry (for the device path)
    drop_last: bool = True


class SGFStream:
    """Iterable of host batches ``(packed uint8, meta, sym, info)`` (numpy arrays).

    Run in DataLoader workers, worker ``w`` of ``N`` (on rank ``r`` of ``W``)
    takes the games with id ``% (N*W) == r*N + w``. ``info`` holds the worker's
    id, its resume key and the counts (games, positions, skips by reason) since
    its previous batch.
    """

    def __init__(self, plan: StreamPlan, cfg: StreamConfig):
        self.plan, self.cfg = plan, cfg
        if cfg.split not in sf.SPLITS:
            raise ValueError(f"split {cfg.split!r}: one of {', '.join(sf.SPLITS)}")
        sf.split_of("0" * 16, cfg.val_fraction, cfg.test_fraction)  # validates the fractions

    def __iter__(self):
        from torch.utils.data import get_worker_info

        wi = get_worker_info()
        worker, workers = (wi.id, wi.num_workers) if wi is not None else (0, 1)
        yield from _Lane(self.plan, self.cfg, worker, workers).batches()


class _Lane:
    """One worker's share of an :class:`SGFStream`: worker ``w`` of ``N`` on rank
    ``r`` of ``W`` is lane ``r*N + w`` of ``N*W``. Holds the lane's encoder,
    shuffle buffer, counts since the last batch and resume key."""

    def __init__(self, plan: StreamPlan, cfg: StreamConfig, worker: int, workers: int):
        self.plan, self.cfg = plan, cfg
        self.lanes = workers * cfg.world_size
        self.lane = cfg.rank * workers + worker
        self.rng = np.random.default_rng([cfg.seed, cfg.start_key, self.lane, self.lanes, 7])
        self.enc = GameEncoder(plan.source_index)
        nbytes_all = packed_size(self.enc.buf.shape[1], BOARD_SIZE * BOARD_SIZE)
        self.nbytes = packed_size(cfg.num_planes, BOARD_SIZE * BOARD_SIZE)
        if self.nbytes > nbytes_all:
            raise ValueError(f"{cfg.num_planes} planes asked, the encoder makes {self.enc.buf.shape[1]}")
        self.buf = (ShuffleBuffer(max(cfg.shuffle, cfg.batch_size), self.nbytes, self.rng) if cfg.shuffle > 1
                    else ShuffleBuffer(cfg.batch_size, self.nbytes, None))
        self.counts: dict[str, int] = {}
        self.games = self.positions = 0     # since the last batch
        self.total = 0                      # games used by this lane
        self.key = cfg.start_key            # resume key of the game being read

    def count(self, reason, detail=None) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1

    def archive_skip(self, reason, detail) -> None:
        if self.lane == 0:  # every lane reads every archive: one counts its faults
            self.count(reason)

    def batches(self):
        """Host batches, epoch after epoch from the start key; a finite stream ends
        with what is left in the buffer, in random order."""
        cfg = self.cfg
        start_epoch, start_game = divmod(cfg.start_key, self.plan.games)
        epoch = start_epoch
        while cfg.epochs is None or epoch < cfg.epochs:
            used = self.total
            yield from self.epoch(epoch, start_game if epoch == start_epoch else 0)
            if self.total == used and not (epoch == start_epoch and start_game):
                break   # a whole epoch without a game of this split for this lane: it has nothing to give
            epoch += 1
        while self.buf.count >= cfg.batch_size or (self.buf.count and not cfg.drop_last):
            yield self.batch(*self.buf.take(cfg.batch_size))

    def epoch(self, epoch: int, first_game: int):
        """The batches that fill up while this lane's games of one epoch (from
        ``first_game`` on) go into the buffer."""
        def mine(g):
            return g % self.lanes == self.lane and g >= first_game

        for gid, name, data in iter_games(self.plan.groups, self.archive_skip, want=mine):
            if not mine(gid):
                continue
            key = epoch * self.plan.games + gid
            self.key = key
            encoded = self.encode(gid, name, data)
            if encoded is None:
                continue
            packed, meta = encoded
            i = 0
            while i < len(meta):
                n = min(self.buf.free(), len(meta) - i)
                self.buf.add(packed[i:i + n], meta[i:i + n], key)
                i += n
                yield from self.drain_ready()
            self.key = key + 1   # this game is all in the buffer now

    def encode(self, gid: int, name: str, data):
        """``(packed, meta)`` of a game of this lane's split, or None (a game held
        out or skipped: counted)."""
        cfg = self.cfg
        try:
            game = self.enc.parse(name, data)
            if sf.split_of(sf.game_hash(game), cfg.val_fraction, cfg.test_fraction) != cfg.split:
                self.count(HELD_OUT)
                return None
            packed, meta = self.enc.encode(game, gid, name)
        except SkipGame as exc:
            self.count(exc.reason)
            return None
        self.games += 1
        self.total += 1
        self.positions += len(meta)
        return packed[:, :self.nbytes], meta

    def drain_ready(self):
        # a full buffer hands out a batch for every batch_size new positions
        while self.buf.count >= self.buf.capacity and self.buf.count >= self.cfg.batch_size:
            yield self.batch(*self.buf.take(self.cfg.batch_size))

    def batch(self, packed, meta):
        sym = (self.rng.integers(0, 8, len(meta)) if self.cfg.augment else np.zeros(len(meta), np.int64))
        if self.cfg.grouped:
            packed, meta, sym = group_by_symmetry(packed, meta, sym)
        oldest = self.buf.oldest()
        info = {"worker": self.lane, "key": self.key if oldest is None else min(oldest, self.key),
                "games": self.games, "positions": self.positions, "skipped": dict(self.counts)}
        self.games = self.positions = 0
        self.counts.clear()
        return np.ascontiguousarray(packed), meta, sym, info


# ---------------------------------------------------------------------------
# The main-process side: the loader the training loop calls
# ---------------------------------------------------------------------------

class SGFLoader:
    """Batches streamed from SGF for the training loop (the interface of
    :class:`gopolicy.corpus.shard_loader.ShardLoader`: ``next_batch``,
    ``state_dict``, ``load_state_dict``, ``close``), plus the counts ``stats``."""

    def __init__(self, plan: StreamPlan, batch_size: int, *, workers: int = 1, rank: int = 0, world_size: int = 1,
                 seed: int = 0, augment: bool = True, num_planes: int = NUM_PLANES, shuffle: int = DEFAULT_SHUFFLE,
                 val_fraction: float = 0.01, test_fraction: float = 0.01, split: str = "train", device=None,
                 pin_memory: bool = False, non_blocking: bool = False, epochs: int | None = None):
        if batch_size % world_size:
            raise ValueError(f"global batch size {batch_size} is not divisible by {world_size} ranks")
        self.plan = plan
        self.batch_size = batch_size
        self.workers = max(0, int(workers))
        self.device, self.pin_memory, self.non_blocking = device, pin_memory, non_blocking
        self.num_planes = num_planes
        self.cfg = StreamConfig(batch_size // world_size, split=split, val_fraction=val_fraction,
                                test_fraction=test_fraction, shuffle=shuffle, augment=augment, seed=seed,
                                num_planes=num_planes, epochs=epochs, rank=rank, world_size=world_size,
                                grouped=on_accelerator(device))
        self.stats = {"games": 0, "positions": 0, "batches": 0, "skipped": {}}
        self._keys: dict[int, int] = {}
        self._feed = None
        self.board_size = BOARD_SIZE

    def _start(self):
        if self.workers > 0:
            warm_up()  # compile (or load) the kernels once, before the workers fork
        ds = SGFStream(self.plan, self.cfg)
        dl = make_loader(_Iterable(ds), workers=self.workers, prefetch=4, in_order=False)
        self._feed = Feed(dl, f"SGF stream ({self.workers} workers)")

    def next_host(self):
        if self._feed is None:
            self._start()
        try:
            packed, meta, sym, info = self._feed.next()
        except StopIteration:
            if self.cfg.epochs is not None:
                raise
            raise FeedError(f"the SGF inputs hold no game of the {self.cfg.split!r} split to stream "
                            f"({self.stats['skipped'] or 'nothing skipped'})") from None
        self._keys[info["worker"]] = info["key"]
        st = self.stats
        st["games"] += info["games"]
        st["positions"] += info["positions"]
        st["batches"] += 1
        for k, v in info["skipped"].items():
            st["skipped"][k] = st["skipped"].get(k, 0) + v
        return packed, meta, sym

    def next_batch(self) -> Batch:
        packed, meta, sym = self.next_host()
        return to_device(packed, meta, sym, self.num_planes, self.device, board_size=BOARD_SIZE,
                         pin_memory=self.pin_memory, non_blocking=self.non_blocking)

    def __iter__(self):
        while True:
            try:
                yield self.next_batch()
            except StopIteration:
                return

    def resume_key(self) -> int:
        """Where a resumed stream starts (see the module's docstring)."""
        per_rank = max(1, self.workers)
        first = self.cfg.rank * per_rank   # this rank's lanes (another rank's resume from theirs)
        keys = [self._keys.get(w) for w in range(first, first + per_rank)]
        # a lane that has not handed out a batch yet has used nothing past the start
        return min(self.cfg.start_key if k is None else k for k in keys)

    def state_dict(self) -> dict:
        return {"kind": "sgf", "key": self.resume_key(), "games": self.plan.games, "seed": self.cfg.seed,
                "inputs": self.plan.inputs, "stats": self.stats}

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") != "sgf":
            raise ValueError("the checkpoint was trained on shards (--data), not streamed from SGF (--sgf)")
        key = int(state["key"])
        if int(state.get("games", self.plan.games)) != self.plan.games:
            # other inputs: keep the epoch, restart it from its first game
            key = key // int(state["games"]) * self.plan.games
        self.close()
        self.cfg.start_key = key
        self.cfg.seed = int(state.get("seed", self.cfg.seed))
        self._keys.clear()
        self.stats = {k: (dict(v) if isinstance(v, dict) else v) for k, v in state.get("stats", self.stats).items()}

    def close(self) -> None:
        stop(self._feed)
        self._feed = None


def warm_up() -> None:
    """Run the plane encoder once in this process (numba compiles or loads its cache)."""
    PlaneWriter(BOARD_SIZE)(Board(BOARD_SIZE), 1)


class _Iterable:
    """torch's IterableDataset around :class:`SGFStream` (torch imported lazily)."""

    def __new__(cls, stream: SGFStream):
        from torch.utils.data import IterableDataset

        class _DS(IterableDataset):
            def __iter__(self):
                return iter(stream)

        return _DS()


# ---------------------------------------------------------------------------
# Held-out positions in memory (validation during `train --sgf`)
# ---------------------------------------------------------------------------

class PositionSet:
    """Positions held in memory with the reading interface of a ShardSet that
    evaluation needs (``len``, ``gather``, ``num_planes``, ``board_size``)."""

    def __init__(self, packed: np.ndarray, meta: np.ndarray, num_planes: int = NUM_PLANES,
                 sources=(), split: str = "val"):
        self.packed, self.meta = packed, meta
        self.num_planes, self.board_size = num_planes, BOARD_SIZE
        self.packed_bytes = packed.shape[1]
        self.sources, self.split = list(sources), split

    def __len__(self) -> int:
        return len(self.meta)

    def gather(self, idx, num_bytes: int | None = None):
        idx = np.asarray(idx, dtype=np.int64)
        nb = self.packed_bytes if num_bytes is None else num_bytes
        return np.ascontiguousarray(self.packed[idx, :nb]), self.meta[idx]

    def save(self, path) -> None:
        tmp = f"{path}.tmp.{os.getpid()}.npz"
        np.savez(tmp, packed=self.packed, meta=self.meta, sources=np.array(self.sources))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path, split: str = "val") -> "PositionSet":
        with np.load(path) as z:
            return cls(z["packed"], z["meta"], sources=[str(s) for s in z["sources"]], split=split)


def collect_split(plan: StreamPlan, split: str = "val", *, workers: int = 1, val_fraction: float = 0.01,
                  test_fraction: float = 0.01, max_positions: int | None = None) -> PositionSet:
    """Every position of the games in ``split`` (one pass over the inputs, in
    workers), sorted by (game, move); ``max_positions`` keeps that many spread
    evenly, as evaluation on shards does."""
    loader = SGFLoader(plan, 1024, workers=workers, augment=False, shuffle=1, split=split, epochs=1,
                       val_fraction=val_fraction, test_fraction=test_fraction)
    loader.cfg.drop_last = False
    parts_p, parts_m = [], []
    try:
        for packed, meta, _sym in _host_batches(loader):
            parts_p.append(np.asarray(packed))
            parts_m.append(meta)
    finally:
        loader.close()
    nb = packed_size(NUM_PLANES, BOARD_SIZE * BOARD_SIZE)
    packed = np.concatenate(parts_p) if parts_p else np.zeros((0, nb), np.uint8)
    meta = np.concatenate(parts_m) if parts_m else np.zeros(0, sf.META_DTYPE)
    order = np.lexsort((meta["move_number"], meta["game"]))
    packed, meta = packed[order], meta[order]
    if max_positions is not None and len(meta) > max_positions:
        keep = eval_indices(len(meta), max_positions)
        packed, meta = packed[keep], meta[keep]
    out = PositionSet(packed, meta, sources=plan.sources, split=split)
    out.stats = loader.stats
    return out


def _host_batches(loader: SGFLoader):
    while True:
        try:
            packed, meta, sym = loader.next_host()
        except StopIteration:
            return
        yield packed, meta, sym
