"""A match: a series of refereed games of our engine against another GTP engine.

:func:`run_match` plays the series (colours alternate by default; games refereed by
:func:`gopolicy.play.referee.play_game`), writes one SGF per game and
``results.md`` / ``results.csv`` (:mod:`gopolicy.play.match_report`) with the win
rate and its Wilson 95% interval (:mod:`gopolicy.play.match_stats`), and prints
progress per game on stderr. A game the opponent's crash ended is "no result"
(``replay_crashed`` plays a replacement game with the same colours).

Two deterministic engines replay the same game again and again, and repeated
games are not independent trials: the interval would be too narrow. So before
game ``k`` (1-based) each engine that knows ``set_random_seed`` (GNU Go does;
so does ours, for ``--temperature``) gets ``seed + k - 1``: GNU Go then breaks
near-ties differently and the games diverge, yet each one can be replayed from
its seed (kept in results.csv and the SGF).

Before the first game the opponent (and the scorer, and our engine) must answer GTP's
``protocol_version`` (:meth:`gopolicy.play.gtp_client.GtpClient.handshake`): a command
line that is not a GTP engine fails within seconds with :class:`EngineCheckFailed`,
before any game or result file is written.
"""
from __future__ import annotations

import shlex
import sys
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gopolicy.corpus.sgf import write_sgf
from gopolicy.go.coords import BLACK, WHITE
from gopolicy.play.game import BOARD_SIZE, DEFAULT_KOMI, SCORE_PLAYOUTS
from gopolicy.play.gtp_client import (
    HANDSHAKE_SECONDS,
    EngineDied,
    GtpClient,
    GtpError,
    GtpTimeout,
    knows_command,
)
from gopolicy.play.match_report import read_csv, write_results
from gopolicy.play.match_stats import (
    NO_RESULT,
    GameRecord,
    MatchSummary,
    moves_signature,
    outcome_for,
    summarise,
)
from gopolicy.play.referee import COLOR_LETTER, MAX_MOVES, play_game

COLORS = ("alternate", "black", "white")
ROLES = ("engine", "opponent")
REPLY_TIMEOUT = 300.0      # seconds an engine may take over any reply before it forfeits


class EngineCheckFailed(RuntimeError):
    """Before the match: the ``role``'s engine ("engine", "opponent", "scorer") could not
    be started or gave no GTP reply (the cause is an EngineDied or a GtpTimeout)."""

    def __init__(self, role: str, message: str):
        super().__init__(message)
        self.role = role


def default_engine_command() -> str:
    return f"{shlex.quote(sys.executable)} -m gopolicy gtp --quiet"


def short_name(name: str, version: str) -> str:
    """``name version`` for a results table: the version's first word only (Pachi's
    ``version`` is "11.99 (Genjo-devel): I'm playing UCT. When I'm losing, ..."), one line."""
    v = version.split()[0].rstrip(":,;") if version.split() else ""
    return " ".join(f"{name.splitlines()[0] if name else ''} {v}".split())[:60]


def _engine_name(client, fallback: str) -> str:
    try:
        n = client.send("name").strip()
        try:
            v = client.send("version").strip()
        except (GtpError, EngineDied, GtpTimeout):
            v = ""
        return short_name(n, v) or fallback
    except (GtpError, EngineDied, GtpTimeout):
        return fallback


def _seed_engines(clients, seed: int) -> list[str]:
    """Send ``set_random_seed seed`` to each client that knows it (asked every game:
    one round trip, and an engine restarted mid-match is asked again); their roles."""
    seeded = []
    for role, c in clients:
        if knows_command(c, "set_random_seed"):
            c.send(f"set_random_seed {seed}")
            seeded.append(role)
    return seeded


class _Clients:
    """One worker's engine processes by role, started on first use and again after a death."""

    def __init__(self, specs: dict, out: Path, suffix: str, timeout, log, handshake=None):
        self.specs, self.out, self.suffix, self.timeout, self.log = specs, out, suffix, timeout, log
        self.handshake = handshake or {}   # role -> seconds to answer protocol_version (None: not asked)
        self.clients: dict = {}

    def get(self, role: str):
        c = self.clients.get(role)
        if c is None or not c.alive():
            if c is not None:
                print(f"[match] restarting the {role} engine", file=self.log, flush=True)
            spec = self.specs[role]
            if callable(spec) and not isinstance(spec, (str, list, tuple)):
                c = spec()
            else:
                c = GtpClient(spec, name=role, stderr=str(self.out / f"{role}{self.suffix}.log"),
                              timeout=self.timeout)
                if self.handshake.get(role):
                    try:
                        c.handshake(self.handshake[role])
                    except BaseException:
                        c.close(timeout=1.0)
                        raise
            self.clients[role] = c
        return c

    def close(self) -> None:
        for c in self.clients.values():
            try:
                c.close()
            except Exception:
                pass


@dataclass
class _Settings:
    komi: float
    max_moves: int
    timeout: float | None
    log: object
    score_playouts: int
    seed: int | None
    replay_crashed: bool
    handshake: dict


class _Match:
    """The state the workers of one match share (see :func:`run_match`); every change
    under ``lock``."""

    def __init__(self, specs: dict, out: Path, games: int, colors: str, settings: _Settings):
        self.specs, self.out, self.games, self.colors = specs, out, games, colors
        self.s = settings
        self.records: list[GameRecord] = []
        self.names: dict = {}
        self.lock = threading.Lock()
        self.errors: list[BaseException] = []
        self.jobs: deque = deque()  # (0-based game number, our colour)
        self.planned = games        # games numbered so far (replacements of crashed ones come after)

    def colour_of(self, k: int) -> int:
        return BLACK if self.colors == "black" or (self.colors == "alternate" and k % 2 == 0) else WHITE

    def plan(self, resume: bool) -> None:
        """The games to play: all, or (``resume``) those results.csv lacks."""
        if resume and (self.out / "results.csv").is_file():
            self.records += read_csv(self.out / "results.csv")
        played = {r.game for r in self.records}
        self.jobs.extend((k, self.colour_of(k)) for k in range(self.games) if k + 1 not in played)
        self.planned = max([self.games] + [r.game for r in self.records])
        if played:
            print(f"[match] resuming: {len(played)} games kept from {self.out / 'results.csv'}, "
                  f"{len(self.jobs)} to play", file=self.s.log, flush=True)

    def summary(self) -> MatchSummary:
        return summarise(sorted(self.records, key=lambda r: r.game), self.names.get("engine", "engine"),
                         self.names.get("opponent", "opponent"))

    def write(self, summary: MatchSummary) -> None:
        write_results(self.out, summary, self.specs["engine"], self.specs["opponent"], self.s.komi,
                      self.s.max_moves, self.specs["scorer"])

    def clients(self, wid: int, parallel: int) -> _Clients:
        return _Clients(self.specs, self.out, f".w{wid + 1}" if parallel > 1 else "", self.s.timeout,
                        self.s.log, self.s.handshake)

    def check(self, clients: _Clients) -> None:
        """Start the opponent, the scorer and our engine, each answering GTP, or raise
        :class:`EngineCheckFailed` (nothing played, nothing written but the engines' logs)."""
        for role in ("opponent", "scorer", "engine"):
            if self.specs[role]:
                try:
                    clients.get(role)
                except (EngineDied, GtpTimeout) as exc:
                    clients.close()
                    raise EngineCheckFailed(role, str(exc).splitlines()[0]) from exc
                except ValueError as exc:    # shlex: unbalanced quotes; an empty command
                    clients.close()
                    raise EngineCheckFailed(role, f"cannot read the command line {self.specs[role]!r}: "
                                                  f"{exc}") from exc

    def work(self, wid: int, parallel: int, clients: _Clients | None = None) -> None:
        """One worker: its own engine processes, games from the queue until none is left."""
        clients = clients or self.clients(wid, parallel)
        try:
            with self.lock:
                if not self.names:
                    for role in ROLES:
                        self.names[role] = _engine_name(clients.get(role), role)
                    if self.names["engine"] == self.names["opponent"]:
                        self.names["opponent"] += " (opponent)"
            while not self.errors:
                with self.lock:
                    if not self.jobs:
                        return
                    k, ours = self.jobs.popleft()
                rec, res = self.play(k, ours, clients)
                self.add(rec, ours, res.seconds)
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            clients.close()

    def play(self, k: int, ours: int, clients: _Clients):
        """Game ``k`` with our engine playing ``ours``: its SGF, its record and its result."""
        eng, opp = clients.get("engine"), clients.get("opponent")
        black, white = (eng, opp) if ours == BLACK else (opp, eng)
        bname, wname = (self.names["engine"], self.names["opponent"]) if ours == BLACK else \
            (self.names["opponent"], self.names["engine"])
        scorer = clients.get("scorer") if self.specs["scorer"] else None
        game_seed = ""
        seed = self.s.seed
        if seed is not None and _seed_engines((("engine", eng), ("opponent", opp)), seed + k):
            game_seed = str(seed + k)
        res = play_game(black, white, komi=self.s.komi, max_moves=self.s.max_moves, scorer=scorer,
                        score_playouts=self.s.score_playouts)
        outcome, result, reason = outcome_for(res, ours)
        sgf_path = self.out / f"game-{k + 1:03d}.sgf"
        write_sgf(sgf_path, BOARD_SIZE, self.s.komi, res.moves, black_name=bname, white_name=wname,
                  result=result, date=datetime.now().strftime("%Y-%m-%d"),
                  comment=(f"{reason}; scored by {res.scorer}" if res.scorer else reason)
                  + (f"; set_random_seed {game_seed}" if game_seed else ""))
        rec = GameRecord(k + 1, bname, wname, COLOR_LETTER[ours], result, outcome, reason,
                         len(res.moves), round(res.seconds, 2), res.scorer, sgf_path.name,
                         game_seed, moves_signature(res.moves))
        return rec, res

    def add(self, rec: GameRecord, ours: int, seconds: float) -> None:
        """Record a game, queue its replacement if it needs one, rewrite the results, say so."""
        with self.lock:
            self.records.append(rec)
            again = ""
            if rec.engine_result == NO_RESULT and self.s.replay_crashed and self.planned < 2 * self.games:
                self.jobs.append((self.planned, ours))
                again = f"; replacement: game {self.planned + 1}"
                self.planned += 1
            s = summarise(sorted(self.records, key=lambda r: r.game), self.names["engine"], self.names["opponent"])
            self.write(s)
            print(f"[match] game {rec.game}/{self.planned} ({len(self.records)} done): {rec.black} (B) vs "
                  f"{rec.white} (W): {rec.result} ({rec.reason}), {rec.moves} moves, {seconds:.1f} s; "
                  f"{self.names['engine']} {rec.engine_result}{again}; running win rate {s.wins:g}/{s.decided}"
                  + (f" = {100 * s.win_rate:.0f}%" if s.decided else ""), file=self.s.log, flush=True)


def run_match(opponent_cmd, out_dir, engine_cmd=None, games: int = 10, komi: float = DEFAULT_KOMI,
              colors: str = "alternate", max_moves: int = MAX_MOVES, scorer_cmd=None,
              timeout: float | None = REPLY_TIMEOUT, log=sys.stderr, score_playouts: int = SCORE_PLAYOUTS,
              parallel: int = 1, seed: int | None = 1, replay_crashed: bool = False,
              resume: bool = False, handshake_timeout: float | None = HANDSHAKE_SECONDS) -> MatchSummary:
    """Play ``games`` games of our engine against an opponent; write SGFs and results.

    ``engine_cmd`` / ``opponent_cmd`` / ``scorer_cmd``: command lines (str or
    argv list) or zero-argument factories returning a client. ``colors``:
    "alternate" (engine Black in odd games), "black" or "white". ``parallel``:
    games played at once, each worker with its own engine, opponent and scorer
    processes (logs ``engine.log`` or ``engine.wN.log`` ...); game ``k``'s colours
    and file name do not depend on which worker plays it. ``seed``: game ``k``
    (1-based) starts with ``set_random_seed seed + k - 1`` sent to the engines that
    know the command (see the module docstring); None sends nothing.
    ``replay_crashed``: each game the opponent's crash left without a result is
    followed by a replacement game with the same colours, numbered after the
    others (with its own seed), at most ``games`` replacements in all.
    ``results.md`` / ``results.csv`` are rewritten after every game, so a match that is
    killed keeps what it played; ``resume`` keeps the games of ``out_dir/results.csv``
    and plays only the others (same numbers, colours and seeds as a run never stopped).
    ``handshake_timeout``: seconds the opponent and the scorer (command lines, not
    factories) have to answer ``protocol_version`` when started (our engine, which loads
    a network first: the reply ``timeout``); before the first game a failure raises
    :class:`EngineCheckFailed`.
    None: no handshake.
    """
    if colors not in COLORS:
        raise ValueError(f"colors must be alternate, black or white, not {colors!r}")
    parallel = max(1, min(int(parallel), games)) if games > 0 else 1
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = {"engine": engine_cmd or default_engine_command(), "opponent": opponent_cmd, "scorer": scorer_cmd}
    handshake = {} if handshake_timeout is None else \
        {"opponent": handshake_timeout, "scorer": handshake_timeout, "engine": timeout}
    match = _Match(specs, out, games, colors,
                   _Settings(komi, max_moves, timeout, log, score_playouts, seed, replay_crashed, handshake))
    first = match.clients(0, parallel)
    match.check(first)
    match.plan(resume)
    if parallel == 1:
        match.work(0, 1, first)
    else:
        threads = [threading.Thread(target=match.work, args=(w, parallel, first if w == 0 else None),
                                    name=f"match-{w + 1}") for w in range(parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    match.records.sort(key=lambda r: r.game)
    summary = match.summary()
    match.write(summary)
    if match.errors:
        raise match.errors[0]
    print(f"[match] {summary.line()}", file=log, flush=True)
    print(f"[match] results: {out / 'results.md'}, {out / 'results.csv'}", file=log, flush=True)
    return summary
