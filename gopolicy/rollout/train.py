"""Training the rollout / tree policy: SGD on the log-likelihood of the move played.

Two passes over game records (SGF files, folders or archives, read with
:mod:`gopolicy.corpus.sgf`): a **count** pass that counts the pattern keys of every candidate
move of the first ``count_games`` training games and keeps those seen ``min_count`` times or
more (the rest share their family's "unknown" weight), then an **SGD** pass: each position's
features are read from the incremental state while the game is replayed (one numba call per
batch of games, no Python per move), the softmax over the candidates is formed and every
active weight moves by ``-lr * (p - y)``. The learning rate decays as
``lr / (1 + positions / lr_halflife)``.

Splits: a game's split is ``shard_format.split_of(game_hash(game))``, exactly as ``gopolicy
prepare`` assigns it, so the held-out ("val"/"test") games are never trained on. Small inputs
(a handful of SGF files) have few or no val games; the trainer then says so.

Resuming: ``state`` (weights, pattern keys, games consumed per input, positions, RNG-free)
is saved beside the output every ``save_every`` seconds and at the end; a second run with the
same arguments continues from it.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import namedtuple
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from gopolicy.corpus import sgf as sgf_io
from gopolicy.corpus.shard_format import game_hash, read_manifest, split_of
from gopolicy.go.rules_kernels import inner_kernel
from gopolicy.numba_cache import ensure_fresh
from gopolicy.progress import eta_seconds, format_duration
from gopolicy.rollout.incremental_board import CODE, COL, M_KO, NMETA, NROWS, init_state, play, play_pass
from gopolicy.rollout.model import RolloutPolicy
from gopolicy.rollout.move_features import new_features, new_point_patterns, position_features, refresh_points
from gopolicy.rollout.pattern_tables import FAM3, FAM_SHIFT, FAMD, FAMR, NFIX, build_table, table_find, tables
from gopolicy.rollout.softmax import candidate_softmax

ensure_fresh()

MODE_COUNT, MODE_TRAIN, MODE_EVAL = 0, 1, 2
# per-batch statistics written by the kernel
ST_POS, ST_LOGP, ST_TOP1, ST_NOTCAND, ST_ILLEGAL, ST_FULL = range(6)

GameArrays = namedtuple("GameArrays", "setup setup_start moves colors move_start")
GameArrays.__doc__ = """A batch of games for the kernel: game g's setup is
``setup[setup_start[g]:setup_start[g+1]]`` (point * 4 + colour), its moves and their colours
``moves/colors[move_start[g]:move_start[g+1]]`` (pass = n)."""

KeyCounts = namedtuple("KeyCounts", "keys counts allow_new")
KeyCounts.__doc__ = """The count pass's open-addressing table: ``keys`` (-1 = empty cell),
``counts``, and whether a key not in it yet may still get a cell."""

EvalRows = namedtuple("EvalRows", "top1 top5 logp number game")
EvalRows.__doc__ = """One entry per non-pass move evaluated: top-1 and top-5 hit, log-probability
of the move played, its move number (1-based) and game index in the batch."""


@inner_kernel
def _count_key(counts, key):
    """Count ``key``; returns 1 when it was new but the table is closed to new keys."""
    ckeys = counts.keys
    i = table_find(ckeys, key)
    if ckeys[i] == key:
        counts.counts[i] += 1
        return 0
    if not counts.allow_new:
        return 1
    ckeys[i] = key
    counts.counts[i] = 1
    return 0


@njit(cache=True)
def run_games(mode, games, t, table, w, tree, lr0, lr_halflife, pos0, counts, stats, ev):
    """Replay :class:`GameArrays` ``games``; count pattern keys into ``counts`` (mode 0), train
    the weights ``w`` (1) or evaluate them into :class:`EvalRows` ``ev`` (2). The learning rate
    is ``lr0 / (1 + positions / lr_halflife)``, ``pos0`` positions trained before this batch.
    Returns the number of eval entries."""
    n = t.size * t.size
    S = np.zeros((NROWS, n), np.int32)
    meta = np.zeros(NMETA, np.int64)
    pp = new_point_patterns(n)
    fx = new_features(n)
    dirty = np.empty(n, np.int32)
    allpts = np.arange(n).astype(np.int32)
    stones = np.zeros(n, np.int8)
    sc = np.empty(n, np.float64)
    ne = 0
    npos = pos0
    for g in range(games.move_start.shape[0] - 1):
        _setup_stones(games, g, stones)
        init_state(S, meta, stones, t.nbr, t.nbr8, -1, -1, -1)
        refresh_points(S, meta, allpts, n, 0, t.halves, table, pp, True)
        number = 0
        for i in range(games.move_start[g], games.move_start[g + 1]):
            m = games.moves[i]
            c = games.colors[i]
            number += 1
            if m == n:
                play_pass(meta)
                continue
            if S[COL, m] != 0 or m == meta[M_KO] or not _breathes(S[CODE, m], c):
                stats[ST_ILLEGAL] += 1
                break
            ncand = position_features(S, meta, t, table, c, tree, pp, fx)
            if mode == MODE_COUNT:
                _count_position(fx, ncand, counts, stats)
            else:
                j = fx.cidx[m]
                lr = lr0 / (1.0 + npos / lr_halflife)
                ne = _learn_position(mode, fx, ncand, j, w, sc, lr, stats, ev, ne, number, g)
                if mode == MODE_TRAIN and j >= 0:
                    npos += 1
            nd = play(S, meta, t.nbr, t.nbr8, m, c, dirty)
            refresh_points(S, meta, dirty, nd, 0, t.halves, table, pp, True)
    return ne


@inner_kernel
def _setup_stones(games, g, stones):
    stones[:] = 0
    for i in range(games.setup_start[g], games.setup_start[g + 1]):
        stones[games.setup[i] // 4] = games.setup[i] % 4


@inner_kernel
def _count_position(fx, ncand, counts, stats):
    """Count the pattern keys of the position's candidates."""
    for a in range(ncand):
        for b in range(fx.nf[a]):
            if fx.fkeys[a, b] != 0:
                stats[ST_FULL] += _count_key(counts, fx.fkeys[a, b])
    stats[ST_POS] += 1


@inner_kernel
def _learn_position(mode, fx, ncand, j, w, sc, lr, stats, ev, ne, number, g):
    """Evaluate (mode 2) or train on (mode 1, learning rate ``lr``) the move played, candidate
    j (-1: not a candidate, which counts as p = 1e-6 and is not trained on). Returns the new
    number of eval entries."""
    if j < 0:
        stats[ST_NOTCAND] += 1
        if mode == MODE_EVAL:
            ne = _eval_row(ev, ne, 0, 0, math.log(1e-6), number, g)
        return ne
    tot = candidate_softmax(w, fx, ncand, sc)
    pj = sc[j] / tot
    rank = 0
    for a in range(ncand):
        if sc[a] > sc[j] or (sc[a] == sc[j] and a < j):
            rank += 1
    stats[ST_POS] += 1
    stats[ST_LOGP] += math.log(max(pj, 1e-300))
    stats[ST_TOP1] += 1 if rank == 0 else 0
    if mode == MODE_EVAL:
        return _eval_row(ev, ne, 1 if rank == 0 else 0, 1 if rank < 5 else 0,
                         math.log(max(pj, 1e-300)), number, g)
    # SGD on -log p(move played): every active weight moves by -lr * (p - y)
    for a in range(ncand):
        g_a = sc[a] / tot - (1.0 if a == j else 0.0)
        for b in range(fx.nf[a]):
            w[fx.feats[a, b]] -= lr * g_a
    return ne


@inner_kernel
def _eval_row(ev, ne, top1, top5, logp, number, g):
    ev.top1[ne] = top1
    ev.top5[ne] = top5
    ev.logp[ne] = logp
    ev.number[ne] = number
    ev.game[ne] = g
    return ne + 1


@inner_kernel
def _breathes(code, c):
    """Not suicide for c at the centre of 3x3 ``code``."""
    own_lo = 2 if c == 1 else 5
    opp_lo = 5 if c == 1 else 2
    for k in range(4):
        st = (code >> (3 * k)) & 7
        if st == 0 or st == opp_lo or (own_lo < st < own_lo + 3):
            return True
    return False


# --------------------------------------------------------------------- games -> arrays
@dataclass
class RolloutBatch:
    """Games as flat lists for the kernel (see :class:`GameArrays`), with each game's source."""

    setup: list = field(default_factory=list)
    setup_start: list = field(default_factory=lambda: [0])
    moves: list = field(default_factory=list)
    colors: list = field(default_factory=list)
    move_start: list = field(default_factory=lambda: [0])
    sources: list = field(default_factory=list)

    def add(self, game) -> None:
        """Setup before the first move, then the moves up to any later setup (rare; cut there)."""
        started = False
        for ev in game.events:
            if ev[0] == "setup":
                if started:
                    break
                for col, pts in ((1, ev[1]), (2, ev[2]), (0, ev[3])):
                    self.setup.extend(int(p) * 4 + col for p in pts)
            else:
                started = True
                self.moves.append(int(ev[2]))
                self.colors.append(int(ev[1]))
        self.setup_start.append(len(self.setup))
        self.move_start.append(len(self.moves))
        self.sources.append(game.source)

    def __len__(self) -> int:
        return len(self.move_start) - 1

    @property
    def num_moves(self) -> int:
        return len(self.moves)

    def arrays(self) -> GameArrays:
        return GameArrays(np.array(self.setup, np.int32), np.array(self.setup_start, np.int64),
                          np.array(self.moves, np.int32), np.array(self.colors, np.int32),
                          np.array(self.move_start, np.int64))


class GameStream:
    """Games of one split (None: all games) from files, folders and archives, taken in turn from each input
    (so a mix of archives is mixed from the start); ``consumed[i]`` counts the SGF records
    read from input i, which is all a resumed run needs to continue where it stopped."""

    def __init__(self, paths, split: str | None = "train", consumed: list[int] | None = None,
                 size: int = 19, val_fraction: float = 0.01, test_fraction: float = 0.01):
        self.leaves = sgf_io.expand_inputs([str(p) for p in paths])
        if not self.leaves:
            raise FileNotFoundError(f"no SGF files in {list(map(str, paths))}")
        self.split = split
        self.size = size
        self.consumed = list(consumed) if consumed else [0] * len(self.leaves)
        self.skipped: dict[str, int] = {}
        self.fractions = (val_fraction, test_fraction)

    def _records(self, i):
        kind, path = self.leaves[i]
        if kind == "archive":
            yield from sgf_io.iter_archive(path, start=self.consumed[i])
        elif self.consumed[i] == 0:
            with open(path, "rb") as f:
                yield sgf_io.clean_name(path), f.read()

    def __iter__(self):
        its = [self._records(i) for i in range(len(self.leaves))]
        live = list(range(len(its)))
        while live:
            for i in list(live):
                try:
                    name, data = next(its[i])
                except StopIteration:
                    live.remove(i)
                    continue
                self.consumed[i] += 1
                try:
                    game = sgf_io.parse_game(data, name, require_size=self.size)
                except sgf_io.SkipGame as exc:
                    self.skipped[exc.reason] = self.skipped.get(exc.reason, 0) + 1
                    continue
                if not game.source:
                    game.source = sgf_io.source_of(name)
                if self.split is None or split_of(game_hash(game), *self.fractions) == self.split:
                    yield game


def batches(stream, games_per_batch: int):
    b = RolloutBatch()
    for game in stream:
        b.add(game)
        if len(b) >= games_per_batch:
            yield b
            b = RolloutBatch()
    if len(b):
        yield b


def sgf_inputs_of(data_dir: str) -> tuple[list[str], float, float]:
    """``(SGF inputs, val fraction, test fraction)`` a shard directory was prepared with:
    shards hold network planes, not game records, so the games are read again."""
    man = read_manifest(data_dir)
    if not man:
        raise ValueError(f"{data_dir}: no shard manifest")
    cfg = man.get("config", {})
    inputs = [p for p in cfg.get("inputs", []) if os.path.exists(p)]
    if not inputs:
        raise ValueError(f"{data_dir}: the SGF inputs it was prepared from are gone; pass --sgf")
    return inputs, float(cfg.get("val_fraction", 0.01)), float(cfg.get("test_fraction", 0.01))


# --------------------------------------------------------------------- kernel calls
def _run(mode, batch: RolloutBatch, table, w, tree, lr=0.0, halflife=1.0, pos0=0, counts=None,
         size=19, eval_out=False):
    """One kernel call on a batch: ``(statistics, eval rows)``; ``counts``: the count pass's
    :class:`KeyCounts`."""
    stats = np.zeros(6, np.float64)
    m = max(batch.num_moves, 1)
    m = m if eval_out else 1
    ev = EvalRows(np.zeros(m, np.uint8), np.zeros(m, np.uint8), np.zeros(m, np.float64),
                  np.zeros(m, np.int32), np.zeros(m, np.int32))
    if counts is None:
        counts = KeyCounts(np.full(1, -1, np.int64), np.zeros(1, np.int64), True)
    ne = run_games(mode, batch.arrays(), tables(size), table, w, tree, float(lr), float(halflife),
                   int(pos0), counts, stats, ev)
    return stats, tuple(a[:ne] for a in ev)


def evaluate_batches(policy: RolloutPolicy, batch_iter, max_positions: int | None = None):
    """``(top1, top5, logp, move_number, source)`` arrays over the non-pass moves of the games
    (a move the policy never plays, e.g. filling its own eye, counts as a miss, p = 1e-6)."""
    outs = [[], [], [], [], []]
    total = 0
    for batch in batch_iter:
        _, ev = _run(MODE_EVAL, batch, policy.table, policy.weights, policy.tree, eval_out=True)
        srcs = np.array(batch.sources, dtype=object)[ev[4]]
        for o, x in zip(outs, list(ev[:4]) + [srcs]):
            o.append(x)
        total += len(ev[0])
        if max_positions is not None and total >= max_positions:
            break
    if not outs[0]:
        return tuple(np.zeros(0) for _ in range(5))
    res = tuple(np.concatenate(o) for o in outs)
    if max_positions is not None:
        res = tuple(x[:max_positions] for x in res)
    return res


def summarize(top1, top5, logp) -> dict:
    n = len(top1)
    if n == 0:
        return {"positions": 0, "top1": float("nan"), "top5": float("nan"),
                "log_likelihood": float("nan")}
    return {"positions": int(n), "top1": float(np.mean(top1)), "top5": float(np.mean(top5)),
            "log_likelihood": float(np.mean(logp))}


# --------------------------------------------------------------------- the trainer
@dataclass
class RolloutTrainConfig:
    kind: str = "rollout"
    max_positions: int = 1_000_000
    count_games: int = 2000
    min_count: int = 20
    lr: float = 0.02
    lr_halflife: float = 1_000_000.0
    games_per_batch: int = 100
    val_games: int = 200
    val_every: int = 200_000
    save_every: float = 120.0
    size: int = 19
    val_fraction: float = 0.01
    test_fraction: float = 0.01

    def stream(self, paths, split: str, consumed=None) -> "GameStream":
        return GameStream(paths, split, consumed, self.size, self.val_fraction, self.test_fraction)

    def key(self) -> dict:
        d = dict(self.__dict__)
        for k in ("save_every", "val_every", "max_positions"):
            d.pop(k)
        return d


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def state_path(out) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".state.npz")


def _save_state(path: Path, st: dict) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    np.savez(tmp, weights=st["weights"], pattern_keys=st["pattern_keys"],
             meta=np.array(json.dumps({k: v for k, v in st.items()
                                        if k not in ("weights", "pattern_keys")})))
    os.replace(tmp, path)


def _load_state(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        st = json.loads(str(z["meta"]))
        st["weights"] = z["weights"].copy()
        st["pattern_keys"] = z["pattern_keys"].copy()
    return st


def count_patterns(paths, cfg: RolloutTrainConfig) -> tuple[np.ndarray, dict]:
    """Pattern keys of the candidates of the first ``count_games`` training games seen at least
    ``min_count`` times, most frequent first."""
    cap = 1 << (23 if cfg.kind == "tree" else 21)
    ckeys = np.full(cap, -1, np.int64)
    ccount = np.zeros(cap, np.int64)
    empty = build_table(np.zeros(0, np.int64), np.zeros(0, np.int32))
    w = np.zeros(NFIX, np.float32)
    stream = cfg.stream(paths, "train")
    games = positions = 0
    t0 = last = time.time()
    closed = 0.0
    for batch in batches(stream, cfg.games_per_batch):
        if games >= cfg.count_games:
            break
        allow = bool(np.count_nonzero(ckeys != -1) < cap // 2)
        stats, _ = _run(MODE_COUNT, batch, empty, w, cfg.kind == "tree",
                        counts=KeyCounts(ckeys, ccount, allow), size=cfg.size)
        closed += stats[ST_FULL]
        games += len(batch)
        positions += int(stats[ST_POS])
        if time.time() - last > 10:
            last = time.time()
            _log(f"[count] {games:,}/{cfg.count_games:,} games, {positions:,} positions, "
                 f"{positions / (last - t0):,.0f} pos/s")
    occ = ckeys != -1
    keys, counts = ckeys[occ], ccount[occ]
    keep = counts >= cfg.min_count
    order = np.argsort(-counts[keep], kind="stable")
    kept = keys[keep][order]
    fams = kept >> FAM_SHIFT
    info = {"count_games": games, "count_positions": positions, "seconds": round(time.time() - t0), "distinct_patterns": int(occ.sum()),
            "table_closed_hits": int(closed), "min_count": cfg.min_count,
            "patterns_3x3": int(np.count_nonzero(fams == FAM3)),
            "patterns_response": int(np.count_nonzero(fams == FAMR)),
            "patterns_diamond": int(np.count_nonzero(fams == FAMD))}
    _log(f"[count] {games:,} games, {positions:,} positions in {time.time() - t0:.0f}s: "
         f"{int(occ.sum()):,} distinct patterns, {len(kept):,} kept (>= {cfg.min_count}): "
         f"3x3 {info['patterns_3x3']:,}, response {info['patterns_response']:,}, "
         f"diamond {info['patterns_diamond']:,}")
    return kept, info


def load_val(paths, cfg: RolloutTrainConfig) -> list[RolloutBatch]:
    out, n = [], 0
    for batch in batches(cfg.stream(paths, "val"), cfg.games_per_batch):
        out.append(batch)
        n += len(batch)
        if n >= cfg.val_games:
            break
    return out


def train(paths, out, cfg: RolloutTrainConfig, resume: bool = True) -> RolloutPolicy:
    """Train and write the weights file ``out``; see the module docstring."""
    out = Path(out)
    spath = state_path(out)
    st = _initial_state(paths, cfg, spath, resume)
    policy = RolloutPolicy(st["weights"], st["pattern_keys"], cfg.kind)
    run = _TrainingRun(paths, cfg, st, policy, load_val(paths, cfg), spath)
    if not run.nval:
        _log("[train] no held-out (val) games among the inputs: no validation curve")
    while st["positions"] < cfg.max_positions:
        if run.epoch():
            break
        st["epoch"] += 1
        st["consumed"] = None
        _log(f"[train] epoch {st['epoch']} done at {st['positions']:,} positions")
    policy.info = run.info()
    policy.save(out)
    spath.unlink(missing_ok=True)
    _log(f"[train] wrote {out} ({len(policy.pattern_keys):,} patterns, {st['positions']:,} positions)")
    return policy


def _initial_state(paths, cfg: RolloutTrainConfig, spath: Path, resume: bool) -> dict:
    """The saved state of an interrupted run with the same settings, else a fresh one (after
    the count pass)."""
    if resume and spath.is_file():
        st = _load_state(spath)
        if st.get("config") != cfg.key():
            raise ValueError(f"{spath} was made with other settings ({st.get('config')}); "
                             f"delete it or pass the same settings")
        _log(f"[train] resuming from {spath}: {st['positions']:,} positions done")
        return st
    keys, cinfo = count_patterns(paths, cfg)
    w = np.zeros(NFIX + len(keys), np.float32)
    st = {"config": cfg.key(), "weights": w, "pattern_keys": keys, "count": cinfo,
          "positions": 0, "epoch": 0, "consumed": None, "curve": [], "train_logp": 0.0,
          "train_top1": 0.0, "train_n": 0, "started": time.time(), "elapsed": 0.0}
    _save_state(spath, st)
    return st


class _TrainingRun:
    """The SGD pass of :func:`train`: the state ``st`` it saves for resuming (``st["weights"]``
    is ``policy.weights``, trained in place), the held-out batches and the clock of its logs,
    checkpoints and validations."""

    def __init__(self, paths, cfg: RolloutTrainConfig, st: dict, policy: RolloutPolicy,
                 val: list[RolloutBatch], spath: Path):
        self.paths, self.cfg, self.st, self.policy, self.val, self.spath = paths, cfg, st, policy, val, spath
        self.nval = sum(len(b) for b in val)
        self.base_elapsed = st.get("elapsed", 0.0)
        self.done0 = st["positions"]
        self.t0 = self.last_log = self.last_save = time.time()
        self.next_val = (st["positions"] // cfg.val_every + 1) * cfg.val_every

    def epoch(self) -> bool:
        """Train on the games of the train split not consumed yet; True once ``max_positions``
        positions are done."""
        st, cfg = self.st, self.cfg
        stream = cfg.stream(self.paths, "train", st["consumed"])
        got = 0
        for batch in batches(stream, cfg.games_per_batch):
            stats, _ = _run(MODE_TRAIN, batch, self.policy.table, self.policy.weights,
                            cfg.kind == "tree", cfg.lr, cfg.lr_halflife, st["positions"],
                            size=cfg.size)
            got += len(batch)
            st["positions"] += int(stats[ST_POS])
            st["train_logp"] += float(stats[ST_LOGP])
            st["train_top1"] += float(stats[ST_TOP1])
            st["train_n"] += int(stats[ST_POS])
            st["consumed"] = stream.consumed
            self._after_batch(time.time())
            if st["positions"] >= cfg.max_positions:
                return True
        if got == 0 and st["epoch"] == 0 and st["positions"] == 0:
            raise ValueError("no training games among the inputs")
        return False

    def _after_batch(self, now: float) -> None:
        """Progress line, held-out curve and checkpoint, each when its time has come."""
        st, cfg = self.st, self.cfg
        if now - self.last_log > 15:
            self.last_log = now
            rate = (st["positions"] - self.done0) / (now - self.t0)
            eta = eta_seconds(st["positions"] - self.done0, cfg.max_positions - self.done0,
                              now - self.t0)
            _log(f"[train] {st['positions']:,}/{cfg.max_positions:,} positions "
                 f"(epoch {st['epoch'] + 1}), {rate:,.0f} pos/s, ETA {format_duration(eta)}; "
                 f"train top-1 {100 * st['train_top1'] / max(st['train_n'], 1):.1f}% "
                 f"log-lik {st['train_logp'] / max(st['train_n'], 1):.3f}")
        if st["positions"] >= self.next_val:
            self.next_val += cfg.val_every
            self.validate()
        if now - self.last_save > cfg.save_every:
            self.last_save = now
            st["elapsed"] = self.base_elapsed + (now - self.t0)
            _save_state(self.spath, st)

    def validate(self) -> dict | None:
        """A point of the held-out curve (None without held-out games)."""
        st = self.st
        if not self.nval:
            return None
        res = summarize(*evaluate_batches(self.policy, self.val)[:3])
        st["curve"].append({"positions": st["positions"], "val_positions": res["positions"],
                            "val_top1": res["top1"],
                            "val_top5": res["top5"], "val_log_likelihood": res["log_likelihood"],
                            "train_top1": st["train_top1"] / max(st["train_n"], 1),
                            "train_log_likelihood": st["train_logp"] / max(st["train_n"], 1)})
        _log(f"[val] {st['positions']:,} positions: top-1 {100 * res['top1']:.2f}% "
             f"top-5 {100 * res['top5']:.2f}% log-lik {res['log_likelihood']:.3f} "
             f"({res['positions']:,} held-out positions)")
        st["train_logp"] = st["train_top1"] = 0.0
        st["train_n"] = 0
        return res

    def info(self) -> dict:
        """The weights file's info, after a last validation unless the curve ends here."""
        st, cfg = self.st, self.cfg
        curve = st["curve"]
        final = self.validate() if not curve or curve[-1]["positions"] != st["positions"] else {
            "positions": self.nval and curve[-1].get("val_positions"), "top1": curve[-1]["val_top1"],
            "top5": curve[-1]["val_top5"], "log_likelihood": curve[-1]["val_log_likelihood"]}
        return {"kind": cfg.kind, "positions": st["positions"], "epochs": st["epoch"] + (
            0 if st["consumed"] is None else 1), "config": cfg.key(), "count": st["count"],
            "curve": st["curve"], "inputs": [str(p) for p in self.paths],
            "train_seconds": round(self.base_elapsed + time.time() - self.t0),
            "val": final}
