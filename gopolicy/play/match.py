"""Matches between GTP engines with our own referee.

:func:`play_game` asks two engines for moves in turn and checks every move
with the project's rules (:class:`gopolicy.go.board.Board` with positional
superko): an illegal or unparsable move, a failed ``genmove``, a timeout or a
crash forfeits the game. The game ends on two consecutive passes, a
resignation or the move cap; it is then scored by area with komi, by a scorer
engine when one is given (the game is replayed into it and asked
``final_score``; GNU Go is a good one), else by our own count
(:func:`gopolicy.go.scoring.final_score`: dead stones by Monte-Carlo ownership,
then Tromp-Taylor). If the *other* engine refuses a move our referee accepted
(a rules disagreement), the game is void and left out of the win rate.

:func:`run_match` plays a series (colours alternate by default), writes one SGF
per game and ``results.md`` / ``results.csv`` with the win rate and its Wilson
95% interval, and prints progress per game on stderr.

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
    """How one game ended. ``winner`` is BLACK, WHITE, 0 (draw) or None (void)."""

    winner: int | None
    result: str            # SGF RE: "B+12.5", "W+R", "B+F", "0", "Void"
    reason: str            # "two passes", "move cap", "resignation", "illegal move ...", ...
    moves: list = field(default_factory=list)   # [(color, move)]
    score: float | None = None                  # B - W - komi when scored
    scorer: str = ""
    seconds: float = 0.0
    board: Board | None = None


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

    for color in (BLACK, WHITE):
        try:
            _setup(clients[color], komi)
        except (GtpError, EngineDied, GtpTimeout) as exc:
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
        except (EngineDied, GtpTimeout) as exc:
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
        except (EngineDied, GtpTimeout) as exc:
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
    engine_result: str      # "win" / "loss" / "draw" / "void"
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

    def line(self) -> str:
        lo, hi = self.ci
        return (f"{self.engine} won {self.wins:g} of {self.decided} games against {self.opponent} "
                f"(win rate {100 * self.win_rate:.1f}%, Wilson 95% CI {100 * lo:.1f}%-{100 * hi:.1f}%)")


def summarise(records: list[GameRecord], engine: str, opponent: str) -> MatchSummary:
    wins = sum(1.0 for r in records if r.engine_result == "win") + \
        sum(0.5 for r in records if r.engine_result == "draw")
    decided = sum(1 for r in records if r.engine_result != "void")
    rate = wins / decided if decided else 0.0
    return MatchSummary(engine, opponent, records, wins, decided, rate, wilson_interval(wins, decided))


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
        return f"{n} {v}".strip() or fallback
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


def moves_signature(moves) -> str:
    import hashlib

    return hashlib.sha1(repr([(int(c), int(m)) for c, m in moves]).encode()).hexdigest()[:12]


def default_engine_command() -> str:
    return f"{shlex.quote(sys.executable)} -m gopolicy gtp --quiet"


def run_match(opponent_cmd, out_dir, engine_cmd=None, games: int = 10, komi: float = 7.5,
              colors: str = "alternate", max_moves: int = 600, scorer_cmd=None,
              timeout: float | None = 300.0, log=sys.stderr, playouts: int = 64,
              parallel: int = 1, seed: int | None = 1) -> MatchSummary:
    """Play ``games`` games of our engine against an opponent; write SGFs and results.

    ``engine_cmd`` / ``opponent_cmd`` / ``scorer_cmd``: command lines (str or
    argv list) or zero-argument factories returning a client. ``colors``:
    "alternate" (engine Black in odd games), "black" or "white". ``parallel``:
    games played at once, each worker with its own engine, opponent and scorer
    processes (logs ``engine.log`` or ``engine.wN.log`` ...); game ``k``'s colours
    and file name do not depend on which worker plays it. ``seed``: game ``k``
    (1-based) starts with ``set_random_seed seed + k - 1`` sent to the engines that
    know the command (see the module docstring); None sends nothing.
    """
    import threading

    from gopolicy.corpus.sgf import write_sgf

    if colors not in ("alternate", "black", "white"):
        raise ValueError(f"colors must be alternate, black or white, not {colors!r}")
    parallel = max(1, min(int(parallel), games)) if games > 0 else 1
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    engine_cmd = engine_cmd or default_engine_command()
    specs = {"engine": engine_cmd, "opponent": opponent_cmd, "scorer": scorer_cmd}
    records: list[GameRecord] = []
    names: dict = {}
    lock = threading.Lock()
    next_game = iter(range(games))
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
                    k = next(next_game, None)
                if k is None:
                    return
                ours = BLACK if colors == "black" or (colors == "alternate" and k % 2 == 0) else WHITE
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
                if res.winner is None:
                    outcome = "void"
                elif res.winner == 0:
                    outcome = "draw"
                else:
                    outcome = "win" if res.winner == ours else "loss"
                sgf_path = out / f"game-{k + 1:03d}.sgf"
                write_sgf(sgf_path, 19, komi, res.moves, black_name=bname, white_name=wname,
                          result=res.result if res.result != "Void" else "Void",
                          date=datetime.now().strftime("%Y-%m-%d"),
                          comment=(f"{res.reason}; scored by {res.scorer}" if res.scorer else res.reason)
                          + (f"; set_random_seed {game_seed}" if game_seed else ""))
                rec = GameRecord(k + 1, bname, wname, COLOR_LETTER[ours], res.result, outcome, res.reason,
                                 len(res.moves), round(res.seconds, 2), res.scorer, sgf_path.name,
                                 game_seed, moves_signature(res.moves))
                with lock:
                    records.append(rec)
                    s = summarise(records, names["engine"], names["opponent"])
                    print(f"[match] game {k + 1}/{games} ({len(records)} done): {bname} (B) vs {wname} (W): "
                          f"{res.result} ({res.reason}), {len(res.moves)} moves, {res.seconds:.1f} s; "
                          f"{names['engine']} {outcome}; running win rate {s.wins:g}/{s.decided}"
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


def write_results(out: Path, summary: MatchSummary, engine_cmd, opponent_cmd, komi, max_moves,
                  scorer_cmd) -> None:
    fields = list(GameRecord.__dataclass_fields__)
    tmp = out / "results.csv.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in summary.records:
            w.writerow(asdict(r))
    os.replace(tmp, out / "results.csv")
    lo, hi = summary.ci
    by_colour = []
    for col, word in (("B", "Black"), ("W", "White")):
        rs = [r for r in summary.records if r.engine_color == col and r.engine_result != "void"]
        wins = sum(r.engine_result == "win" for r in rs) + 0.5 * sum(r.engine_result == "draw" for r in rs)
        by_colour.append(f"as {word} {wins:g}/{len(rs)}")
    lines = [
        f"# Match: {summary.engine} vs {summary.opponent}",
        "",
        f"- engine: `{_cmd_text(engine_cmd)}`",
        f"- opponent: `{_cmd_text(opponent_cmd)}`",
        f"- komi {komi:g}, area scoring, positional superko, move cap {max_moves}; "
        f"scorer: {'`' + _cmd_text(scorer_cmd) + '`' if scorer_cmd else 'gopolicy (MC dead stones + Tromp-Taylor)'}",
        f"- played {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        "| # | Black | White | Result | Engine | Reason | Moves | Time (s) | SGF |",
        "|--:|-------|-------|--------|--------|--------|------:|---------:|-----|",
    ]
    for r in summary.records:
        lines.append(f"| {r.game} | {r.black} | {r.white} | {r.result} | {r.engine_result} | "
                     f"{r.reason.replace('|', '/')} | {r.moves} | {r.seconds:.1f} | [{r.sgf}]({r.sgf}) |")
    void = sum(r.engine_result == "void" for r in summary.records)
    distinct = len({r.signature for r in summary.records})
    seeds = [r.seed for r in summary.records if r.seed]
    lines += [
        "",
        f"**{summary.engine}: {summary.wins:g} wins in {summary.decided} decided games, win rate "
        f"{100 * summary.win_rate:.1f}% (Wilson 95% CI {100 * lo:.1f}% - {100 * hi:.1f}%)**; "
        f"{', '.join(by_colour)}" + (f"; {void} void game(s) not counted" if void else "") + ".",
        "",
        f"Distinct games (move sequences): {distinct} of {len(summary.records)}"
        + (f"; engines seeded per game with set_random_seed {seeds[0]}..{seeds[-1]}." if seeds
           else "; no engine took set_random_seed."),
        "",
    ]
    (out / "results.md").write_text("\n".join(lines), encoding="utf-8")
