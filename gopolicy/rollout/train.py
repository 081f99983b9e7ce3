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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from gopolicy._numba_cache import ensure_fresh
from gopolicy.rollout import patterns as P
from gopolicy.rollout.model import RolloutPolicy

ensure_fresh()

MODE_COUNT, MODE_TRAIN, MODE_EVAL = 0, 1, 2
# per-batch statistics written by the kernel
ST_POS, ST_LOGP, ST_TOP1, ST_NOTCAND, ST_ILLEGAL, ST_FULL = range(6)


@njit(cache=True)
def _count_key(ckeys, ccount, key, allow_new):
    """Count ``key``; returns 1 when it was new but the table is closed to new keys."""
    i = P.table_find(ckeys, key)
    if ckeys[i] == key:
        ccount[i] += 1
        return 0
    if not allow_new:
        return 1
    ckeys[i] = key
    ccount[i] = 1
    return 0


@njit(cache=True)
def run_games(mode, setup, setup_start, moves, colors, move_start, size, nbr, nbr8, nbr12, p12,
              i12, t_o, t_d, swap, keys, vals, w, tree, lr0, lr_halflife, pos0, ckeys, ccount,
              allow_new, stats, ev_top1, ev_top5, ev_logp, ev_number, ev_game):
    """Replay games; count pattern keys (mode 0), train (1) or evaluate (2).

    Game g: setup ``setup[setup_start[g]:setup_start[g+1]]`` (point * 4 + colour), moves
    ``moves/colors[move_start[g]:move_start[g+1]]`` (pass = n). Eval arrays get one entry per
    non-pass move (move number 1-based). Returns the number of eval entries."""
    n = size * size
    S = np.zeros((P.NROWS, n), np.int32)
    meta = np.zeros(P.NMETA, np.int64)
    val = np.zeros((2, n), np.uint8)
    k3 = np.zeros((2, n), np.int64)
    sl3 = np.zeros((2, n), np.int32)
    cand = np.empty(n, np.int32)
    cidx = np.empty(n, np.int32)
    feats = np.zeros((n, P.MAXF), np.int32)
    fkeys = np.zeros((n, P.MAXF), np.int64)
    nf = np.zeros(n, np.int32)
    ext_pt = np.empty(4 * n + 64, np.int32)
    ext_f = np.empty(4 * n + 64, np.int32)
    ext_key = np.empty(4 * n + 64, np.int64)
    cells = np.empty(12, np.int32)
    tf = np.empty(8, np.int32)
    tk = np.empty(8, np.int64)
    dirty = np.empty(n, np.int32)
    allpts = np.arange(n).astype(np.int32)
    stones = np.zeros(n, np.int8)
    sc = np.empty(n, np.float64)
    ne = 0
    npos = pos0
    for g in range(move_start.shape[0] - 1):
        stones[:] = 0
        for i in range(setup_start[g], setup_start[g + 1]):
            stones[setup[i] // 4] = setup[i] % 4
        P.init_state(S, meta, stones, nbr, nbr8, -1, -1, -1)
        P.refresh_points(S, meta, allpts, n, 0, t_o, t_d, swap, keys, vals, val, k3, sl3,
                         True)
        number = 0
        for i in range(move_start[g], move_start[g + 1]):
            m = moves[i]
            c = colors[i]
            number += 1
            if m == n:
                P.play_pass(meta)
                continue
            if S[P.COL, m] != 0 or m == meta[P.M_KO] or not _breathes(S[P.CODE, m], c):
                stats[ST_ILLEGAL] += 1
                break
            ncand = P.position_features(S, meta, nbr, nbr12, p12, i12, keys, vals, size, c,
                                        tree, val, sl3, k3, cand, cidx, feats, fkeys, nf,
                                        ext_pt, ext_f, ext_key, cells, tf, tk)
            j = cidx[m]
            if mode == MODE_COUNT:
                for a in range(ncand):
                    for b in range(nf[a]):
                        if fkeys[a, b] != 0:
                            stats[ST_FULL] += _count_key(ckeys, ccount, fkeys[a, b],
                                                         allow_new)
                stats[ST_POS] += 1
            elif j < 0:
                stats[ST_NOTCAND] += 1
                if mode == MODE_EVAL:
                    ev_top1[ne] = 0
                    ev_top5[ne] = 0
                    ev_logp[ne] = math.log(1e-6)
                    ev_number[ne] = number
                    ev_game[ne] = g
                    ne += 1
            else:
                mx = -1e300
                for a in range(ncand):
                    s = 0.0
                    for b in range(nf[a]):
                        s += w[feats[a, b]]
                    sc[a] = s
                    if s > mx:
                        mx = s
                tot = 0.0
                for a in range(ncand):
                    sc[a] = math.exp(sc[a] - mx)
                    tot += sc[a]
                pj = sc[j] / tot
                rank = 0
                for a in range(ncand):
                    if sc[a] > sc[j] or (sc[a] == sc[j] and a < j):
                        rank += 1
                stats[ST_POS] += 1
                stats[ST_LOGP] += math.log(max(pj, 1e-300))
                stats[ST_TOP1] += 1 if rank == 0 else 0
                if mode == MODE_EVAL:
                    ev_top1[ne] = 1 if rank == 0 else 0
                    ev_top5[ne] = 1 if rank < 5 else 0
                    ev_logp[ne] = math.log(max(pj, 1e-300))
                    ev_number[ne] = number
                    ev_game[ne] = g
                    ne += 1
                else:
                    lr = lr0 / (1.0 + npos / lr_halflife)
                    npos += 1
                    for a in range(ncand):
                        g_a = sc[a] / tot - (1.0 if a == j else 0.0)
                        for b in range(nf[a]):
                            w[feats[a, b]] -= lr * g_a
            nd = P.play(S, meta, nbr, nbr8, m, c, dirty)
            P.refresh_points(S, meta, dirty, nd, 0, t_o, t_d, swap, keys, vals, val, k3, sl3,
                             True)
    return ne


@njit(cache=True)
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
class Batch:
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

    def arrays(self):
        return (np.array(self.setup, np.int32), np.array(self.setup_start, np.int64),
                np.array(self.moves, np.int32), np.array(self.colors, np.int32),
                np.array(self.move_start, np.int64))


class GameStream:
    """Games of one split (None: all games) from files, folders and archives, taken in turn from each input
    (so a mix of archives is mixed from the start); ``consumed[i]`` counts the SGF records
    read from input i, which is all a resumed run needs to continue where it stopped."""

    def __init__(self, paths, split: str | None = "train", consumed: list[int] | None = None,
                 size: int = 19, val_fraction: float = 0.01, test_fraction: float = 0.01):
        from gopolicy.corpus import sgf as sgf_io

        self.leaves = sgf_io.expand_inputs([str(p) for p in paths])
        if not self.leaves:
            raise FileNotFoundError(f"no SGF files in {list(map(str, paths))}")
        self.split = split
        self.size = size
        self.consumed = list(consumed) if consumed else [0] * len(self.leaves)
        self.skipped: dict[str, int] = {}
        self.fractions = (val_fraction, test_fraction)

    def _records(self, i):
        from gopolicy.corpus import sgf as sgf_io

        kind, path = self.leaves[i]
        if kind == "archive":
            yield from sgf_io.iter_archive(path, start=self.consumed[i])
        elif self.consumed[i] == 0:
            with open(path, "rb") as f:
                yield sgf_io.clean_name(path), f.read()

    def __iter__(self):
        from gopolicy.corpus import sgf as sgf_io
        from gopolicy.corpus.shard_format import game_hash, split_of

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
    b = Batch()
    for game in stream:
        b.add(game)
        if len(b) >= games_per_batch:
            yield b
            b = Batch()
    if len(b):
        yield b


def sgf_inputs_of(data_dir: str) -> tuple[list[str], float, float]:
    """``(SGF inputs, val fraction, test fraction)`` a shard directory was prepared with:
    shards hold network planes, not game records, so the games are read again."""
    import os

    from gopolicy.corpus.shard_format import read_manifest

    man = read_manifest(data_dir)
    if not man:
        raise ValueError(f"{data_dir}: no shard manifest")
    cfg = man.get("config", {})
    inputs = [p for p in cfg.get("inputs", []) if os.path.exists(p)]
    if not inputs:
        raise ValueError(f"{data_dir}: the SGF inputs it was prepared from are gone; pass --sgf")
    return inputs, float(cfg.get("val_fraction", 0.01)), float(cfg.get("test_fraction", 0.01))


# --------------------------------------------------------------------- kernel calls
def _run(mode, batch: Batch, policy_keys, policy_vals, w, tree, lr=0.0, halflife=1.0, pos0=0,
         ckeys=None, ccount=None, allow_new=True, size=19, eval_out=False):
    t = P.tables(size)
    stats = np.zeros(6, np.float64)
    m = max(batch.num_moves, 1)
    m = m if eval_out else 1
    ev = (np.zeros(m, np.uint8), np.zeros(m, np.uint8), np.zeros(m, np.float64),
          np.zeros(m, np.int32), np.zeros(m, np.int32))
    if ckeys is None:
        ckeys = np.full(1, -1, np.int64)
        ccount = np.zeros(1, np.int64)
    ne = run_games(mode, *batch.arrays(), size, t.nbr, t.nbr8, t.nbr12, t.p12, t.i12, t.t_o,
                   t.t_d, t.swap, policy_keys, policy_vals, w, tree, float(lr), float(halflife),
                   int(pos0), ckeys, ccount, allow_new, stats, *ev)
    return stats, tuple(a[:ne] for a in ev)


def evaluate_batches(policy: RolloutPolicy, batch_iter, max_positions: int | None = None):
    """``(top1, top5, logp, move_number, source)`` arrays over the non-pass moves of the games
    (a move the policy never plays, e.g. filling its own eye, counts as a miss, p = 1e-6)."""
    outs = [[], [], [], [], []]
    total = 0
    for batch in batch_iter:
        _, ev = _run(MODE_EVAL, batch, policy.keys, policy.vals, policy.weights, policy.tree,
                     eval_out=True)
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
class TrainConfig:
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


def count_patterns(paths, cfg: TrainConfig) -> tuple[np.ndarray, dict]:
    """Pattern keys of the candidates of the first ``count_games`` training games seen at least
    ``min_count`` times, most frequent first."""
    cap = 1 << (23 if cfg.kind == "tree" else 21)
    ckeys = np.full(cap, -1, np.int64)
    ccount = np.zeros(cap, np.int64)
    empty_k, empty_v = P.build_table(np.zeros(0, np.int64), np.zeros(0, np.int32))
    w = np.zeros(P.NFIX, np.float32)
    stream = cfg.stream(paths, "train")
    games = positions = 0
    t0 = last = time.time()
    closed = 0.0
    for batch in batches(stream, cfg.games_per_batch):
        if games >= cfg.count_games:
            break
        allow = bool(np.count_nonzero(ckeys != -1) < cap // 2)
        stats, _ = _run(MODE_COUNT, batch, empty_k, empty_v, w, cfg.kind == "tree",
                        ckeys=ckeys, ccount=ccount, allow_new=allow, size=cfg.size)
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
    fams = kept >> P.FAM_SHIFT
    info = {"count_games": games, "count_positions": positions, "seconds": round(time.time() - t0), "distinct_patterns": int(occ.sum()),
            "table_closed_hits": int(closed), "min_count": cfg.min_count,
            "patterns_3x3": int(np.count_nonzero(fams == P.FAM3)),
            "patterns_response": int(np.count_nonzero(fams == P.FAMR)),
            "patterns_diamond": int(np.count_nonzero(fams == P.FAMD))}
    _log(f"[count] {games:,} games, {positions:,} positions in {time.time() - t0:.0f}s: "
         f"{int(occ.sum()):,} distinct patterns, {len(kept):,} kept (>= {cfg.min_count}): "
         f"3x3 {info['patterns_3x3']:,}, response {info['patterns_response']:,}, "
         f"diamond {info['patterns_diamond']:,}")
    return kept, info


def load_val(paths, cfg: TrainConfig) -> list[Batch]:
    out, n = [], 0
    for batch in batches(cfg.stream(paths, "val"), cfg.games_per_batch):
        out.append(batch)
        n += len(batch)
        if n >= cfg.val_games:
            break
    return out


def train(paths, out, cfg: TrainConfig, resume: bool = True) -> RolloutPolicy:
    """Train and write the weights file ``out``; see the module docstring."""
    from gopolicy.progress import eta_seconds, format_duration

    out = Path(out)
    spath = state_path(out)
    st = None
    if resume and spath.is_file():
        st = _load_state(spath)
        if st.get("config") != cfg.key():
            raise ValueError(f"{spath} was made with other settings ({st.get('config')}); "
                             f"delete it or pass the same settings")
        _log(f"[train] resuming from {spath}: {st['positions']:,} positions done")
    if st is None:
        keys, cinfo = count_patterns(paths, cfg)
        w = np.zeros(P.NFIX + len(keys), np.float32)
        st = {"config": cfg.key(), "weights": w, "pattern_keys": keys, "count": cinfo,
              "positions": 0, "epoch": 0, "consumed": None, "curve": [], "train_logp": 0.0,
              "train_top1": 0.0, "train_n": 0, "started": time.time(), "elapsed": 0.0}
        _save_state(spath, st)
    policy = RolloutPolicy(st["weights"], st["pattern_keys"], cfg.kind)
    w = policy.weights
    val = load_val(paths, cfg)
    nval = sum(len(b) for b in val)
    if not nval:
        _log("[train] no held-out (val) games among the inputs: no validation curve")

    def validate():
        if not nval:
            return None
        res = summarize(*evaluate_batches(policy, val)[:3])
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

    t0 = time.time()
    base_elapsed = st.get("elapsed", 0.0)
    done0 = st["positions"]
    last_log = last_save = time.time()
    next_val = (st["positions"] // cfg.val_every + 1) * cfg.val_every
    tree = cfg.kind == "tree"
    while st["positions"] < cfg.max_positions:
        stream = cfg.stream(paths, "train", st["consumed"])
        got = 0
        for batch in batches(stream, cfg.games_per_batch):
            stats, _ = _run(MODE_TRAIN, batch, policy.keys, policy.vals, w, tree, cfg.lr,
                            cfg.lr_halflife, st["positions"], size=cfg.size)
            got += len(batch)
            st["positions"] += int(stats[ST_POS])
            st["train_logp"] += float(stats[ST_LOGP])
            st["train_top1"] += float(stats[ST_TOP1])
            st["train_n"] += int(stats[ST_POS])
            st["consumed"] = stream.consumed
            now = time.time()
            if now - last_log > 15:
                last_log = now
                rate = (st["positions"] - done0) / (now - t0)
                eta = eta_seconds(st["positions"] - done0, cfg.max_positions - done0, now - t0)
                _log(f"[train] {st['positions']:,}/{cfg.max_positions:,} positions "
                     f"(epoch {st['epoch'] + 1}), {rate:,.0f} pos/s, ETA {format_duration(eta)}; "
                     f"train top-1 {100 * st['train_top1'] / max(st['train_n'], 1):.1f}% "
                     f"log-lik {st['train_logp'] / max(st['train_n'], 1):.3f}")
            if st["positions"] >= next_val:
                next_val += cfg.val_every
                validate()
            if now - last_save > cfg.save_every:
                last_save = now
                st["elapsed"] = base_elapsed + (now - t0)
                _save_state(spath, st)
            if st["positions"] >= cfg.max_positions:
                break
        if st["positions"] >= cfg.max_positions:
            break
        if got == 0:
            if st["epoch"] == 0 and st["positions"] == 0:
                raise ValueError("no training games among the inputs")
        st["epoch"] += 1
        st["consumed"] = None
        _log(f"[train] epoch {st['epoch']} done at {st['positions']:,} positions")
    curve = st["curve"]
    final = validate() if not curve or curve[-1]["positions"] != st["positions"] else {
        "positions": nval and curve[-1].get("val_positions"), "top1": curve[-1]["val_top1"],
        "top5": curve[-1]["val_top5"], "log_likelihood": curve[-1]["val_log_likelihood"]}
    info = {"kind": cfg.kind, "positions": st["positions"], "epochs": st["epoch"] + (
        0 if st["consumed"] is None else 1), "config": cfg.key(), "count": st["count"],
        "curve": st["curve"], "inputs": [str(p) for p in paths],
        "train_seconds": round(base_elapsed + time.time() - t0),
        "val": final}
    policy.info = info
    policy.save(out)
    spath.unlink(missing_ok=True)
    _log(f"[train] wrote {out} ({len(policy.pattern_keys):,} patterns, {st['positions']:,} positions)")
    return policy
