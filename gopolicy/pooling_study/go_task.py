"""The Go half of the study: positions, board-symmetry augmentation and the
move-prediction metrics (exact, off by one point, on an occupied point).

Positions come from prepared shards (a directory with ``manifest.json``:
its ``train`` split for training and ``test`` split, else ``val``, for testing)
or from SGF files / folders / archives (replayed with :mod:`gopolicy.corpus.sgf`,
planes from :func:`gopolicy.go.features.planes`); SGF games are split into train
and test *by game* (a fixed order from a hash of each game), so no test
position comes from a game seen in training.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gopolicy.corpus.packing import unpack_planes_np
from gopolicy.corpus.sgf import SkipGame, iter_sources, parse_game, replay
from gopolicy.corpus.shards import ShardError, ShardSet
from gopolicy.go import symmetry
from gopolicy.go.features import planes as make_planes

SHIPPED_GAMES = Path(__file__).resolve().parents[2] / "data" / "selfplay"


@dataclass
class GoData:
    x_train: np.ndarray     # uint8 (N, planes, B, B)
    y_train: np.ndarray     # int64 (N,) point = r*B + c
    x_test: np.ndarray
    y_test: np.ndarray
    board_size: int
    source: str
    train_games: int | None = None
    test_games: int | None = None

    @property
    def planes(self) -> int:
        return int(self.x_train.shape[1])


def _is_shard_dir(path: Path) -> bool:
    return path.is_dir() and (path / "manifest.json").is_file()


def _load_shards(root: Path, planes: int, max_positions: int | None, max_test: int | None,
                 seed: int) -> GoData:
    train = ShardSet(root, "train")
    test = None
    for split in ("test", "val"):
        try:
            test = ShardSet(root, split)
            break
        except (ShardError, KeyError):
            continue
    if test is None or len(test) == 0:
        raise ValueError(f"{root}: prepared shards have no test or val split to evaluate on")
    if planes > train.num_planes:
        raise ValueError(f"{root}: shards have {train.num_planes} planes, {planes} asked for")
    rng = np.random.default_rng(seed)

    def take(ss, limit):
        n = len(ss)
        idx = np.arange(n) if not limit or limit >= n else np.sort(rng.choice(n, limit, replace=False))
        packed, meta = ss.gather(idx)
        x = unpack_planes_np(packed, train.num_planes, ss.board_size)[:, :planes]
        return np.ascontiguousarray(x), meta["target"].astype(np.int64), len(np.unique(meta["game"]))

    xtr, ytr, gtr = take(train, max_positions)
    xte, yte, gte = take(test, max_test)
    return GoData(xtr, ytr, xte, yte, train.board_size,
                  f"prepared shards {root} ({train.split} / {test.split} splits)", gtr, gte)


def _game_key(name: str, data: bytes) -> str:
    return hashlib.sha256(name.encode() + b"\0" + data).hexdigest()


def _load_sgf(paths: list[str], planes: int, max_games: int | None, max_positions: int | None,
              max_test: int | None, test_fraction: float, log) -> GoData:
    games = []
    skipped = 0
    for name, data in iter_sources(paths):
        try:
            game = parse_game(data, name)
        except SkipGame:
            skipped += 1
            continue
        games.append((_game_key(name, data), name, game))
        if max_games and len(games) >= max_games:
            break
    if len(games) < 2:
        raise ValueError(f"need at least 2 usable 19x19 games in {', '.join(map(str, paths))} "
                         f"(found {len(games)}, skipped {skipped}) to split train/test by game")
    games.sort(key=lambda g: g[0])
    n_test = min(len(games) - 1, max(1, math.ceil(test_fraction * len(games))))
    splits = {"test": games[:n_test], "train": games[n_test:]}
    out = {}
    for split, items in splits.items():
        xs, ys = [], []
        limit = max_positions if split == "train" else max_test
        for _, name, game in items:
            try:
                for board, color, move, _ in replay(game):
                    if move >= board.size * board.size:   # a pass: not a point to predict
                        continue
                    xs.append(make_planes(board, color)[:planes])
                    ys.append(move)
            except SkipGame:
                skipped += 1
                continue
            if limit and len(ys) >= limit:
                break
        if limit:
            xs, ys = xs[:limit], ys[:limit]
        out[split] = (np.stack(xs) if xs else np.zeros((0, planes, 19, 19), np.uint8),
                      np.asarray(ys, dtype=np.int64))
    if skipped:
        log(f"[pooling-study] go: skipped {skipped} unusable game(s)")
    size = out["train"][0].shape[-1]
    return GoData(*out["train"], *out["test"], size,
                  f"{len(games)} SGF games from {', '.join(map(str, paths))} "
                  f"(split by game: {len(games) - n_test} train / {n_test} test)",
                  len(games) - n_test, n_test)


def load_go(paths=None, *, planes: int = 48, max_games: int | None = None,
            max_positions: int | None = None, max_test: int | None = None,
            test_fraction: float = 0.15, seed: int = 0, log=print) -> GoData:
    """Positions for the Go task. ``paths`` default: the shipped games (data/selfplay)."""
    paths = [str(p) for p in (paths or [SHIPPED_GAMES])]
    for p in paths:
        if not Path(p).exists():
            raise FileNotFoundError(f"{p}: no such file or folder (Go data: prepared shards or SGF files)")
    if len(paths) == 1 and _is_shard_dir(Path(paths[0])):
        return _load_shards(Path(paths[0]), planes, max_positions, max_test, seed)
    return _load_sgf(paths, planes, max_games, max_positions, max_test, test_fraction, log)


# ---------------------------------------------------------------------------
# Augmentation and metrics
# ---------------------------------------------------------------------------

def symmetry_augment(board_size: int):
    """Batch transform: each example gets one of the 8 board symmetries (drawn
    from the training generator), its target point mapped to match."""
    import torch

    maps = torch.from_numpy(np.stack([symmetry.point_map(s, board_size) for s in range(8)]))

    def augment(xb, yb, gen):
        sym = torch.randint(0, 8, (len(yb),), generator=gen)
        xb = xb.clone()
        yb = maps[sym, yb]
        for s in range(1, 8):
            sel = (sym == s).nonzero(as_tuple=True)[0]
            if len(sel):
                xb[sel] = symmetry.apply_torch(xb[sel], s)
        return xb, yb

    return augment


def move_metrics(logits, targets, x_planes, board_size: int) -> dict[str, float]:
    """Top-1 ("exact"), top-5, off-by-one ("near": the prediction is one of the 8
    points around the true move), "within1" = exact + near, the share of
    predictions on an occupied point (an impossible move), and the mean board
    distance (Chebyshev) of the misses."""
    import torch

    logits = torch.as_tensor(logits)
    y = torch.as_tensor(targets)
    if len(y) == 0:
        return {k: float("nan") for k in ("top1", "top5", "near", "within1", "occupied", "miss_dist")}
    pred = logits.argmax(1)
    top5 = logits.topk(min(5, logits.shape[1]), dim=1).indices
    pr, pc = pred // board_size, pred % board_size
    tr, tc = y // board_size, y % board_size
    dist = torch.maximum((pr - tr).abs(), (pc - tc).abs())
    occ = torch.as_tensor(np.asarray(x_planes[:, 0]) | np.asarray(x_planes[:, 1])).reshape(len(y), -1)
    on_occ = occ.gather(1, pred[:, None])[:, 0].bool()
    miss = dist > 0
    return {
        "top1": float((dist == 0).float().mean()),
        "top5": float((top5 == y[:, None]).any(1).float().mean()),
        "near": float((dist == 1).float().mean()),
        "within1": float((dist <= 1).float().mean()),
        "occupied": float(on_occ.float().mean()),
        "miss_dist": float(dist[miss].float().mean()) if miss.any() else 0.0,
    }
