"""SGF games -> prepared shards (the format is in :mod:`gopolicy.corpus.shard_format`).

Work is split into *units*: consecutive runs of at most ``games_per_shard`` SGF
files of one input (an archive's member range, or a slice of the loose files
found under one input path). A unit is processed by one worker and written as
at most one shard per split (``train-00012``, ``val-00012``, ``test-00012``), so
a shard's content depends only on its unit: the output is byte-identical for
any number of workers.

Crash safety: every file is written under a temporary name, flushed, fsync'd
and renamed; after each finished unit the manifest (listing finished units and
their shards with sizes and sha256) is rewritten atomically with
``"complete": false``. A rerun with the same arguments keeps the units whose
files still match their checksums and redoes the rest; readers trust only
files listed in the manifest with a matching size (and checksum). Workers die
with the main process (a parent-death signal on Linux, a parent check
elsewhere) and never hold the output directory's lock, so after a ``kill -9``
the same command resumes at once.

Bad input is skipped and counted, never fatal: a game with its reason (as for
a broken SGF), a file or archive member over ``max_file_bytes`` before it is
read, a corrupt or truncated archive with its reason (the games read before the
break are kept: planning lists the members up to the break, and those are
prepared). Skips found while planning (an archive that cannot be opened or
breaks, a tar member whose header says it is too large) are in the manifest's
``skipped`` / ``skipped_files`` and ``input_skips``, but not in ``files_read``,
which counts the SGF files handed to workers.
"""
from __future__ import annotations

import fcntl
import glob
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from gopolicy.corpus import shard_format as sf
from gopolicy.corpus.packing import packed_size
from gopolicy.corpus.sgf import parse_game
from gopolicy.corpus.sgf_sources import (
    DEFAULT_MAX_FILE_BYTES,
    SkipGame,
    SourceSkipped,
    clean_name,
    expand_inputs,
    read_file_capped,
    scan_archive,
    source_of,
)
from gopolicy.corpus.stream import GameEncoder
from gopolicy.progress import format_duration

BOARD_SIZE = 19
NUM_PLANES = 48


@dataclass
class Unit:
    index: int
    kind: str                   # "archive" | "files"
    path: str                   # archive path ("" for loose files)
    start: int                  # member range in the archive [start, stop)
    stop: int
    files: list = field(default_factory=list)   # loose files (kind "files")
    first_game: int = 0         # global game id of the unit's first file
    names: list = field(default_factory=list)   # member names (for sources)

    @property
    def num_games(self) -> int:
        return self.stop - self.start if self.kind == "archive" else len(self.files)

    def describe(self) -> str:
        if self.kind == "archive":
            return f"{self.path}[{self.start}:{self.stop}]"
        return f"{len(self.files)} files from {os.path.dirname(self.files[0]) or '.'}"


# ---------------------------------------------------------------- planning
def plan_units(inputs: list[str], games_per_shard: int, limit_games: int | None = None,
               max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, skips: list | None = None):
    """(units, sources, inputs_info). Lists archives' members (one sequential
    read of each archive) so that units, game ids and source ids are fixed
    before any work starts. Archives and members that cannot be used are
    appended to ``skips`` as ``[reason, name, detail]``; a broken archive's
    members before the break are listed."""
    if skips is None:
        skips = []
    leaves = expand_inputs(inputs)
    units: list[Unit] = []
    sources: list[str] = []
    src_index: dict[str, int] = {}
    info = []
    game = 0
    loose: dict[str, list[str]] = {}
    order: list[tuple[str, str]] = []
    for kind, path in leaves:
        if kind == "archive":
            order.append(("archive", path))
        else:
            key = os.path.dirname(path)
            if key not in loose:
                loose[key] = []
                order.append(("files", key))
            loose[key].append(path)

    def remember(names):
        for n in names:
            s = source_of(clean_name(n))
            if s not in src_index:
                src_index[s] = len(sources)
                sources.append(s)

    for kind, key in order:
        if limit_games is not None and game >= limit_games:
            break
        if kind == "archive":
            names = [n for n, _ in scan_archive(
                key, names_only=True, max_bytes=max_file_bytes,
                skip=lambda reason, name, why: skips.append([reason, name, why]))]
            if limit_games is not None:
                names = names[: max(0, limit_games - game)]
            info.append({"path": os.path.abspath(key), "bytes": os.path.getsize(key),
                         "games": len(names)})
            for s in range(0, len(names), games_per_shard):
                chunk = names[s:s + games_per_shard]
                units.append(Unit(len(units), "archive", key, s, s + len(chunk),
                                  first_game=game + s, names=chunk))
            remember(names)
            game += len(names)
        else:
            files = loose[key]
            if limit_games is not None:
                files = files[: max(0, limit_games - game)]
            info.append({"path": os.path.abspath(key or "."), "bytes": sum(os.path.getsize(f) for f in files),
                         "games": len(files)})
            for s in range(0, len(files), games_per_shard):
                chunk = files[s:s + games_per_shard]
                units.append(Unit(len(units), "files", "", 0, len(chunk), files=chunk,
                                  first_game=game + s, names=chunk))
            remember(files)
            game += len(files)
    return units, sources, info


def iter_unit(unit: Unit, max_bytes: int = DEFAULT_MAX_FILE_BYTES):
    """``(name, bytes or SkipGame)`` for each file of the unit, plus
    ``(name, SkipGame)`` for a break found now (the archive changed since
    planning, or a zip member is corrupt)."""
    if unit.kind == "archive":
        found: list = []
        listed = set(unit.names)

        def skip(reason, name, why):
            # skips of members outside the unit were counted while planning
            if name in listed or name == clean_name(unit.path):
                found.append((name, SkipGame(reason, why)))

        for item in scan_archive(unit.path, unit.start, unit.stop, skip=skip, max_bytes=max_bytes):
            while found:
                yield found.pop(0)
            yield item
        yield from found
    else:
        for path in unit.files:
            try:
                yield clean_name(path), read_file_capped(path, max_bytes)
            except SourceSkipped as exc:
                yield clean_name(path), exc


# ---------------------------------------------------------------- workers
_COUNTERS = None   # (games, positions) multiprocessing.Value, set by the pool initializer
PR_SET_PDEATHSIG = 1   # <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """End this worker when the main process dies, even by SIGKILL (an OOM
    killer, a scheduler): orphans would burn the cores until a broken pipe."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:        # the parent died before the signal was armed
        os._exit(1)

    def watch():                      # portable fallback: re-parented means orphaned
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init_worker(counters, parent: int, lock_fd: int):
    global _COUNTERS
    _COUNTERS = counters
    die_with_parent(parent)
    try:  # a forked copy of the lock's descriptor would keep the lock held by an orphan
        os.close(lock_fd)
    except OSError:
        pass
    try:  # leave the main process responsive for progress / Ctrl-C
        os.nice(1)
    except OSError:
        pass


def _bump(games: int, positions: int) -> None:
    if _COUNTERS is None:
        return
    g, p = _COUNTERS
    with g.get_lock():
        g.value += games
    with p.get_lock():
        p.value += positions


def process_unit(job) -> dict:
    """Parse, replay, featurize and write one unit; returns its manifest record."""
    unit, out_dir, cfg, src_index = job
    encoder = GameEncoder(src_index, cfg["num_planes"])   # the one parse + replay + planes
    nbytes = packed_size(cfg["num_planes"], BOARD_SIZE * BOARD_SIZE)
    val_f, test_f = cfg["val_fraction"], cfg["test_fraction"]

    writers: dict[str, sf.NpyRowWriter] = {}
    metas: dict[str, list] = {s: [] for s in sf.SPLITS}
    games = {s: 0 for s in sf.SPLITS}
    by_source: dict[str, dict] = {}
    skipped: dict[str, int] = {}
    skipped_files: list = []
    notes: dict[str, int] = {}
    pending_games = 0
    pending_pos = 0
    # test hook: slow down so that tests can kill a run part-way
    delay = float(os.environ.get("GOPOLICY_PREPARE_DELAY", "0") or 0)
    try:
        for i, (name, data) in enumerate(iter_unit(unit, cfg.get("max_file_bytes",
                                                                    DEFAULT_MAX_FILE_BYTES))):
            gid = unit.first_game + i
            src = source_of(name)
            rec = by_source.setdefault(src, {"games": 0, "positions": 0, "skipped": 0})
            try:
                if isinstance(data, SkipGame):
                    raise data
                game = parse_game(data, name)
                packed, meta = encoder.encode(game, gid, name)
                k = len(meta)
            except SkipGame as exc:
                skipped[exc.reason] = skipped.get(exc.reason, 0) + 1
                skipped_files.append([name, exc.detail])
                rec["skipped"] += 1
                pending_games += 1
                continue
            for n in game.notes:
                notes[n] = notes.get(n, 0) + 1
            split = sf.split_of(sf.game_hash(game), val_f, test_f)
            games[split] += 1
            rec["games"] += 1
            rec["positions"] += k
            if k:
                if split not in writers:
                    path = sf.shard_paths(out_dir, f"{split}-{unit.index:05d}")[0]
                    writers[split] = sf.NpyRowWriter(path, nbytes)
                writers[split].append(packed)
                metas[split].append(meta)
            pending_games += 1
            pending_pos += k
            if delay:
                time.sleep(delay)
            if pending_games >= 8:
                _bump(pending_games, pending_pos)
                pending_games = pending_pos = 0
        _bump(pending_games, pending_pos)
        shards = []
        for split in sf.SPLITS:
            if split not in writers:
                continue
            name = f"{split}-{unit.index:05d}"
            n, psize, pdigest = writers.pop(split).finish()
            meta = np.concatenate(metas[split]) if metas[split] else np.zeros(0, sf.META_DTYPE)
            assert meta.shape[0] == n
            msize, mdigest = sf.save_npy_atomic(sf.shard_paths(out_dir, name)[1], meta)
            shards.append({"name": name, "split": split, "positions": n, "games": games[split],
                           "bytes": {"planes": psize, "meta": msize},
                           "sha256": {"planes": pdigest, "meta": mdigest}})
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    return {"unit": unit.index, "input": unit.describe(), "files": unit.num_games,
            "games": games, "shards": shards, "sources": by_source, "skipped": skipped,
            "skipped_files": skipped_files, "notes": notes}


def _verify_unit(job) -> tuple[int, str | None]:
    record, out_dir = job
    for sh in record["shards"]:
        why = sf.verify_shard(out_dir, sh, check_hash=True)
        if why:
            return record["unit"], f"{sh['name']}: {why}"
    return record["unit"], None


# ---------------------------------------------------------------- manifest
def build_manifest(cfg: dict, sources: list[str], info: list, records: dict, complete: bool,
                   input_skips: list = ()) -> dict:
    nplanes = cfg["num_planes"]
    splits = {s: {"positions": 0, "games": 0, "shards": []} for s in sf.SPLITS}
    skipped: dict[str, int] = {}
    skipped_files: list = []
    notes: dict[str, int] = {}
    per_source = {s: {"games": 0, "positions": 0, "skipped": 0} for s in sources}
    files = 0
    for idx in sorted(records, key=int):
        r = records[idx]
        files += r["files"]
        for s in sf.SPLITS:
            splits[s]["games"] += r["games"][s]
        for sh in r["shards"]:
            entry = {k: v for k, v in sh.items() if k != "split"}
            splits[sh["split"]]["shards"].append(entry)
            splits[sh["split"]]["positions"] += sh["positions"]
        for k, v in r["skipped"].items():
            skipped[k] = skipped.get(k, 0) + v
        skipped_files.extend(r["skipped_files"])
        for k, v in r.get("notes", {}).items():
            notes[k] = notes.get(k, 0) + v
        for src, c in r["sources"].items():
            d = per_source.setdefault(src, {"games": 0, "positions": 0, "skipped": 0})
            for k in d:
                d[k] += c[k]
    for reason, name, detail in input_skips:
        skipped[reason] = skipped.get(reason, 0) + 1
        skipped_files.append([name, detail])
    for s in sf.SPLITS:
        splits[s]["shards"].sort(key=lambda e: e["name"])
    return {
        "format": sf.FORMAT, "version": sf.VERSION,
        "num_planes": nplanes, "board_size": BOARD_SIZE,
        "packed_bytes": packed_size(nplanes, BOARD_SIZE * BOARD_SIZE),
        "colour_plane": cfg["colour_plane"],
        "sources": sources,
        "splits": splits,
        "files_read": files,
        "skipped": dict(sorted(skipped.items())),
        "skipped_files": skipped_files,
        "input_skips": [list(x) for x in input_skips],
        "notes": notes,
        "per_source": per_source,
        "inputs": info,
        "config": cfg,
        "units": {str(k): records[k] for k in sorted(records, key=int)},
        "complete": complete,
    }


# ---------------------------------------------------------------- driver
def prepare(inputs: list[str], out_dir: str, workers: int | None = None,
            val_fraction: float = 0.01, test_fraction: float = 0.01,
            games_per_shard: int = 2000, limit_games: int | None = None,
            colour_plane: bool = False, verify_existing: bool = True,
            progress: bool = True, log=sys.stderr,
            max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> dict:
    """Prepare (or finish preparing) ``out_dir``; returns the final manifest.
    Files and archive members over ``max_file_bytes`` are skipped unread."""
    workers = max(1, workers or os.cpu_count() or 1)
    if games_per_shard < 1:
        raise ValueError("games_per_shard must be >= 1")
    if max_file_bytes < 1:
        raise ValueError("max_file_bytes must be >= 1")
    sf.split_of("0" * 16, val_fraction, test_fraction)   # validates the fractions
    os.makedirs(out_dir, exist_ok=True)
    lock = open(os.path.join(out_dir, ".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise RuntimeError(f"{out_dir} is being prepared by another process") from None
    try:
        return _prepare_locked(inputs, out_dir, workers, val_fraction, test_fraction,
                               games_per_shard, limit_games, colour_plane, verify_existing,
                               progress, log, max_file_bytes, lock.fileno())
    finally:
        lock.close()


def _same_config(old: dict | None, cfg: dict) -> bool:
    """Manifests written before the size cap existed were prepared without one
    skipping anything real: they match the default cap."""
    old = dict(old or {})
    old.setdefault("max_file_bytes", DEFAULT_MAX_FILE_BYTES)
    return old == cfg


@dataclass
class _Run:
    """One prepare run's settings and plan, as the steps below share them."""
    out_dir: str
    cfg: dict
    units: list
    sources: list
    info: list
    input_skips: list
    workers: int
    progress: bool
    log: object
    lock_fd: int

    def say(self, msg: str) -> None:
        print(msg, file=self.log, flush=True)

    def manifest(self, records: dict, complete: bool) -> dict:
        return build_manifest(self.cfg, self.sources, self.info, records, complete, self.input_skips)

    @property
    def manifest_path(self) -> str:
        return os.path.join(self.out_dir, sf.MANIFEST)


def _prepare_locked(inputs, out_dir, workers, val_fraction, test_fraction, games_per_shard,
                    limit_games, colour_plane, verify_existing, progress, log, max_file_bytes,
                    lock_fd):
    num_planes = NUM_PLANES + (1 if colour_plane else 0)
    cfg = {"inputs": [os.path.abspath(p) for p in inputs], "val_fraction": val_fraction,
           "test_fraction": test_fraction, "games_per_shard": games_per_shard,
           "limit_games": limit_games, "colour_plane": colour_plane, "num_planes": num_planes,
           "max_file_bytes": max_file_bytes}
    run = _plan_run(inputs, out_dir, cfg, workers, progress, log, lock_fd)
    _remove_temporaries(out_dir)
    records = _finished_units(run, verify_existing)
    meter = _Meter(run, records)
    _process_units(run, records, meter)
    manifest = run.manifest(records, True)
    sf.write_json_atomic(run.manifest_path, manifest)
    if progress:
        meter.line(final=True)
        meter.done(manifest)
    return manifest


def _plan_run(inputs, out_dir: str, cfg: dict, workers: int, progress: bool, log, lock_fd: int) -> _Run:
    """List the inputs into units (skips found on the way are said at once)."""
    t0 = time.time()
    input_skips: list = []
    units, sources, info = plan_units(inputs, cfg["games_per_shard"], cfg["limit_games"],
                                      cfg["max_file_bytes"], input_skips)
    run = _Run(out_dir, cfg, units, sources, info, input_skips, workers, progress, log, lock_fd)
    for reason, name, detail in input_skips:
        run.say(f"prepare: skipping {name}: {reason} ({detail})")
    if len(sources) > 255:
        raise ValueError("more than 255 sources do not fit meta['source'] (u1)")
    if progress:
        run.say(f"prepare: {sum(u.num_games for u in units)} SGF files in {len(units)} units, {len(sources)} "
                f"sources ({', '.join(sources[:8])}{'...' if len(sources) > 8 else ''}); "
                f"planned in {time.time() - t0:.1f}s; {workers} workers")
    return run


def _remove_temporaries(out_dir: str) -> None:
    """Temporary files of killed runs are never read; clean them up."""
    for tmp in glob.glob(os.path.join(out_dir, "*.tmp.*")):
        try:
            os.remove(tmp)
        except OSError:
            pass


def _finished_units(run: _Run, verify_existing: bool) -> dict[int, dict]:
    """The records of the units an earlier run of the same settings finished and
    whose files still match (checksums, when ``verify_existing``)."""
    old = sf.read_manifest(run.out_dir)
    if old is None:
        return {}
    if not _same_config(old.get("config"), run.cfg):
        raise RuntimeError(f"{run.out_dir} holds shards prepared with other settings "
                           f"({old.get('config')}); use a new --out directory")
    kept = {int(k): v for k, v in old.get("units", {}).items()}
    if verify_existing and kept:
        ctx = mp.get_context("fork")
        with ctx.Pool(min(run.workers, len(kept)), initializer=_init_worker,
                      initargs=(None, os.getpid(), run.lock_fd)) as pool:
            bad = {u: why for u, why in pool.imap_unordered(
                _verify_unit, [(r, run.out_dir) for r in kept.values()]) if why}
        for u, why in sorted(bad.items()):
            run.say(f"prepare: redoing unit {u} ({why})")
            del kept[u]
    records = {k: v for k, v in kept.items() if k < len(run.units)}
    if run.progress and records:
        run.say(f"prepare: resuming: {len(records)} of {len(run.units)} units already done")
    return records


class _Meter:
    """Progress lines: the games and positions the workers count, against the plan."""

    def __init__(self, run: _Run, records: dict):
        ctx = mp.get_context("fork")
        self.run = run
        self.counters = (ctx.Value("q", 0), ctx.Value("q", 0))
        self.total_games = sum(u.num_games for u in run.units)
        self.done_games = sum(r["files"] for r in records.values())
        self.base_pos = sum(sh["positions"] for r in records.values() for sh in r["shards"])
        self.t_start = time.time()
        self.last = 0.0

    def line(self, final: bool = False) -> None:
        g, p = self.counters[0].value, self.counters[1].value
        dt = max(time.time() - self.t_start, 1e-9)
        rate_g = g / dt
        left = self.total_games - self.done_games - g
        eta = left / rate_g if rate_g > 0 else float("inf")
        done, total = self.done_games + g, self.total_games
        self.run.say(f"prepare: games {done}/{total} ({100 * done / max(total, 1):.1f}%)"
                     f"  positions {self.base_pos + p:,}  {p / dt:,.0f} pos/s  {rate_g:.1f} games/s"
                     f"  elapsed {format_duration(dt)}  ETA {'0s' if final else format_duration(eta)}")

    def done(self, manifest: dict) -> None:
        sp = manifest["splits"]
        dt = time.time() - self.t_start
        new = self.counters[1].value
        games = sum(sp[s]["games"] for s in sf.SPLITS)
        self.run.say(f"prepare: done: {sum(sp[s]['positions'] for s in sf.SPLITS):,} positions "
                     f"(train {sp['train']['positions']:,}, val {sp['val']['positions']:,}, "
                     f"test {sp['test']['positions']:,}) from {games} games; "
                     f"skipped {sum(manifest['skipped'].values())} {manifest['skipped']}; "
                     f"new positions {new:,} in {dt:.1f}s = {new / max(dt, 1e-9):,.0f} pos/s "
                     f"with {self.run.workers} workers")


def _process_units(run: _Run, records: dict, meter: _Meter) -> None:
    """Hand the units not yet done to the workers; the manifest is rewritten
    after each finished unit (``"complete": false`` until the end)."""
    todo = [u for u in run.units if u.index not in records]
    if not todo:
        return
    sf.write_json_atomic(run.manifest_path, run.manifest(records, False))
    src_index = {s: i for i, s in enumerate(run.sources)}
    jobs = [(u, run.out_dir, run.cfg, src_index) for u in todo]
    ctx = mp.get_context("fork")
    with ctx.Pool(min(run.workers, len(todo)), initializer=_init_worker,
                  initargs=(meter.counters, os.getpid(), run.lock_fd)) as pool:
        it = pool.imap_unordered(process_unit, jobs)
        remaining = len(jobs)
        while remaining:
            try:
                rec = it.next(timeout=1.0)
            except mp.TimeoutError:
                rec = None
            if rec is not None:
                remaining -= 1
                records[rec["unit"]] = rec
                sf.write_json_atomic(run.manifest_path, run.manifest(records, False))
            if run.progress and (time.time() - meter.last >= 2.0 or rec is not None and not remaining):
                meter.last = time.time()
                meter.line()
