"""A GTP client: drive any GTP engine (ours, GNU Go, ...) through a subprocess.

    with GtpClient("/usr/games/gnugo --mode gtp --level 1") as gnugo:
        gnugo.send("boardsize 19")
        gnugo.play("black", "D4")
        reply = gnugo.genmove("white")     # e.g. "Q16", "pass", "resign"

``send`` returns the reply text without the leading ``=`` (multi-line replies
are joined with newlines; a reply ends at its blank line) and raises
:class:`GtpError` for a ``?`` reply. When the engine exits or closes its
output, :class:`EngineDied` says which command it died on, with its exit code
and (when stderr goes to a file) the tail of its log. ``timeout`` (seconds)
bounds each reply; when it runs out the engine is killed (a late reply would
desynchronise the stream) and :class:`GtpTimeout` is raised.

:meth:`GtpClient.handshake` (``protocol_version`` with a short timeout) checks
that a program speaks GTP at all, so a wrong command line fails within seconds
with one line saying why; :func:`probe` does it on a fresh process and quits it.
"""
from __future__ import annotations

import os
import queue
import shlex
import subprocess
import tempfile
import threading
import time

HANDSHAKE_SECONDS = 10.0   # a GTP engine answers protocol_version at once; a slow loader needs more


def reply_text(lines: list[str]) -> str:
    """The text of a reply given its lines (first one starting with ``=``/``?``,
    no terminating blank line): marker and id removed; a one-line reply is
    stripped; a reply whose first line is empty (``= \\n...``) starts on the
    next line."""
    first = lines[0][1:]
    i = 0
    while i < len(first) and first[i].isdigit():  # echoed id
        i += 1
    first = first[i:].strip()
    if len(lines) == 1:
        return first
    if not first:
        return "\n".join(lines[1:])
    return "\n".join([first] + lines[1:])


class GtpError(Exception):
    """The engine answered ``? message``."""

    def __init__(self, command: str, message: str):
        super().__init__(f"{command!r} failed: {message}")
        self.command = command
        self.message = message


class EngineDied(RuntimeError):
    """The engine process exited or closed its stdout."""


class GtpTimeout(RuntimeError):
    """No complete reply within the timeout."""


def _start_problem(exc: OSError, program: str) -> str:
    """Why ``program`` could not be started, in words (not ``[Errno 2] ...``)."""
    if isinstance(exc, FileNotFoundError):
        if exc.filename is not None and str(exc.filename) != program:   # e.g. a missing cwd
            return f"no such file or folder: {exc.filename}"
        return f"no such program: {program}" + ("" if os.sep in program else " (not on the PATH)")
    if isinstance(exc, PermissionError):
        return f"{program} is not an executable program (permission denied)"
    return f"{exc.strerror or exc}: {program}"


def knows_command(client, command: str) -> bool:
    """GTP ``known_command`` through any client with ``send`` (:class:`GtpClient`,
    :class:`InProcessClient`); False when the engine errs or has died."""
    try:
        return str(client.send(f"known_command {command}")).strip().lower() == "true"
    except (GtpError, EngineDied, GtpTimeout):
        return False


class GtpClient:
    """A GTP engine in a subprocess.

    Args:
        command: a command line (split with shlex) or an argv list.
        name: a label for messages (default: the program's base name).
        stderr: where the engine's stderr goes: ``subprocess.DEVNULL`` (default),
            a path (opened for appending), an open file, or None (inherit).
        timeout: default seconds to wait for each reply (None: forever).
        cwd, env: passed to ``subprocess.Popen``.
    """

    def __init__(self, command, name: str | None = None, stderr=subprocess.DEVNULL,
                 timeout: float | None = None, cwd=None, env=None):
        self.argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
        if not self.argv:
            raise ValueError("empty engine command")
        self.name = name or os.path.basename(self.argv[0])
        self.timeout = timeout
        self._log_path = None
        self._own_log = None
        if isinstance(stderr, (str, os.PathLike)):
            self._log_path = os.fspath(stderr)
            self._own_log = open(self._log_path, "ab")
            stderr = self._own_log
        try:
            # Buffered pipes: readline() then holds the reader's lock, so close()
            # cannot pull the fd from under it (an unbuffered FileIO reads byte by
            # byte and could read from a *reused* fd number after a close).
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=stderr, cwd=cwd, env=env)
        except OSError as exc:
            if self._own_log:
                self._own_log.close()
            raise EngineDied(f"cannot start engine {self.name!r} ({' '.join(self.argv)}): "
                             f"{_start_problem(exc, self.argv[0])}") from exc
        self._lines: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"gtp-{self.name}")
        self._reader.start()
        self.closed = False

    # ------------------------------------------------------------ plumbing
    def _read(self) -> None:
        out = self.proc.stdout
        try:
            for raw in iter(out.readline, b""):
                self._lines.put(raw.decode("utf-8", "replace"))
        except (OSError, ValueError):
            pass
        self._lines.put(None)   # EOF

    def _died(self, command: str) -> EngineDied:
        try:
            rc = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            rc = None
        msg = f"engine {self.name!r} died while answering {command!r} (exit code {rc})"
        tail = self.log_tail()
        if tail:
            msg += f"; last stderr lines:\n{tail}"
        return EngineDied(msg)

    def log_tail(self, lines: int = 10) -> str:
        if not self._log_path:
            return ""
        try:
            if self._own_log:
                self._own_log.flush()
            with open(self._log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 4000))
                text = f.read().decode("utf-8", "replace")
            return "\n".join(text.splitlines()[-lines:])
        except OSError:
            return ""

    def _next_line(self, command: str, deadline_s: float | None) -> str:
        try:
            line = self._lines.get(timeout=deadline_s)
        except queue.Empty:
            # A late reply would desynchronise the stream: the engine is killed.
            self.closed = True
            try:
                self.proc.kill()
            except OSError:
                pass
            raise GtpTimeout(f"engine {self.name!r}: no reply to {command!r} within "
                             f"{deadline_s:g} s (engine killed)") from None
        if line is None:
            self._lines.put(None)  # stay at EOF for later calls
            raise self._died(command)
        return line

    # ------------------------------------------------------------ API
    def send(self, command: str, timeout: float | None = ...) -> str:
        """Send one command; return the reply text (without ``=``); GtpError on ``?``."""
        if self.closed:
            raise EngineDied(f"engine {self.name!r} is closed")
        command = command.strip()
        if "\n" in command:
            raise ValueError("one command at a time")
        timeout = self.timeout if timeout is ... else timeout
        try:
            self.proc.stdin.write((command + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._died(command) from None
        deadline = None if timeout is None else time.monotonic() + timeout

        def left():
            return None if deadline is None else max(0.001, deadline - time.monotonic())

        # Skip anything before the reply (stray output of a sloppy engine).
        while True:
            line = self._next_line(command, left()).rstrip("\r\n")
            if line[:1] in ("=", "?"):
                break
        ok = line[0] == "="
        rest = [line]
        while True:
            line = self._next_line(command, left()).rstrip("\r\n")
            if not line.strip():
                break
            rest.append(line)
        text = reply_text(rest)
        if not ok:
            raise GtpError(command, text.strip())
        return text

    def genmove(self, color: str) -> str:
        """``genmove color`` -> the vertex as sent (``D4``, ``pass``, ``resign``), stripped."""
        return self.send(f"genmove {color}").strip()

    def play(self, color: str, vertex: str) -> None:
        self.send(f"play {color} {vertex}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def handshake(self, timeout: float = HANDSHAKE_SECONDS) -> str:
        """Check that the program speaks GTP: ``protocol_version`` must be answered
        (``=`` or ``?``) within ``timeout`` seconds. Returns the reply ("" for ``?``).
        Raises :class:`GtpTimeout` (the engine is killed) or :class:`EngineDied`, each
        with a one-line message naming the command line and what to check."""
        what = f"{self.name!r} ({' '.join(self.argv)})"
        try:
            return self.send("protocol_version", timeout=timeout)
        except GtpError:
            return ""     # a '?' is still GTP (an engine without the command)
        except GtpTimeout:
            raise GtpTimeout(f"{what} gave no GTP reply to 'protocol_version' within {timeout:g} s: "
                             f"not a GTP engine (e.g. GNU Go needs --mode gtp), or one that needs "
                             f"longer to start") from None
        except EngineDied:
            rc = self.proc.poll()
            tail = self.log_tail(1)
            raise EngineDied(f"{what} exited before answering GTP's 'protocol_version' (exit code {rc})"
                             + (f"; its last stderr line: {tail.strip()}" if tail.strip() else "")) from None

    def close(self, timeout: float = 5.0) -> int | None:
        """Send ``quit``, wait, kill if needed; returns the exit code."""
        if self.closed:
            return self.proc.returncode
        self.closed = True
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        # Let the reader thread see EOF before the pipe is closed: closing it under
        # a blocked reader would free the fd number for the next engine's pipe.
        self._reader.join(timeout=timeout)
        if not self._reader.is_alive():
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        if self._own_log:
            self._own_log.close()
        return self.proc.returncode

    def __enter__(self) -> "GtpClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - best effort
        try:
            if not self.closed and self.proc.poll() is None:
                self.proc.kill()
        except Exception:
            pass


def probe(command, timeout: float = HANDSHAKE_SECONDS, name: str | None = None, cwd=None, env=None) -> str:
    """Start ``command``, check it speaks GTP (:meth:`GtpClient.handshake`) and quit it.
    Returns its ``protocol_version`` reply; raises :class:`EngineDied` (it cannot start,
    or exits) or :class:`GtpTimeout` (no GTP reply in time), with one-line messages
    that quote the engine's last stderr line."""
    with tempfile.TemporaryDirectory(prefix="gtp-probe-") as tmp:
        client = GtpClient(command, name=name, stderr=os.path.join(tmp, "stderr.log"),
                           timeout=timeout, cwd=cwd, env=env)
        try:
            return client.handshake(timeout)
        finally:
            client.close(timeout=min(timeout, 5.0))


class InProcessClient:
    """The same interface as :class:`GtpClient` over an in-process
    :class:`gopolicy.play.gtp_engine.GtpEngine` (no subprocess; used by tests and by
    ``gopolicy play`` when it is handed an engine object)."""

    def __init__(self, engine, name: str | None = None):
        self.engine = engine
        self.name = name or getattr(engine, "engine_name", "engine")
        self.closed = False

    def send(self, command: str, timeout=None) -> str:
        reply = self.engine.handle_line(command)
        if reply is None:
            raise GtpError(command, "empty command")
        lines = reply.rstrip("\n").split("\n")
        text = reply_text(lines)
        if reply.startswith("?"):
            raise GtpError(command, text.strip())
        return text

    def genmove(self, color: str) -> str:
        return self.send(f"genmove {color}").strip()

    def play(self, color: str, vertex: str) -> None:
        self.send(f"play {color} {vertex}")

    def alive(self) -> bool:
        return not self.closed

    def close(self, timeout: float = 0) -> int:
        self.closed = True
        return 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
