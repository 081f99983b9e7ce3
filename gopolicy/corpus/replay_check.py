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

from gopolicy.go.coords import BLACK, WHITE, to_gtp
from gopolicy.corpus.sgf import BAD_SETUP, ILLEGAL_MOVE, READ_ERROR, SkipGame, parse_game

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
    from sgfmill import boards as sboards

    from gopolicy.go.board import Board, IllegalMove

    if data is None:
        return GameCheck(name, "skip", READ_ERROR)
    if isinstance(data, SkipGame):
        return GameCheck(name, "skip", data.reason, data.detail)
    try:
        game = parse_game(data, name)
    except SkipGame as exc:
        return GameCheck(name, "skip", exc.reason, exc.detail)
    size = game.size
    n = size * size
    ours = Board(size, komi=game.komi)
    theirs = sboards.Board(size)
    their_ko = -1          # sgfmill's simple-ko point, forbidden to their_ko_colour
    their_ko_colour = 0
    number = 0
    compared = 0
    for ev in game.events:
        if ev[0] == "setup":
            _, bp, wp, ep = ev
            legal = theirs.apply_setup([divmod(p, size) for p in bp], [divmod(p, size) for p in wp],
                                       [divmod(p, size) for p in ep])
            if not legal:
                return GameCheck(name, "skip", BAD_SETUP,
                                 f"bad setup before move {number + 1} (sgfmill: string without liberties)",
                                 compared)
            ours.setup(bp, wp, ep)
            their_ko = -1
            a, b = ours.stones.tolist(), _their_grid(theirs)
            if a != b:
                return GameCheck(name, "disagree", "board after setup", _diff(a, b, size),
                                 compared, number)
            continue
        _, color, mv = ev
        number += 1
        if mv == n:                                     # pass
            ours.play(mv, color)
            their_ko = -1
            compared += 1
            continue
        # sgfmill's independent verdict on legality
        r, c = divmod(mv, size)
        why_theirs = None
        if theirs.board[r][c] is not None:
            why_theirs = "occupied"
        elif mv == their_ko and color == their_ko_colour:
            why_theirs = "ko"
        try:
            ours.play(mv, color)
            ok_ours, why_ours = True, ""
        except IllegalMove as exc:
            ok_ours, why_ours = False, str(exc)
        if why_theirs is None:
            trial = theirs.copy() if not ok_ours else theirs
            ko = trial.play(r, c, _COLOUR[color])
            if trial.board[r][c] is None:               # self-capture
                why_theirs = "suicide"
                if ok_ours:
                    return GameCheck(name, "disagree", "legality",
                                     f"move {number} {to_gtp(mv, size)}: ours legal, sgfmill suicide",
                                     compared, number)
            elif ok_ours:
                their_ko = -1 if ko is None else ko[0] * size + ko[1]
                their_ko_colour = 3 - color
        if not ok_ours:
            if why_theirs:
                return GameCheck(name, "skip", ILLEGAL_MOVE,
                                 f"illegal move at {number} ({why_ours}; sgfmill: {why_theirs})",
                                 compared)
            return GameCheck(name, "disagree", "legality",
                             f"move {number}: ours illegal ({why_ours}), sgfmill legal", compared, number)
        if why_theirs:
            return GameCheck(name, "disagree", "legality",
                             f"move {number} {to_gtp(mv, size)}: ours legal, sgfmill {why_theirs}",
                             compared, number)
        compared += 1
        a, b = ours.stones.tolist(), _their_grid(theirs)
        if a != b:
            return GameCheck(name, "disagree", "board", f"move {number}: {_diff(a, b, size)}",
                             compared, number)
        if ours.ko != their_ko:
            return GameCheck(name, "disagree", "ko",
                             f"move {number}: ko ours={ours.ko} sgfmill={their_ko}", compared, number)
    return GameCheck(name, "agree", moves=compared)


# ---------------------------------------------------------------- driver
_COUNTERS = None
MAX_MISMATCHES_PER_CHUNK = 20


def _init_worker(counters, parent: int):
    from gopolicy.corpus.prepare import _die_with_parent

    global _COUNTERS
    _COUNTERS = counters
    _die_with_parent(parent)


def _check_chunk(unit) -> dict:
    from gopolicy.corpus.prepare import _iter_unit

    out = {"games": 0, "agree": 0, "disagree": 0, "moves": 0, "skipped": {},
           "mismatches": [], "skipped_files": []}
    pending = [0, 0]
    for name, data in _iter_unit(unit):
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
    from gopolicy.corpus.prepare import plan_units
    from gopolicy.progress import format_duration

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
