"""Worker processes that feed the training loop (torch's DataLoader underneath).

Both feeds use it: the shard loader (a worker computes the host batch of a
given step) and the SGF stream (a worker parses, replays and encodes its share
of the games). What this module adds to a plain DataLoader:

* workers die with their parent: a parent-death signal (Linux ``prctl``), and
  DataLoader's own check of the parent pid between items on other systems, so
  a ``kill -9`` of the trainer leaves no process burning the cores;
* a dead or stuck worker is a :class:`FeedError` naming it, never a hang
  (:class:`Feed`). A worker killed while it writes a batch leaves half a message
  in the pipe all workers share, and a read of it waits forever (the other
  workers keep the pipe open). torch's SIGCHLD handler breaks that read only
  when the signal lands on the main thread, and raises wherever that thread is:
  CI hung once (stop 27). So a helper thread does the reading, and the main
  thread waits for it in steps of ``POLL_S``, checking the workers' pids itself;
* batches are tuples of numpy arrays (packed planes, meta, symmetries, ...):
  pickled through the worker's pipe, which measured 1.6x faster here than
  torch tensors in shared memory (a segment and a file descriptor per batch);
  :func:`gopolicy.corpus.batches.to_device` pins them (torch caches pinned
  blocks) and copies without blocking.
"""
from __future__ import annotations

import ctypes
import os
import queue
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1
DEFAULT_TIMEOUT_S = 600   # a worker silent this long is stuck (the first SGF batch waits for a full buffer)
POLL_S = 1.0              # the main thread's wait for a batch between two checks of the workers


class FeedError(RuntimeError):
    """The data feed failed: a worker died, hung, or raised."""


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux);
    elsewhere DataLoader's watchdog notices within ~5 s."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def worker_init(_worker_id: int) -> None:
    die_with_parent()


def keep_as_is(item):
    """DataLoader's collate_fn: items are whole batches already (and ``meta`` is
    a numpy structured array that the default conversion would reject)."""
    return item


def make_loader(dataset, *, workers: int, sampler=None, prefetch: int = 4, in_order: bool = True):
    """A DataLoader over whole batches: ``workers`` processes (0: in this process).
    ``in_order=False``: take each batch from whichever worker has one ready (the
    SGF stream, whose games take unequal time), where torch has that option.
    Iterate it through a :class:`Feed`."""
    import inspect

    from torch.utils.data import DataLoader

    kw = {}
    if workers > 0:
        kw = {"prefetch_factor": prefetch, "worker_init_fn": worker_init, "persistent_workers": False}
        if not in_order and "in_order" in inspect.signature(DataLoader.__init__).parameters:
            kw["in_order"] = False
    return DataLoader(dataset, batch_size=None, sampler=sampler, num_workers=workers, collate_fn=keep_as_is,
                      **kw)


def _ended(pid: int) -> bool:
    """Has the child ``pid`` ended? (Without reaping it: DataLoader's own checks still see it.)"""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:   # reaped already
        return True


class Feed:
    """A DataLoader's batches, one per :meth:`next`, with worker failures as a
    :class:`FeedError` that says what failed (``what``): a worker that died
    (found within ``POLL_S``) or one that handed over nothing for ``stuck_s``.

    With workers, a daemon thread calls ``next()`` on the DataLoader's iterator,
    one batch per request (nothing is read ahead of the caller, so resume points
    stay exact); the caller waits on it. Without workers, ``next()`` runs here."""

    def __init__(self, loader, what: str, stuck_s: float = DEFAULT_TIMEOUT_S):
        self.loader, self.what, self.stuck_s = loader, what, stuck_s
        main = threading.current_thread() is threading.main_thread()
        before = signal.getsignal(signal.SIGCHLD) if main else None
        self.it = iter(loader)
        if main and signal.getsignal(signal.SIGCHLD) is not before:
            # torch's handler raises in the main thread wherever it is (see the module's docstring)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL if before is None else before)
        self.pids = [w.pid for w in getattr(self.it, "_workers", [])]
        self._asks: queue.Queue = queue.Queue()
        self._answers: queue.Queue = queue.Queue()
        self._broken: FeedError | None = None
        self._thread = None
        if self.pids:
            self._thread = threading.Thread(target=self._pull, name="feed-reader", daemon=True)
            self._thread.start()

    def _pull(self) -> None:
        while self._asks.get():
            try:
                self._answers.put((True, next(self.it)))
            except BaseException as exc:   # handed to the caller, StopIteration included
                self._answers.put((False, exc))

    def next(self):
        if self._broken is not None:
            raise self._broken
        if self._thread is None:
            return self._translate(next, self.it)
        self._asks.put(True)
        waited = 0.0
        while True:
            try:
                ok, value = self._answers.get(timeout=POLL_S)
                break
            except queue.Empty:
                waited += POLL_S
            dead = self._dead()
            if dead:
                self._broken = FeedError(f"{self.what}: DataLoader worker (pid {', '.join(dead)}) exited "
                                         "unexpectedly (see its traceback above, if any)")
            elif waited >= self.stuck_s:
                self._broken = FeedError(f"{self.what}: no batch from the DataLoader workers in {waited:.0f} s: "
                                         "a worker is stuck (see its traceback above, if any)")
            if self._broken is not None:
                raise self._broken
        if ok:
            return value
        return self._translate(_reraise, value)

    def _dead(self) -> list[str]:
        return [str(p) for p in self.pids if _ended(p)]

    def _translate(self, fn, arg):
        try:
            return fn(arg)
        except (StopIteration, FeedError):
            raise
        except (ConnectionError, EOFError) as exc:   # it died while handing over a batch
            dead = self._dead()
            raise FeedError(f"{self.what}: DataLoader worker (pid {', '.join(dead) or '?'}) exited unexpectedly "
                            f"while handing over a batch ({exc})") from exc
        except RuntimeError as exc:
            text = str(exc)
            if "DataLoader worker" in text:
                raise FeedError(f"{self.what}: {text.splitlines()[0]} (see the worker's traceback above, "
                                "if any)") from exc
            raise

    def close(self) -> None:
        """End the worker processes now (not at garbage collection). A reader thread
        still waiting on a dead worker's half message ends when the pipe closes."""
        if self._thread is not None:
            self._asks.put(False)
        shutdown = getattr(self.it, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()


def _reraise(exc):
    raise exc


def stop(feed: Feed | None) -> None:
    if feed is not None:
        feed.close()
