#!/usr/bin/env python
"""Training throughput of the AlphaGo policy net (k=192, 13 layers, 48 planes) on this machine.

Measures, on the same data in the same run:
  (a) plain fp32 eager (NCHW),
  (b) the project's path (gopolicy.net.device: channels_last on the CPU, plus bf16
      autocast on CPUs with AMX/AVX512-BF16; bf16/fp16 autocast + channels_last
      on GPUs),
and prints samples/s, achieved GFLOP/s (3 x forward FLOPs per sample) and the
ratio b/a; then the loader alone (read + unpack + symmetry augmentation,
one compute thread) in both orders (per-position random through the memmap,
and the default block order), against what training consumes; and inference
positions/s at batch 1 and 256.

    python scripts/bench_train.py                 # synthetic shards in a temp dir, <= ~3 min
    python scripts/bench_train.py --data SHARDS   # a prepared corpus
    python scripts/bench_train.py --data SHARDS --cold --skip-fp32   # loader as on a corpus > RAM
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gopolicy.net.architecture import DEFAULT_FILTERS  # after the path insert: works from a bare checkout


def conv_flops(model, planes: int, size: int = 19) -> int:
    """Forward FLOPs (2 x MACs) of the model's convolutions for one position."""
    import torch

    total = 0
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            kh, kw = m.kernel_size
            total += 2 * m.in_channels // m.groups * m.out_channels * kh * kw * size * size
    return total


def evict_page_cache(shards) -> None:
    """Drop the shard files' cached pages (no root needed): reads then hit the disk."""
    for sh in shards.shards:
        for path in (sh.planes_path, sh.meta_path):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="prepared shards (default: synthetic, in a temp dir)")
    ap.add_argument("--batch-size", type=int, default=64, help="training batch for (a) and (b) (default 64)")
    ap.add_argument("--steps-fp32", type=int, default=3, help="timed steps of (a) after one warm-up step")
    ap.add_argument("--steps-fast", type=int, default=12, help="timed steps of (b) after warm-up")
    ap.add_argument("--filters", type=int, default=DEFAULT_FILTERS)
    ap.add_argument("--layers", type=int, default=13)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, help="torch threads for training (default: torch's)")
    ap.add_argument("--skip-fp32", action="store_true", help="only the project's path")
    ap.add_argument("--loader-only", action="store_true", help="only the loader benchmark")
    ap.add_argument("--cold", action="store_true",
                    help="evict the shards from the page cache before each loader run (posix_fadvise), "
                         "as on a corpus larger than RAM")
    ap.add_argument("--loader-seconds", type=float, default=10.0, help="block-order loader run, seconds (default 10: several chunks)")
    args = ap.parse_args(argv)

    import torch
    import torch.nn.functional as F

    from gopolicy.corpus.shards import ShardLoader, ShardSet, model_input, write_synthetic_shards
    from gopolicy.net.checkpoint import build_model
    from gopolicy.net.device import autocast, select_device
    from gopolicy.training.recipes import get_recipe, make_optimizer

    if args.threads:
        torch.set_num_threads(args.threads)
    tmp = None
    if args.data:
        data = Path(args.data)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="gopolicy-bench-")
        data = write_synthetic_shards(Path(tmp.name) / "shards", train=4096, val=0, shard_size=1024, seed=0,
                                      noise=0.1)
    shards = ShardSet(data, "train")
    fast = select_device(args.device)
    plain = select_device(args.device, "fp32")
    plain = type(plain)(plain.device, None, False, plain.pin_memory, plain.non_blocking, False)
    cfg = {"name": "alphago_policy", "planes": 48, "filters": args.filters, "layers": args.layers,
           "board_size": 19}
    torch.manual_seed(0)
    base = build_model(cfg)
    fwd = conv_flops(base, 48)
    cpu = ""
    if fast.device.type == "cpu":
        try:
            cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
        except (OSError, StopIteration):
            cpu = "?"
    print(f"model alphago_policy k={args.filters} layers={args.layers}: {sum(p.numel() for p in base.parameters()):,} "
          f"parameters, {fwd / 1e9:.3f} GFLOP forward per position (x3 for a training step)")
    print(f"device {fast.describe()} | torch {torch.__version__} | threads {torch.get_num_threads()} | "
          f"{cpu} | load average {os.getloadavg()[0]:.1f}")
    print(f"data {data} ({len(shards):,} positions), batch {args.batch_size}")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > 0.5 * cores:
        print(f"note: the machine is busy (load {load:.1f} on {cores} cores): multi-threaded kernels stall on "
              f"preempted threads, so these numbers are pessimistic; --threads 1 is often faster under load")

    def sync():
        if fast.device.type == "cuda":
            torch.cuda.synchronize()

    def bench_train(dev, steps, warmup):
        torch.manual_seed(0)
        model = build_model(cfg)
        model.load_state_dict(base.state_dict())
        model = dev.prepare_model(model).train()
        opt = make_optimizer(get_recipe("fast"), model)  # AdamW, as the fast recipe trains
        loader = ShardLoader(shards, args.batch_size, seed=1, device=dev.device, pin_memory=dev.pin_memory,
                             non_blocking=dev.non_blocking)

        def step():
            b = loader.next_batch()
            with autocast(dev):
                logits = model(model_input(b.x, dev.channels_last))
            loss = F.cross_entropy(logits.float(), b.target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss

        first = float(step().detach())  # same weights, same first batch in (a) and (b)
        for _ in range(warmup - 1):
            step()
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        dt = time.perf_counter() - t0
        rate = steps * args.batch_size / dt
        return rate, rate * 3 * fwd / 1e9, first

    rows = []
    r_b = None
    if args.loader_only:
        pass
    elif not args.skip_fp32:
        r_a = bench_train(plain, args.steps_fp32, 1)
        rows.append(("(a) fp32 eager, NCHW", *r_a))
    if not args.loader_only:
        r_b = bench_train(fast, args.steps_fast, 2)
        rows.append((f"(b) project path: {fast.precision}{' + channels_last' if fast.channels_last else ''}", *r_b))
    if rows:
        print()
        print(f"{'training':40s} {'samples/s':>10s} {'GFLOP/s':>9s} {'loss@1':>10s}")
    for name, rate, gf, loss in rows:
        print(f"{name:40s} {rate:10.1f} {gf:9.1f} {loss:10.3f}")
    if rows and not args.skip_fp32:
        print(f"speed-up (b)/(a): {r_b[0] / rows[0][1]:.1f}x   (goal >= 6x)")

    # -- loader alone, one compute thread ----------------------------------------------
    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    def bench_loader(block: int, seconds: float) -> float:
        if args.cold:
            evict_page_cache(shards)
        loader = ShardLoader(shards, 256, seed=3, device=fast.device, pin_memory=fast.pin_memory,
                             non_blocking=fast.non_blocking, block=block)
        model_input(loader.next_batch().x, fast.channels_last)  # compile/load kernels, first chunk
        n, t0 = 0, time.perf_counter()  # steady state: later chunks are read (prefetched) inside the timing
        while time.perf_counter() - t0 < seconds or n < 3 * 256:
            x = model_input(loader.next_batch().x, fast.channels_last)
            n += x.shape[0]
        sync()
        loader.close()
        return n / (time.perf_counter() - t0)

    random_rate = bench_loader(1, 4.0)
    block_rate = bench_loader(32, args.loader_seconds)
    torch.set_num_threads(threads)
    print()
    print(f"loader (read + unpack + 8-symmetry augmentation + float, 1 compute thread"
          f"{', page cache evicted first' if args.cold else ''}):")
    print(f"  per-position random order (memmap, block=1): {random_rate:10,.0f} positions/s")
    print(f"  block order (runs of 32 into 32,768-position chunks, pread + prefetch thread): "
          f"{block_rate:10,.0f} positions/s  ({block_rate / random_rate:.1f}x)")
    print("  goal >= 20,000/core" + (f"; {block_rate / r_b[0]:.0f}x what (b) consumes, goal >= 10x" if r_b else ""))
    if args.loader_only:
        return 0

    # -- inference -------------------------------------------------------------------
    model = fast.prepare_model(build_model(cfg)).eval()
    print()
    for bs, seconds in ((1, 2.0), (256, 4.0)):
        x = (torch.rand(bs, 48, 19, 19) < 0.2).to(torch.uint8).to(fast.device)
        with torch.inference_mode():
            for _ in range(2):
                with autocast(fast):
                    model(model_input(x, fast.channels_last))
            sync()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds or n == 0:
                with autocast(fast):
                    model(model_input(x, fast.channels_last))
                n += bs
            sync()
        rate = n / (time.perf_counter() - t0)
        print(f"inference batch {bs:3d} ({fast.precision}): {rate:10,.0f} positions/s"
              + (f"  ({1000 / rate:.2f} ms per move)" if bs == 1 else ""))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
