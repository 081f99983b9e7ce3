#!/usr/bin/env python
"""How fast the data feeds can feed a training loop, in positions per second (one run, ratios).

What is timed is the host batch arriving in the main process (packed planes,
targets, symmetries): what a GPU training loop is fed with, the unpacking then
running on the device. Startup (numba, forking, filling the shuffle buffers) is
left out: each feed is timed from its first batch.

  feature  the one-thread rate of parse + replay + 48 planes + packing of the
           SGF games (gopolicy.corpus.stream.GameEncoder), the per-core ceiling
  sgf N    gopolicy train --sgf's feed with N worker processes
  shards   the shard loader in the main process (its read-ahead thread)
  shards N the shard loader with N worker processes

    nice python scripts/bench_feed.py      # $GOPOLICY_CORPUS or ../shared/data/sgf/train, 1 and 2 workers
    python scripts/bench_feed.py --workers 1,2,4,8,15 --seconds 30   # on a bigger host
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cpu_seconds(pids) -> float:
    """User + system CPU time of processes (Linux /proc), to tell contention from overhead."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def timed(next_batch, seconds: float, batch: int, pids=lambda: []) -> tuple[float, float]:
    """(positions/s, positions per CPU-second of the feeding processes)."""
    next_batch()   # the first batch carries the startup
    procs = [os.getpid(), *pids()]
    n, t0, c0 = 0, time.perf_counter(), cpu_seconds(procs)
    while time.perf_counter() - t0 < seconds:
        next_batch()
        n += batch
    dt, dc = time.perf_counter() - t0, cpu_seconds(procs) - c0
    return n / dt, n / max(dc, 1e-9)


def worker_pids(loader):
    feed = getattr(loader, "_feed", None)
    return list(feed.pids) if feed else []


def feature_rate(plan, seconds: float) -> float:
    from gopolicy.corpus import sgf as sgf_mod
    from gopolicy.corpus import stream

    enc = stream.GameEncoder(plan.source_index)
    stream.warm_up()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    for gid, name, data in stream.iter_games(plan.groups, lambda r, d: None):
        try:
            game = enc.parse(name, data)
            _packed, meta = enc.encode(game, gid, name)
        except sgf_mod.SkipGame:
            continue
        n += len(meta)
        if time.perf_counter() - t0 >= seconds:
            break
    return n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sgf", nargs="*", help="SGF inputs (default: $GOPOLICY_CORPUS or ../shared/data/sgf/train, else data/selfplay)")
    ap.add_argument("--workers", default="1,2", help="worker counts to time (default 1,2)")
    ap.add_argument("--seconds", type=float, default=15.0, help="timed seconds per feed (default 15)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--shuffle", type=int, default=16384, help="SGF shuffle buffer per worker (default 16384)")
    ap.add_argument("--shard-positions", type=int, default=65536,
                    help="synthetic 48-plane shards for the shard loader (default 65536, 142 MB)")
    args = ap.parse_args(argv)

    import torch

    from gopolicy.corpus import stream
    from gopolicy.corpus.shards import ShardLoader, ShardSet, write_synthetic_shards

    torch.set_num_threads(1)
    corpus = os.environ.get("GOPOLICY_CORPUS") or str(ROOT.parent / "shared" / "data" / "sgf" / "train")
    inputs = args.sgf or [p for p in (corpus, str(ROOT / "data" / "selfplay")) if os.path.exists(p)][:1]
    counts = [int(x) for x in args.workers.split(",") if x]
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?") \
        if os.path.exists("/proc/cpuinfo") else "?"
    print(f"bench_feed: {os.cpu_count()} cores ({cpu}), batch {args.batch_size}, {args.seconds:g} s per feed; "
          f"SGF from {', '.join(inputs)}", flush=True)
    plan = stream.plan_stream(inputs)
    B = args.batch_size

    def show(name, rate, per_cpu, ref=None, ref_name=""):
        vs = f"  {rate / ref:5.2f}x {ref_name}" if ref else ""
        print(f"  {name:22s} {rate:10,.0f} positions/s  ({per_cpu:8,.0f} per CPU-second){vs}", flush=True)

    base, base_cpu = feature_rate(plan, args.seconds)
    show("feature, 1 thread", base, base_cpu)
    sgf = {}
    for w in counts:
        ld = stream.SGFLoader(plan, B, workers=w, shuffle=args.shuffle, seed=1)
        try:
            sgf[w] = timed(ld.next_host, args.seconds, B, lambda ld=ld: worker_pids(ld))
        finally:
            ld.close()
        show(f"sgf, {w} workers", *sgf[w], base, "the one-thread feature rate")

    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_shards(Path(tmp) / "s", train=args.shard_positions, val=0, shard_size=2048,
                               num_planes=48)
        shards = ShardSet(Path(tmp) / "s", "train")
        ld = ShardLoader(shards, B, seed=1)
        try:
            one, one_cpu = timed(ld.next_host, args.seconds, B)
        finally:
            ld.close()
        show("shards, main process", one, one_cpu)
        for w in counts:
            ld = ShardLoader(shards, B, seed=1, workers=w)
            try:
                r = timed(ld.next_host, args.seconds, B, lambda ld=ld: worker_pids(ld))
            finally:
                ld.close()
            show(f"shards, {w} workers", *r, one, "the main-process loader")
    if len(counts) > 1 and counts[0] == 1:
        print("  SGF feed scaling over 1 worker: " + ", ".join(f"{w} workers {sgf[w][0] / sgf[1][0]:.2f}x"
                                                          for w in counts[1:]))
    print("  SGF feed against the main-process shard loader: "
          + ", ".join(f"{w} workers {sgf[w][0] / one:.3f}x" for w in counts))
    print(f"  CPU-bound estimate for a host with C free cores: about (C - 1) x {sgf[counts[-1]][1]:,.0f} "
          f"positions/s from SGF (C = 16: {15 * sgf[counts[-1]][1]:,.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
