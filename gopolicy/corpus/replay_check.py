"""Replay agreement between our Board and an independent implementation
(sgfmill's pure-Python ``sgfmill.boards.Board``).

Every game is replayed on both: setup stones are applied the same way, and
after every setup and every move the full board contents are compared, as is
the simple-ko point (sgfmill's ``play()`` returns it; ours is ``Board.ko``).
When our Board rejects a move, sgfmill's view is checked independently
(occupied point, recapture of the simple-ko point, suicide): if sgfmill finds
the move illegal too the game is skipped as "illegal move"; otherwise, or if we
accept a move sgfmill finds illegal, the game *disagrees*.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass

from sgfmill import boards as sboards

from gopolicy.corpus.prepare import die_with_parent, iter_unit, plan_units
from gopolicy.corpus.sgf import BAD_SETUP, ILLEGAL_MOVE, READ_ERROR, SkipGame, parse_game
from gopolicy.go.board import Board, IllegalMove
from gopolicy.go.coords import BLACK, WHITE, to_gtp
from gopolicy.progress import format_duration

_SGFMILL_CODE = {None: 0, "b": 1, "w": 2}
_COLOUR = {BLACK: "b", WHITE: "w"}


@dataclass
class GameCheck:
    name: str
    status: str                    # "agree" | "disagree" | "skip"
    reason: str = ""               # skip reason or mismatch kind
    detail: str = ""
    moves: int = 0                 # moves compared
    move_number: int = 0           # where the first mismatch happened


def _their_grid(board) -> list[int]:
    code = _SGFMILL_CODE
    return [code[v] for row in board.board for v in row]


def _diff(ours: list[int], theirs: list[int], size: int) -> str:
    pts = [i for i in range(len(ours)) if ours[i] != theirs[i]]
    shown = ", ".join(f"{to_gtp(p, size)} ours={'.XO'[ours[p]]} sgfmill={'.XO'[theirs[p]]}"
                      for p in pts[:4])
    return f"{len(pts)} points differ: {shown}"


def check_game(data, name: str = "") -> GameCheck:
    """Replay one SGF on both boards (``data``: bytes, None when unreadable, or
    the :class:`SkipGame` that kept the file from being read)."""
    if data is None:
        return GameCheck(name, "skip", READ_ERROR)
    if isinstance(data, SkipGame):
        return GameCheck(name, "skip", data.reason, data.detail)
    try:
        game = parse_game(data, name)
    except SkipGame as exc:
        return GameCheck(name, "skip", exc.reason, exc.detail)
    pair = _BoardPair(game, name)
    for ev in game.events:
        verdict = pair.setup(*ev[1:]) if ev[0] == "setup" else pair.move(ev[1], ev[2])
        if verdict is not None:
            return verdict
    return GameCheck(name, "agree", moves=pair.compared)


class _BoardPair:
    """Our Board and sgfmill's replaying one game side by side; :meth:`setup` and
    :meth:`move` return the game's verdict when it is decided, else None."""

    def __init__(self, game, name: str):
        self.name, self.size = name, game.size
        self.ours = Board(game.size, komi=game.komi)
        self.theirs = sboards.Board(game.size)
        self.their_ko = -1          # sgfmill's simple-ko point, forbidden to their_ko_colour
        self.their_ko_colour = 0
        self.number = 0             # moves played (passes count)
        self.compared = 0           # moves compared

    def skip(self, reason: str, detail: str) -> GameCheck:
        return GameCheck(self.name, "skip", reason, detail, self.compared)

    def disagree(self, reason: str, detail: str) -> GameCheck:
        return GameCheck(self.name, "disagree", reason, detail, self.compared, self.number)

    def setup(self, bp, wp, ep) -> GameCheck | None:
        size = self.size
        legal = self.theirs.apply_setup([divmod(p, size) for p in bp], [divmod(p, size) for p in wp],
                                        [divmod(p, size) for p in ep])
        if not legal:
            return self.skip(BAD_SETUP, f"bad setup before move {self.number + 1} "
                                        "(sgfmill: string without liberties)")
        self.ours.setup(bp, wp, ep)
        self.their_ko = -1
        a, b = self.ours.stones.tolist(), _their_grid(self.theirs)
        if a != b:
            return self.disagree("board after setup", _diff(a, b, size))
        return None

    def move(self, color: int, mv: int) -> GameCheck | None:
        self.number += 1
        number, size = self.number, self.size
        if mv == size * size:                           # pass
            self.ours.play(mv, color)
            self.their_ko = -1
            self.compared += 1
            return None
        r, c = divmod(mv, size)
        # sgfmill's independent verdict on legality
        why_theirs = None
        if self.theirs.board[r][c] is not None:
            why_theirs = "occupied"
        elif mv == self.their_ko and color == self.their_ko_colour:
            why_theirs = "ko"
        try:
            self.ours.play(mv, color)
            ok_ours, why_ours = True, ""
        except IllegalMove as exc:
            ok_ours, why_ours = False, str(exc)
        if why_theirs is None:
            why_theirs = self._their_play(r, c, color, ok_ours)
        if not ok_ours:
            if why_theirs:
                return self.skip(ILLEGAL_MOVE,
                                 f"illegal move at {number} ({why_ours}; sgfmill: {why_theirs})")
            return self.disagree("legality", f"move {number}: ours illegal ({why_ours}), sgfmill legal")
        if why_theirs:
            return self.disagree("legality",
                                 f"move {number} {to_gtp(mv, size)}: ours legal, sgfmill {why_theirs}")
        self.compared += 1
        return self._compare()

    def _their_play(self, r: int, c: int, color: int, ok_ours: bool) -> str | None:
        """Play the move on sgfmill's board (a copy when ours refused it): "suicide"
        when the stone is captured at once, else None (and their ko point follows)."""
        trial = self.theirs.copy() if not ok_ours else self.theirs
        ko = trial.play(r, c, _COLOUR[color])
        if trial.board[r][c] is None:                   # self-capture
            return "suicide"
        if ok_ours:
            self.their_ko = -1 if ko is None else ko[0] * self.size + ko[1]
            self.their_ko_colour = 3 - color
        return None

    def _compare(self) -> GameCheck | None:
        a, b = self.ours.stones.tolist(), _their_grid(self.theirs)
        if a != b:
            return self.disagree("board", f"move {self.number}: {_diff(a, b, self.size)}")
        if self.ours.ko != self.their_ko:
            return self.disagree("ko", f"move {self.number}: ko ours={self.ours.ko} sgfmill={self.their_ko}")
        return None


# ---------------------------------------------------------------- driver
_COUNTERS = None
MAX_MISMATCHES_PER_CHUNK = 20


def _init_worker(counters, parent: int):
    global _COUNTERS
    _COUNTERS = counters
    die_with_parent(parent)


def _check_chunk(unit) -> dict:
    out = {"games": 0, "agree": 0, "disagree": 0, "moves": 0, "skipped": {},
           "mismatches": [], "skipped_files": []}
    pending = [0, 0]
    for name, data in iter_unit(unit):
        res = check_game(data, name)
        out["games"] += 1
        out["moves"] += res.moves
        pending[0] += 1
        pending[1] += res.moves
        if res.status == "agree":
            out["agree"] += 1
        elif res.status == "disagree":
            out["disagree"] += 1
            if len(out["mismatches"]) < MAX_MISMATCHES_PER_CHUNK:
                out["mismatches"].append([name, res.move_number, res.reason, res.detail])
        else:
            out["skipped"][res.reason] = out["skipped"].get(res.reason, 0) + 1
            if len(out["skipped_files"]) < MAX_MISMATCHES_PER_CHUNK:
                out["skipped_files"].append([name, res.detail])
        if _COUNTERS is not None and pending[0] >= 16:
            _flush(pending)
    _flush(pending)
    return out


def _flush(pending):
    if _COUNTERS is None:
        return
    for v, d in zip(_COUNTERS, pending):
        with v.get_lock():
            v.value += d
    pending[0] = pending[1] = 0


def run_check(paths: list[str], workers: int | None = None, limit: int | None = None,
              chunk: int = 200, progress: bool = True, log=sys.stderr,
              interval: float = 10.0) -> dict:
    """Check every game under ``paths``; returns the totals (see :func:`_check_chunk`)."""
    workers = max(1, workers or os.cpu_count() or 1)
    t0 = time.time()
    input_skips: list = []        # unreadable archives, members over the size cap
    units, _, _ = plan_units(paths, chunk, limit, skips=input_skips)
    total = sum(u.num_games for u in units)
    if progress:
        print(f"replay-check: {total} SGF files, {len(units)} chunks, {workers} workers "
              f"(listed in {time.time() - t0:.1f}s)", file=log, flush=True)
    tot = {"games": 0, "agree": 0, "disagree": 0, "moves": 0, "skipped": {},
           "mismatches": [], "skipped_files": []}
    for reason, name, detail in input_skips:
        tot["skipped"][reason] = tot["skipped"].get(reason, 0) + 1
        tot["skipped_files"].append([name, detail])
    ctx = mp.get_context("fork")
    counters = (ctx.Value("q", 0), ctx.Value("q", 0))
    t_start = time.time()
    last = time.time()

    def line(final=False):
        g = counters[0].value
        dt = max(time.time() - t_start, 1e-9)
        rate = g / dt
        eta = (total - g) / rate if rate > 0 else float("inf")
        skipped = sum(tot["skipped"].values())
        print(f"replay-check: {g}/{total} games  agree {tot['agree']}  disagree {tot['disagree']}  "
              f"skipped {skipped}  moves {counters[1].value:,}  {rate:.1f} games/s  "
              f"elapsed {format_duration(dt)}  ETA {'0s' if final else format_duration(eta)}",
              file=log, flush=True)

    results = {}
    with ctx.Pool(min(workers, max(len(units), 1)), initializer=_init_worker,
                  initargs=(counters, os.getpid())) as pool:
        it = pool.imap_unordered(_check_chunk_indexed, list(enumerate(units)))
        remaining = len(units)
        while remaining:
            try:
                idx, res = it.next(timeout=1.0)
            except mp.TimeoutError:
                idx = None
            if idx is not None:
                remaining -= 1
                results[idx] = res
                for k in ("games", "agree", "disagree", "moves"):
                    tot[k] += res[k]
                for k, v in res["skipped"].items():
                    tot["skipped"][k] = tot["skipped"].get(k, 0) + v
                for mm in res["mismatches"]:
                    if progress and len(tot["mismatches"]) < 10:
                        print(f"replay-check: MISMATCH {mm[0]} move {mm[1]}: {mm[2]}: {mm[3]}",
                              file=log, flush=True)
            if progress and time.time() - last >= interval:
                last = time.time()
                line()
    # deterministic order of the reported examples
    for idx in sorted(results):
        tot["mismatches"].extend(results[idx]["mismatches"])
        tot["skipped_files"].extend(results[idx]["skipped_files"])
    tot["seconds"] = time.time() - t_start
    tot["games_per_s"] = tot["games"] / max(tot["seconds"], 1e-9)
    if progress:
        line(final=True)
        print_summary(tot, log)
    return tot


def _check_chunk_indexed(job):
    idx, unit = job
    return idx, _check_chunk(unit)


def print_summary(tot: dict, out=sys.stdout) -> None:
    print(f"games read:        {tot['games']}", file=out)
    print(f"games agreeing:    {tot['agree']}", file=out)
    print(f"games disagreeing: {tot['disagree']}", file=out)
    for name, num, kind, detail in tot["mismatches"][:10]:
        print(f"  {name}: move {num}: {kind}: {detail}", file=out)
    print(f"games skipped:     {sum(tot['skipped'].values())}", file=out)
    for k, v in sorted(tot["skipped"].items(), key=lambda kv: -kv[1]):
        print(f"  {k}: {v}", file=out)
    print(f"moves compared:    {tot['moves']:,}", file=out)
    print(f"time:              {tot['seconds']:.1f}s ({tot['games_per_s']:.1f} games/s, "
          f"{tot['moves'] / max(tot['seconds'], 1e-9):,.0f} moves/s)", file=out, flush=True)
