"""Matches between GTP engines with our own referee.

:func:`play_game` asks two engines for moves in turn and checks every move
with the project's rules (:class:`gopolicy.go.board.Board` with positional
superko): an illegal or unparsable move, a failed ``genmove`` or a timeout
forfeits the game. An engine whose process dies (GNU Go has died with signal
11) ends the game with no result (``RE[Void]``; :attr:`GameResult.crashed` says
who): a crash says nothing about who was winning. The game ends on two
consecutive passes, a resignation or the move cap; it is then scored by area with komi, by a scorer
engine when one is given (the game is replayed into it and asked
``final_score``; GNU Go is a good one), else by our own count
(:func:`gopolicy.go.scoring.final_score`: dead stones by Monte-Carlo ownership,
then Tromp-Taylor). If the *other* engine refuses a move our referee accepted
(a rules disagreement), the game is void and left out of the win rate.

:func:`run_match` plays a series (colours alternate by default), writes one SGF
per game and ``results.md`` / ``results.csv`` with the win rate and its Wilson
95% interval, and prints progress per game on stderr. A game the opponent's
crash ended is "no result": left out of the win rate and its interval and
counted apart in results.md (``replay_crashed`` plays a replacement game with
the same colours); a crash of our own engine is our loss. :func:`recount`
re-counts an older results.csv by these rules.

Two deterministic engines replay the same game again and again, and repeated
games are not independent trials: the interval would be too narrow. So before
game ``k`` (1-based) each engine that knows ``set_random_seed`` (GNU Go does;
so does ours, for ``--temperature``) gets ``seed + k - 1``: GNU Go then breaks
near-ties differently and the games diverge, yet each one can be replayed from
its seed (kept in results.csv and the SGF). ``results.md`` counts the distinct
games.
"""
from __future__ import annotations

import csv
import math
import os
import re
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, COLOR_NAMES, WHITE, from_gtp, opponent, to_gtp
from gopolicy.play.gtp_client import EngineDied, GtpClient, GtpError, GtpTimeout, knows_command

COLOR_LETTER = {BLACK: "B", WHITE: "W"}


def wilson_interval(successes: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default).
    ``(0.0, 1.0)`` when ``n == 0``."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return lo, hi


@dataclass
class GameResult:
    """How one game ended. ``winner`` is BLACK, WHITE, 0 (draw) or None (void,
    or no result when ``crashed`` names the colour whose engine died)."""

    winner: int | None
    result: str            # SGF RE: "B+12.5", "W+R", "B+F", "0", "Void"
    reason: str            # "two passes", "move cap", "resignation", "illegal move ...", ...
    moves: list = field(default_factory=list)   # [(color, move)]
    score: float | None = None                  # B - W - komi when scored
    scorer: str = ""
    seconds: float = 0.0
    board: Board | None = None
    crashed: int | None = None                  # BLACK / WHITE: that engine's process died


def parse_score(text: str) -> float:
    """``B+3.5`` / ``W+0.5`` / ``0`` (GTP final_score) -> B - W."""
    t = text.strip().upper()
    if t in ("0", "DRAW", "JIGO"):
        return 0.0
    if len(t) >= 3 and t[0] in "BW" and t[1] == "+":
        v = float(t[2:])
        return v if t[0] == "B" else -v
    raise ValueError(f"not a score: {text!r}")


def _setup(client, komi: float) -> None:
    client.send("boardsize 19")
    client.send("clear_board")
    client.send(f"komi {komi:g}")


def score_with(scorer, moves, komi: float) -> float:
    """Replay ``moves`` into a scorer engine and return its ``final_score`` (B - W)."""
    _setup(scorer, komi)
    for color, mv in moves:
        scorer.play(COLOR_NAMES[color], to_gtp(mv, 19))
    return parse_score(scorer.send("final_score"))


def play_game(black, white, komi: float = 7.5, max_moves: int = 600, scorer=None,
              on_move=None, playouts: int = 64) -> GameResult:
    """One game between two GTP clients (see the module docstring).

    ``on_move(board, color, move)`` is called after every accepted move.
    """
    from gopolicy.go.scoring import final_score, score_text

    t0 = time.perf_counter()
    clients = {BLACK: black, WHITE: white}
    board = Board(19, komi, superko=True)
    moves: list[tuple[int, int]] = []

    def end(winner, result, reason, score=None, scorer_name=""):
        return GameResult(winner, result, reason, moves, score, scorer_name,
                          time.perf_counter() - t0, board)

    def forfeit(color, why):
        w = opponent(color)
        return end(w, f"{COLOR_LETTER[w]}+F", f"{COLOR_NAMES[color]} forfeits: {why}")

    def crash(color, exc):
        res = end(None, "Void", f"no result: {COLOR_NAMES[color]} crashed: {str(exc).splitlines()[0]}")
        res.crashed = color
        return res

    for color in (BLACK, WHITE):
        try:
            _setup(clients[color], komi)
        except EngineDied as exc:
            return crash(color, exc)
        except (GtpError, GtpTimeout) as exc:
            return forfeit(color, f"setup failed: {exc}")
    color = BLACK
    reason = None
    while reason is None:
        if len(moves) >= max_moves:
            reason = "move cap"
            break
        player, other = clients[color], clients[opponent(color)]
        try:
            reply = player.genmove(COLOR_NAMES[color])
        except GtpError as exc:
            return forfeit(color, f"genmove failed: {exc.message}")
        except EngineDied as exc:
            return crash(color, exc)
        except GtpTimeout as exc:
            return forfeit(color, str(exc).splitlines()[0])
        vertex = reply.split()[0].lower() if reply.split() else ""
        if vertex == "resign":
            w = opponent(color)
            return end(w, f"{COLOR_LETTER[w]}+R", f"{COLOR_NAMES[color]} resigned")
        try:
            move = from_gtp(vertex, 19)
        except ValueError:
            return forfeit(color, f"unparsable move {reply!r}")
        why = board.why_illegal(move, color)
        if why:
            return forfeit(color, f"illegal move {vertex.upper()} ({why})")
        board.play(move, color)
        moves.append((color, move))
        if on_move is not None:
            on_move(board, color, move)
        if board.consecutive_passes >= 2:
            reason = "two passes"
            break
        try:
            other.play(COLOR_NAMES[color], to_gtp(move, 19))
        except GtpError as exc:
            return end(None, "Void", f"void: {getattr(other, 'name', 'engine')} rejected "
                                     f"{COLOR_NAMES[color]} {to_gtp(move, 19)} ({exc.message})")
        except EngineDied as exc:
            return crash(opponent(color), exc)
        except GtpTimeout as exc:
            return forfeit(opponent(color), str(exc).splitlines()[0])
        color = opponent(color)
    # Scoring.
    score, scorer_name = None, ""
    if scorer is not None:
        try:
            score = score_with(scorer, moves, komi)
            scorer_name = getattr(scorer, "name", "scorer")
        except (GtpError, EngineDied, GtpTimeout, ValueError) as exc:
            print(f"[match] scorer failed ({exc}); using our own count", file=sys.stderr)
    if score is None:
        score = final_score(board, komi, playouts=playouts)
        scorer_name = "gopolicy"
    winner = BLACK if score > 0 else WHITE if score < 0 else 0
    return end(winner, score_text(score), reason, score, scorer_name)


# ---------------------------------------------------------------------------
# Series
# ---------------------------------------------------------------------------

@dataclass
class GameRecord:
    game: int
    black: str
    white: str
    engine_color: str       # "B" / "W"
    result: str
    engine_result: str      # "win" / "loss" / "draw" / "void" / "no result" (the opponent crashed)
    reason: str
    moves: int
    seconds: float
    scorer: str
    sgf: str
    seed: str = ""          # set_random_seed sent before this game ("" when none)
    signature: str = ""     # hash of the move sequence, to count distinct games


@dataclass
class MatchSummary:
    engine: str
    opponent: str
    records: list
    wins: float
    decided: int
    win_rate: float
    ci: tuple
    no_result: int = 0      # games the opponent's crash ended: not in wins, decided or ci

    def line(self) -> str:
        lo, hi = self.ci
        nr = f"; {self.no_result} no result (opponent crashed), not counted" if self.no_result else ""
        return (f"{self.engine} won {self.wins:g} of {self.decided} games against {self.opponent} "
                f"(win rate {100 * self.win_rate:.1f}%, Wilson 95% CI {100 * lo:.1f}%-{100 * hi:.1f}%){nr}")


NO_RESULT = "no result"
DECIDED = ("win", "loss", "draw")


def summarise(records: list[GameRecord], engine: str, opponent: str) -> MatchSummary:
    wins = sum(1.0 for r in records if r.engine_result == "win") + \
        sum(0.5 for r in records if r.engine_result == "draw")
    decided = sum(1 for r in records if r.engine_result in DECIDED)
    rate = wins / decided if decided else 0.0
    no_result = sum(1 for r in records if r.engine_result == NO_RESULT)
    return MatchSummary(engine, opponent, records, wins, decided, rate, wilson_interval(wins, decided),
                        no_result)


def outcome_for(res: GameResult, ours: int) -> tuple[str, str, str]:
    """(engine_result, SGF result, reason) of one game for the engine playing ``ours``:
    the opponent's crash is no result; our own crash is our loss."""
    if res.crashed is not None:
        if res.crashed == ours:
            w = opponent(ours)
            return "loss", f"{COLOR_LETTER[w]}+F", res.reason.removeprefix("no result: ") + \
                " (our engine: counted as a loss)"
        return NO_RESULT, "Void", res.reason
    if res.winner is None:
        return "void", res.result, res.reason
    if res.winner == 0:
        return "draw", res.result, res.reason
    return ("win" if res.winner == ours else "loss"), res.result, res.reason


# How the runner worded a crash before crashes were "no result" (e.g. game 43 of
# data/results/match_gnugo_level10: GNU Go died with signal 11).
_OLD_CRASH = re.compile(r"^(black|white) forfeits: engine '[^']*' died\b")


def recount(records: list[GameRecord]) -> list[GameRecord]:
    """Records of an older results.csv counted by today's rules: a game won
    because the opponent's process died becomes no result (``Void``)."""
    out = []
    for r in records:
        m = _OLD_CRASH.match(r.reason)
        loser = m and ("B" if m.group(1) == "black" else "W")
        if m and loser != r.engine_color and r.engine_result == "win":
            r = GameRecord(**{**asdict(r), "engine_result": NO_RESULT, "result": "Void",
                              "reason": f"no result: {r.reason.replace(' forfeits: ', ' crashed: ', 1)}"})
        out.append(r)
    return out


def _client(spec, name: str, log_path, timeout):
    if callable(spec) and not isinstance(spec, (str, list, tuple)):
        return spec()
    return GtpClient(spec, name=name, stderr=str(log_path), timeout=timeout)


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


def short_name(name: str, version: str) -> str:
    """``name version`` for a results table: the version's first word only (Pachi's
    ``version`` is "11.99 (Genjo-devel): I'm playing UCT. When I'm losing, ..."), one line."""
    v = version.split()[0].rstrip(":,;") if version.split() else ""
    return " ".join(f"{name.splitlines()[0] if name else ''} {v}".split())[:60]


def _seed_engines(clients, seed: int) -> list[str]:
    """Send ``set_random_seed seed`` to each client that knows it (asked every game:
    one round trip, and an engine restarted mid-match is asked again); their roles."""
    seeded = []
    for role, c in clients:
        if knows_command(c, "set_random_seed"):
            c.send(f"set_random_seed {seed}")
            seeded.append(role)
    return seeded


def moves_signature(moves) -> str:
    import hashlib

    return hashlib.sha1(repr([(int(c), int(m)) for c, m in moves]).encode()).hexdigest()[:12]


def default_engine_command() -> str:
    return f"{shlex.quote(sys.executable)} -m gopolicy gtp --quiet"


def run_match(opponent_cmd, out_dir, engine_cmd=None, games: int = 10, komi: float = 7.5,
              colors: str = "alternate", max_moves: int = 600, scorer_cmd=None,
              timeout: float | None = 300.0, log=sys.stderr, playouts: int = 64,
              parallel: int = 1, seed: int | None = 1, replay_crashed: bool = False,
              resume: bool = False) -> MatchSummary:
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
    """
    import threading

    from gopolicy.corpus.sgf import write_sgf

    if colors not in ("alternate", "black", "white"):
        raise ValueError(f"colors must be alternate, black or white, not {colors!r}")
    from collections import deque

    parallel = max(1, min(int(parallel), games)) if games > 0 else 1
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    engine_cmd = engine_cmd or default_engine_command()
    specs = {"engine": engine_cmd, "opponent": opponent_cmd, "scorer": scorer_cmd}
    records: list[GameRecord] = []
    names: dict = {}
    lock = threading.Lock()

    def colour_of(k: int) -> int:
        return BLACK if colors == "black" or (colors == "alternate" and k % 2 == 0) else WHITE

    if resume and (out / "results.csv").is_file():
        records += read_csv(out / "results.csv")
    played = {r.game for r in records}
    # (0-based game number, our colour); replacements of crashed games are numbered after
    jobs = deque((k, colour_of(k)) for k in range(games) if k + 1 not in played)
    planned = [max([games] + [r.game for r in records])]   # games numbered so far
    if played:
        print(f"[match] resuming: {len(played)} games kept from {out / 'results.csv'}, "
              f"{len(jobs)} to play", file=log, flush=True)
    errors: list[BaseException] = []

    def worker(wid: int):
        suffix = f".w{wid + 1}" if parallel > 1 else ""
        clients: dict = {}

        def get(role):
            c = clients.get(role)
            if c is None or not c.alive():
                if c is not None:
                    print(f"[match] restarting the {role} engine", file=log, flush=True)
                c = clients[role] = _client(specs[role], role, out / f"{role}{suffix}.log", timeout)
            return c

        try:
            with lock:
                if not names:
                    for role in ("engine", "opponent"):
                        names[role] = _engine_name(get(role), role)
                    if names["engine"] == names["opponent"]:
                        names["opponent"] += " (opponent)"
            while not errors:
                with lock:
                    if not jobs:
                        return
                    k, ours = jobs.popleft()
                eng, opp = get("engine"), get("opponent")
                black, white = (eng, opp) if ours == BLACK else (opp, eng)
                bname, wname = (names["engine"], names["opponent"]) if ours == BLACK else \
                    (names["opponent"], names["engine"])
                scorer = get("scorer") if scorer_cmd else None
                game_seed = ""
                if seed is not None:
                    if _seed_engines((("engine", eng), ("opponent", opp)), seed + k):
                        game_seed = str(seed + k)
                res = play_game(black, white, komi=komi, max_moves=max_moves, scorer=scorer,
                                playouts=playouts)
                outcome, result, reason = outcome_for(res, ours)
                sgf_path = out / f"game-{k + 1:03d}.sgf"
                write_sgf(sgf_path, 19, komi, res.moves, black_name=bname, white_name=wname,
                          result=result, date=datetime.now().strftime("%Y-%m-%d"),
                          comment=(f"{reason}; scored by {res.scorer}" if res.scorer else reason)
                          + (f"; set_random_seed {game_seed}" if game_seed else ""))
                rec = GameRecord(k + 1, bname, wname, COLOR_LETTER[ours], result, outcome, reason,
                                 len(res.moves), round(res.seconds, 2), res.scorer, sgf_path.name,
                                 game_seed, moves_signature(res.moves))
                with lock:
                    records.append(rec)
                    again = ""
                    if outcome == NO_RESULT and replay_crashed and planned[0] < 2 * games:
                        jobs.append((planned[0], ours))
                        again = f"; replacement: game {planned[0] + 1}"
                        planned[0] += 1
                    s = summarise(sorted(records, key=lambda r: r.game), names["engine"], names["opponent"])
                    write_results(out, s, engine_cmd, opponent_cmd, komi, max_moves, scorer_cmd)
                    print(f"[match] game {k + 1}/{planned[0]} ({len(records)} done): {bname} (B) vs {wname} (W): "
                          f"{result} ({reason}), {len(res.moves)} moves, {res.seconds:.1f} s; "
                          f"{names['engine']} {outcome}{again}; running win rate {s.wins:g}/{s.decided}"
                          + (f" = {100 * s.win_rate:.0f}%" if s.decided else ""), file=log, flush=True)
        except BaseException as exc:
            errors.append(exc)
        finally:
            for c in clients.values():
                try:
                    c.close()
                except Exception:
                    pass

    if parallel == 1:
        worker(0)
    else:
        threads = [threading.Thread(target=worker, args=(w,), name=f"match-{w + 1}") for w in range(parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    records.sort(key=lambda r: r.game)
    summary = summarise(records, names.get("engine", "engine"), names.get("opponent", "opponent"))
    write_results(out, summary, engine_cmd, opponent_cmd, komi, max_moves, scorer_cmd)
    if errors:
        raise errors[0]
    print(f"[match] {summary.line()}", file=log, flush=True)
    print(f"[match] results: {out / 'results.md'}, {out / 'results.csv'}", file=log, flush=True)
    return summary


def _cmd_text(cmd) -> str:
    if cmd is None:
        return "-"
    if isinstance(cmd, (list, tuple)):
        return " ".join(shlex.quote(str(a)) for a in cmd)
    if callable(cmd) and not isinstance(cmd, str):
        return getattr(cmd, "__name__", "in-process engine")
    return str(cmd)


TABLE_HEAD = "| # | Black | White | Result | Engine | Reason | Moves | Time (s) | SGF |"


def write_csv(path: Path, records: list[GameRecord]) -> None:
    fields = list(GameRecord.__dataclass_fields__)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in records:
            w.writerow(asdict(r))
    os.replace(tmp, path)


def read_csv(path: Path) -> list[GameRecord]:
    types = {"game": int, "moves": int, "seconds": float}
    with open(path, newline="", encoding="utf-8") as f:
        return [GameRecord(**{k: types.get(k, str)(v) for k, v in row.items()})
                for row in csv.DictReader(f)]


def results_body(summary: MatchSummary, link_prefix: str = "") -> list[str]:
    """The results table and the summary lines of results.md."""
    lo, hi = summary.ci
    by_colour = []
    for col, word in (("B", "Black"), ("W", "White")):
        rs = [r for r in summary.records if r.engine_color == col and r.engine_result in DECIDED]
        wins = sum(r.engine_result == "win" for r in rs) + 0.5 * sum(r.engine_result == "draw" for r in rs)
        by_colour.append(f"as {word} {wins:g}/{len(rs)}")
    lines = [TABLE_HEAD, "|--:|-------|-------|--------|--------|--------|------:|---------:|-----|"]
    for r in summary.records:
        lines.append(f"| {r.game} | {r.black} | {r.white} | {r.result} | {r.engine_result} | "
                     f"{r.reason.replace('|', '/')} | {r.moves} | {r.seconds:.1f} | "
                     f"[{r.sgf}]({link_prefix}{r.sgf}) |")
    void = sum(r.engine_result == "void" for r in summary.records)
    distinct = len({r.signature for r in summary.records})
    seeds = [r.seed for r in summary.records if r.seed]
    not_counted = []
    if summary.no_result:
        not_counted.append(f"{summary.no_result} game(s) with no result (the opponent crashed: "
                           f"game {', '.join(str(r.game) for r in summary.records if r.engine_result == NO_RESULT)}) "
                           f"not counted")
    if void:
        not_counted.append(f"{void} void game(s) (rules disagreement) not counted")
    lines += [
        "",
        f"**{summary.engine}: {summary.wins:g} wins in {summary.decided} decided games, win rate "
        f"{100 * summary.win_rate:.1f}% (Wilson 95% CI {100 * lo:.1f}% - {100 * hi:.1f}%)**; "
        f"{', '.join(by_colour)}" + "".join(f"; {t}" for t in not_counted) + ".",
        "",
        f"Distinct games (move sequences): {distinct} of {len(summary.records)}"
        + (f"; engines seeded per game with set_random_seed {seeds[0]}..{seeds[-1]}." if seeds
           else "; no engine took set_random_seed."),
        "",
    ]
    return lines


def write_results(out: Path, summary: MatchSummary, engine_cmd, opponent_cmd, komi, max_moves,
                  scorer_cmd) -> None:
    write_csv(out / "results.csv", summary.records)
    lines = [
        f"# Match: {summary.engine} vs {summary.opponent}",
        "",
        f"- engine: `{_cmd_text(engine_cmd)}`",
        f"- opponent: `{_cmd_text(opponent_cmd)}`",
        f"- komi {komi:g}, area scoring, positional superko, move cap {max_moves}; "
        f"scorer: {'`' + _cmd_text(scorer_cmd) + '`' if scorer_cmd else 'gopolicy (MC dead stones + Tromp-Taylor)'}",
        f"- played {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
    ] + results_body(summary)
    (out / "results.md").write_text("\n".join(lines), encoding="utf-8")


def recount_results(folder, md_path=None) -> MatchSummary:
    """Re-count a finished match by today's rules (:func:`recount`): rewrite
    ``folder/results.csv`` and the table and summary of its results.md
    (``md_path``, default ``folder/results.md``; everything above the table, the
    commands and any notes, is kept, and SGF links keep pointing at ``folder``)."""
    folder = Path(folder)
    md_path = Path(md_path) if md_path else folder / "results.md"
    before = {r.game: r for r in read_csv(folder / "results.csv")}
    records = sorted(recount(list(before.values())), key=lambda r: r.game)
    for r in records:
        old = before[r.game].result
        if r.result != old:        # the SGF's RE says what the CSV says
            sgf = folder / r.sgf
            sgf.write_text(sgf.read_text(encoding="utf-8").replace(f"RE[{old}]", f"RE[{r.result}]", 1),
                           encoding="utf-8")
    text = md_path.read_text(encoding="utf-8")
    if TABLE_HEAD not in text:
        raise ValueError(f"{md_path}: no results table")
    head = text[:text.index(TABLE_HEAD)]
    first = records[0]
    engine, opp = (first.black, first.white) if first.engine_color == "B" else (first.white, first.black)
    summary = summarise(records, engine, opp)
    prefix = os.path.relpath(folder, md_path.parent)
    prefix = "" if prefix == "." else prefix.replace(os.sep, "/") + "/"
    write_csv(folder / "results.csv", records)
    md_path.write_text(head + "\n".join(results_body(summary, prefix)), encoding="utf-8")
    return summary
