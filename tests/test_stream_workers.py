"""Feed worker processes: a dead or stuck worker is a clear error (never a
hang), workers die with their parent, and shard-loader workers make the same
batches as the main process."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gopolicy.corpus import feed_workers, stream
from gopolicy.corpus.shards import ShardLoader, ShardSet, write_synthetic_shards

ROOT = Path(__file__).resolve().parents[1]
SELFPLAY = ROOT / "data" / "selfplay"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _kill_then_expect_error(pid: int, next_batch, pattern: str) -> None:
    """SIGKILL worker ``pid``; taking batches must fail with a FeedError matching
    ``pattern`` within 30 s."""
    t0 = time.time()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(feed_workers.FeedError, match=pattern):
        for _ in range(10_000):
            next_batch()
    assert time.time() - t0 < 30


def test_shard_loader_workers_make_the_same_batches_and_resume(tmp_path):
    data = write_synthetic_shards(tmp_path / "s", train=3000, val=10, shard_size=700, num_planes=8)
    s = ShardSet(data, "train")
    one = ShardLoader(s, 64, seed=3, chunk_blocks=8)
    many = ShardLoader(s, 64, seed=3, chunk_blocks=8, workers=2)
    try:
        for _ in range(60):   # 1.3 epochs: crosses chunks and an epoch boundary
            a, b = one.next_host(), many.next_host()
            assert all(np.array_equal(x, y) for x, y in zip(a, b))
        state = many.state_dict()
        assert (state["epoch"], state["step"]) == (one.epoch, one.step)
        many.close()
        again = ShardLoader(s, 64, seed=3, chunk_blocks=8, workers=2)
        again.load_state_dict(state)
        ba, bb = one.next_batch(), again.next_batch()
        assert np.array_equal(ba.x.numpy(), bb.x.numpy()) and np.array_equal(ba.target, bb.target)
        again.close()
    finally:
        one.close()
        many.close()


def test_a_dead_worker_is_a_clear_error_not_a_hang():
    plan = stream.plan_stream([str(SELFPLAY)])
    loader = stream.SGFLoader(plan, 32, workers=2, shuffle=64, val_fraction=0, test_fraction=0)
    try:
        loader.next_host()
        pid = loader._feed.pids[0]
        # no async SIGCHLD exception from torch (it can strike inside a queue's lock and hang)
        assert getattr(signal.getsignal(signal.SIGCHLD), "__module__", "") != "torch.utils.data._utils.signal_handling"
        _kill_then_expect_error(pid, loader.next_host, rf"SGF stream .*worker \(pid\(?s?\)? {pid}\)? .*exited")
    finally:
        loader.close()


class _Silent(torch.utils.data.IterableDataset):
    """A worker that hands over one item, then nothing (a stuck parser, a dead NFS mount)."""

    def __iter__(self):
        yield np.zeros(3)
        time.sleep(600)


def test_a_stuck_worker_is_a_clear_error_after_the_stuck_limit(monkeypatch):
    monkeypatch.setattr(feed_workers, "POLL_S", 0.25)
    feed = feed_workers.Feed(feed_workers.make_loader(_Silent(), workers=1, prefetch=2), "silent feed", stuck_s=2)
    try:
        feed.next()     # the one item
        t0 = time.time()
        with pytest.raises(feed_workers.FeedError, match=r"silent feed: no batch .* in 2 s: a worker is stuck"):
            feed.next()
        assert 1.5 < time.time() - t0 < 15   # it waited the limit, polling, and no longer
        with pytest.raises(feed_workers.FeedError, match="stuck"):   # and stays failed
            feed.next()
    finally:
        feed.close()


class _HalfMessage(torch.utils.data.IterableDataset):
    """Items bigger than a pipe holds: a kill lands while one is half written."""

    def __iter__(self):
        while True:
            yield np.ones(1 << 20, np.uint8)


def test_a_worker_killed_halfway_through_a_batch_is_an_error_not_a_hang():
    # the pipe fills (the main thread reads nothing) and the worker blocks halfway through a
    # batch; killed there, it leaves half a message that a plain read would wait on forever
    feed = feed_workers.Feed(feed_workers.make_loader(_HalfMessage(), workers=2, prefetch=2), "big feed")
    try:
        assert feed.next().size == 1 << 20
        time.sleep(1.0)
        _kill_then_expect_error(feed.pids[0], feed.next, rf"big feed: DataLoader worker \(pid {feed.pids[0]}\) exited")
    finally:
        feed.close()


CHILD = """
import sys, time
from gopolicy.corpus import feed_workers, stream
plan = stream.plan_stream([sys.argv[1]])
loader = stream.SGFLoader(plan, 16, workers=2, shuffle=32, val_fraction=0, test_fraction=0)
loader.next_host()
print(*loader._feed.pids, flush=True)
time.sleep(600)
"""


def test_workers_die_with_their_parent():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(SELFPLAY)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        pids = [int(x) for x in line.split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids), proc.stderr.read()[-2000:] if not line else line
        proc.send_signal(signal.SIGKILL)   # what an out-of-memory killer does
        proc.wait()
        deadline = time.time() + 15
        while any(_alive(p) for p in pids) and time.time() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in pids), "orphaned feed workers"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_train_with_shard_workers_equals_the_main_process_loader(tmp_path):
    from gopolicy.cli import main as cli_main
    from gopolicy.net import checkpoint as ck

    data = write_synthetic_shards(tmp_path / "s", train=600, val=32, shard_size=200, num_planes=8, seed=2)
    common = ["--data", str(data), "--filters", "8", "--layers", "3", "--planes", "4", "--precision", "fp32",
              "--device", "cpu", "--threads", "1", "--batch-size", "32", "--max-steps", "25", "--eval-every", "0",
              "--log-every", "5", "--no-plot"]
    assert cli_main(["train", "--out", str(tmp_path / "w0"), *common]) == 0
    assert cli_main(["train", "--out", str(tmp_path / "w2"), *common, "--workers", "2"]) == 0
    a, b = ck.load_checkpoint(tmp_path / "w0" / "ckpt.pt"), ck.load_checkpoint(tmp_path / "w2" / "ckpt.pt")
    assert a["data"] == b["data"]
    for k in a["model"]:
        assert np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()), k   # the same batches, bit for bit
