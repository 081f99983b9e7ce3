"""Synthetic prepared shards for tests and benchmarks, written in the documented
format (:mod:`gopolicy.corpus.shard_format`) with the writer's own helpers."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gopolicy.corpus import shard_format as sf
from gopolicy.corpus.packing import pack_planes, packed_size


def write_synthetic_shards(root, *, train: int = 512, val: int = 128, test: int = 0, shard_size: int = 256,
                           num_planes: int = 48, board_size: int = 19, seed: int = 0, signal: float = 1.0,
                           noise: float = 0.05, sources=("synth-a", "synth-b"), marker_plane: int = 0) -> Path:
    """A small prepared directory.

    Each position has random sparse 0/1 planes; with probability ``signal``
    plane ``marker_plane`` is the one-hot of the target point (else of another
    point), so a CNN can learn it and a hand-made model knows the answer.
    Meta: game = i // 20, move_number cycles 1..250, source cycles over
    ``sources``, colour alternates.
    """
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
            meta = np.zeros(n, dtype=sf.META_DTYPE)
            i = np.arange(done, done + n)
            meta["target"] = target
            meta["game"] = game_base + i // 20
            meta["move_number"] = i % 250 + 1
            meta["source"] = i % len(sources)
            meta["color"] = 1 + (i % 2)
            name = f"{split}-{k:05d}"
            ppath, mpath = sf.shard_paths(str(root), name)
            psize, pdigest = sf.save_npy_atomic(ppath, pack_planes(planes))
            msize, mdigest = sf.save_npy_atomic(mpath, meta)
            entries.append({"name": name, "positions": int(n), "games": int(len(np.unique(meta["game"]))),
                            "bytes": {"planes": psize, "meta": msize},
                            "sha256": {"planes": pdigest, "meta": mdigest}})
            done += n
            k += 1
        game_base += total // 20 + 1
        splits[split] = {"positions": int(total), "games": int(sum(e["games"] for e in entries)),
                         "shards": entries}
    manifest = {"format": sf.FORMAT, "version": sf.VERSION, "num_planes": num_planes, "board_size": board_size,
                "packed_bytes": packed_size(num_planes, pts), "sources": list(sources), "splits": splits,
                "skipped": {}, "skipped_files": [], "inputs": ["synthetic"], "complete": True}
    sf.write_json_atomic(str(root / sf.MANIFEST), manifest)
    return root
