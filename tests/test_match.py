"""The match runner: referee (forfeits, resignation, passes, void games),
Wilson interval, and a real 2-game match of a tiny model against GNU Go (or
against a random engine when GNU Go is absent)."""
from __future__ import annotations

import csv
import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, WHITE
from gopolicy.play.gtp_client import EngineDied, GtpError
from gopolicy.play.match import run_match
from gopolicy.play.match_stats import outcome_for, wilson_interval
from gopolicy.play.referee import parse_score, play_game

REPO = Path(__file__).resolve().parents[1]
GNUGO = "/usr/games/gnugo" if os.path.exists("/usr/games/gnugo") else shutil.which("gnugo")


def test_wilson_interval_known_values():
    # Reference values (z = 1.96): e.g. Brown, Cai & DasGupta (2001); Wikipedia's formula.
    lo, hi = wilson_interval(5, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.2366, 0.7634)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and round(hi, 4) == 0.2775
    lo, hi = wilson_interval(10, 10)
    assert round(lo, 4) == 0.7225 and hi == 1.0
    lo, hi = wilson_interval(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    a, b = wilson_interval(30, 100)
    c, d = wilson_interval(300, 1000)
    assert a < c < 0.3 < d < b          # more games, narrower interval


def test_engine_names_stay_short():
    from gopolicy.play.match import short_name

    pachi = ("11.99 (Genjo-devel): I'm playing UCT. When I'm losing, I will resign, if I think I "
             "win, I play until you pass. Anyone can send me 'winrate' in private chat.")
    assert short_name("Pachi", pachi) == "Pachi 11.99"
    assert short_name("GNU Go", "3.8") == "GNU Go 3.8"
    assert short_name("engine", "") == "engine"


def test_parse_score():
    assert parse_score("B+3.5") == 3.5 and parse_score("W+12") == -12 and parse_score("0") == 0
    assert parse_score(" w+0.5 ") == -0.5
    with pytest.raises(ValueError):
        parse_score("B+R")


class Scripted:
    """A fake GTP client that answers genmove from a list and records plays."""

    def __init__(self, moves, name="scripted", refuse=()):
        self.moves = list(moves)
        self.name = name
        self.refuse = set(refuse)
        self.played = []

    def send(self, cmd):
        return ""

    def genmove(self, color):
        return self.moves.pop(0) if self.moves else "pass"

    def play(self, color, vertex):
        if vertex in self.refuse:
            raise GtpError(f"play {color} {vertex}", "illegal move")
        self.played.append((color, vertex))

    def alive(self):
        return True

    def close(self):
        pass


def test_referee_forfeits_illegal_and_unparsable_moves():
    res = play_game(Scripted(["D4", "D4"]), Scripted(["Q16"]), max_moves=10)
    assert res.result == "W+F" and res.winner == WHITE and "illegal move D4 (occupied)" in res.reason
    res = play_game(Scripted(["D4"]), Scripted(["banana"]), max_moves=10)
    assert res.result == "B+F" and "unparsable" in res.reason
    res = play_game(Scripted(["D4"]), Scripted(["I9"]), max_moves=10)      # no I column in GTP
    assert res.result == "B+F"
    # suicide by White at A1 inside Black's A2/B1
    res = play_game(Scripted(["A2", "B1"]), Scripted(["T19", "A1"]), max_moves=10)
    assert res.result == "B+F" and "suicide" in res.reason


def test_referee_resign_passes_cap_and_void():
    res = play_game(Scripted(["D4", "resign"]), Scripted(["Q16"]), max_moves=10)
    assert res.result == "W+R" and res.winner == WHITE and len(res.moves) == 2
    # two passes end the game; scored by our count: Black's lone stone owns the board
    res = play_game(Scripted(["K10", "pass"]), Scripted(["pass", "pass"]), komi=7.5, max_moves=10,
                    score_playouts=8)
    assert res.reason == "two passes" and res.result == "B+353.5" and res.scorer == "gopolicy"
    res = play_game(Scripted(["D4"] + [f"A{i}" for i in range(1, 19)]), Scripted([f"T{i}" for i in range(1, 19)]),
                    max_moves=7, score_playouts=8)
    assert res.reason == "move cap" and len(res.moves) == 7
    white = Scripted(["Q16"], refuse={"D4"})
    res = play_game(Scripted(["D4"]), white, max_moves=10)
    assert res.result == "Void" and res.winner is None and "rejected" in res.reason
    # the opponent received every accepted move of ours
    w = Scripted(["Q16", "Q4"])
    play_game(Scripted(["D4", "D16", "pass"]), w, max_moves=6, score_playouts=8)
    assert w.played[:3] == [("black", "D4"), ("black", "D16"), ("black", "pass")]


def test_referee_ko_forfeit():
    # Black F5, White E5 takes the ko; Black retakes at once: forbidden.
    b_moves = ["E6", "D5", "E4", "F5", "F5"]
    w_moves = ["F6", "G5", "F4", "E5"]
    res = play_game(Scripted(b_moves), Scripted(w_moves), max_moves=20)
    assert res.result == "W+F" and "illegal move F5 (ko)" in res.reason


@pytest.mark.slow
def test_match_two_games_writes_sgf_and_results(tmp_path):
    from gopolicy.cli import main
    from gopolicy.corpus.sgf import parse_game

    py = shlex.quote(sys.executable)
    engine = f"{py} -m gopolicy gtp --model random:8:2 --seed 1 --playouts 16 --quiet"
    if GNUGO:
        opponent = f"{GNUGO} --mode gtp --level 0 --chinese-rules"
    else:   # a random engine: the same tiny net, sampling at temperature 1
        opponent = f"{py} -m gopolicy gtp --model random:8:2 --seed 2 --temperature 1 --playouts 16 --quiet"
    out = tmp_path / "m"
    rc = main(["match", "--engine", engine, "--opponent", opponent, "--games", "2", "--max-moves", "30",
               "--out", str(out)])
    assert rc == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [r["engine_color"] for r in rows] == ["B", "W"]          # alternating colours
    for r in rows:
        assert r["engine_result"] in ("win", "loss", "draw")
        assert int(r["moves"]) <= 30
        g = parse_game((out / r["sgf"]).read_bytes())
        assert g.num_moves == int(r["moves"]) and g.result == r["result"]
        b = Board(19, superko=True)
        for color, mv in g.moves:
            b.play(mv, color)                                        # SGF replays legally
    md = (out / "results.md").read_text()
    assert "Wilson 95% CI" in md and md.count("| 1 |") == 1 and "game-002.sgf" in md
    assert (out / "engine.log").exists()
    # both engines (ours, and GNU Go) know set_random_seed: game k got seed 1 + k - 1
    assert [r["seed"] for r in rows] == ["1", "2"]
    assert b"set_random_seed 2" in (out / "game-002.sgf").read_bytes()
    assert "Distinct games (move sequences): 2 of 2; engines seeded per game with set_random_seed 1..2" in md


def test_play_command_self_play(tmp_path, capsys):
    from gopolicy.cli import main
    from gopolicy.corpus.sgf import parse_game

    out = tmp_path / "p.sgf"
    rc = main(["play", "--model", "random:8:2", "--self-play", "--max-moves", "10", "--show-every", "5",
               "--playouts", "8", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "after move 5" in text and "after move 10" in text and "final position after 10 moves" in text
    assert f"SGF written to {out}" in text and "result: " in text
    assert parse_game(out.read_bytes()).num_moves == 10


def test_killed_match_keeps_its_games_and_resume_plays_only_the_rest(tmp_path):
    class Boom(Exception):
        pass

    calls = {"games": 0}

    def engine():
        c = Scripted([], name="eng")

        def send(cmd):
            if cmd.startswith("clear_board"):
                calls["games"] += 1
                if calls["games"] == 3:
                    raise Boom("killed")          # the match dies in its third game
                c.moves = ["D4", "Q16", "D16"]
            return ""

        c.send = send
        return c

    def opp():
        return Scripted([], name="opp")          # passes at once
    with pytest.raises(Boom):
        run_match(opp, tmp_path / "m", engine_cmd=engine, games=4, komi=0.5, log=open(os.devnull, "w"))
    rows = list(csv.DictReader(open(tmp_path / "m" / "results.csv")))
    assert [int(r["game"]) for r in rows] == [1, 2]        # written after each game, not at the end
    assert "| 2 |" in (tmp_path / "m" / "results.md").read_text()
    calls["games"] = 10
    summary = run_match(opp, tmp_path / "m", engine_cmd=engine, games=4, komi=0.5, resume=True,
                        log=open(os.devnull, "w"))
    rows = list(csv.DictReader(open(tmp_path / "m" / "results.csv")))
    assert [int(r["game"]) for r in rows] == [1, 2, 3, 4]
    assert [r["engine_color"] for r in rows] == ["B", "W", "B", "W"]
    assert [r["seed"] for r in rows][2:] == ["", ""] and calls["games"] == 12   # only games 3 and 4 played
    assert summary.wins == 4


def test_parallel_workers_play_every_game_once_with_fixed_colours(tmp_path):
    import threading
    import time

    made, players = [], set()

    def factory(moves, name):
        def make():
            c = Scripted(moves, name=name)
            genmove = c.genmove

            def slow_genmove(color):  # let the workers interleave
                players.add(threading.current_thread().name)
                time.sleep(0.002)
                return genmove(color)

            def send(cmd):  # each game starts with the full script again
                if cmd.startswith("clear_board"):
                    c.moves = list(moves)
                return ""

            c.genmove, c.send = slow_genmove, send
            made.append(name)
            return c
        return make

    eng = factory(["D4", "Q16", "D16", "Q4", "K10"], "eng")
    opp = factory(["C3"], "opp")
    summary = run_match(opp, tmp_path / "m", engine_cmd=eng, games=5, parallel=3, komi=0.5,
                        log=open(os.devnull, "w"))
    rows = list(csv.DictReader(open(tmp_path / "m" / "results.csv")))
    assert [int(r["game"]) for r in rows] == [1, 2, 3, 4, 5]
    assert [r["engine_color"] for r in rows] == ["B", "W", "B", "W", "B"]  # by game number, not worker
    assert sorted(p.name for p in (tmp_path / "m").glob("game-*.sgf")) == [f"game-00{i}.sgf" for i in range(1, 6)]
    assert made.count("eng") >= 3 and len(players) >= 2  # own engines per worker, several at once
    # 5 engine stones vs 1, komi 0.5: the engine wins every game by area, as Black or White
    assert summary.wins == 5 and {r["engine_result"] for r in rows} == {"win"}


class Seeded(Scripted):
    """Knows set_random_seed; its genmove script depends on the seed, like GNU Go's near-ties."""

    def __init__(self, name="seeded"):
        super().__init__([], name=name)
        self.seeds = []

    def send(self, cmd):
        if cmd == "known_command set_random_seed":
            return "true"
        if cmd.startswith("set_random_seed "):
            seed = int(cmd.split()[1])
            self.seeds.append(seed)
            self.moves = ["D4", "Q16"] if seed % 2 else ["Q4", "D16"]
        if cmd == "clear_board" and not self.seeds:
            self.moves = ["D4", "Q16"]
        return ""


@pytest.mark.parametrize("seed", [5, None])
def test_match_seeds_engines_per_game_and_counts_distinct_games(tmp_path, seed):
    opp = Seeded("opp")
    eng = Scripted([], name="eng")  # knows nothing: "" to known_command, never seeded
    eng.send = lambda cmd: ("false" if cmd.startswith("known_command") else "")
    summary = run_match(lambda: opp, tmp_path / "m", engine_cmd=lambda: eng, games=3, colors="white",
                        komi=0.5, seed=seed, log=open(os.devnull, "w"))
    rows = list(csv.DictReader(open(tmp_path / "m" / "results.csv")))
    md = (tmp_path / "m" / "results.md").read_text()
    assert summary.decided == 3
    if seed is None:
        assert opp.seeds == [] and [r["seed"] for r in rows] == ["", "", ""]
        assert "Distinct games (move sequences): 1 of 3; no engine took set_random_seed." in md
    else:
        assert opp.seeds == [5, 6, 7] and [r["seed"] for r in rows] == ["5", "6", "7"]
        assert "Distinct games (move sequences): 2 of 3" in md      # seeds 5 and 7 play alike
        assert "set_random_seed 5..7" in md
        assert b"set_random_seed 6" in (tmp_path / "m" / "game-002.sgf").read_bytes()


def test_shipped_match_record_is_consistent():
    """data/results/match_gnugo_level10: every SGF replays legally under our rules, agrees
    with results.csv, and the win count in results.md is the CSV's."""
    import re

    from gopolicy.corpus.sgf import parse_game

    folder = REPO / "data" / "results" / "match_gnugo_level10"
    rows = list(csv.DictReader(open(folder / "results.csv")))
    assert len(rows) >= 50 and len({r["signature"] for r in rows}) == len(rows)
    for r in rows:
        g = parse_game((folder / r["sgf"]).read_bytes())
        assert g.num_moves == int(r["moves"]) and g.result == r["result"]
        b = Board(19, 7.5, superko=True)
        for color, mv in g.moves:
            assert b.why_illegal(mv, color) is None
            b.play(mv, color)
        ours = "B" if r["engine_color"] == "B" else "W"
        if r["result"][0] in "BW":
            assert (r["engine_result"] == "win") == (r["result"][0] == ours)
        if r["engine_result"] == "no result":
            assert r["result"] == "Void" and "crashed" in r["reason"]
    # counted by today's rules: GNU Go's crash in game 43 is no result, not our win
    from gopolicy.play.match_report import read_csv
    from gopolicy.play.match_stats import recount

    records = read_csv(folder / "results.csv")
    assert recount(records) == records
    no_result = [int(r["game"]) for r in rows if r["engine_result"] == "no result"]
    assert 43 in no_result
    decided = [r for r in rows if r["engine_result"] in ("win", "loss", "draw")]
    wins = sum(r["engine_result"] == "win" for r in decided)
    md = (REPO / "data" / "results" / "match_gnugo_level10.md").read_text()
    assert re.search(rf"\*\*gopolicy [\d.]+: {wins} wins in {len(decided)} decided games", md)
    assert (wins, len(decided)) == (22, 49)
    assert f"{len(no_result)} game(s) with no result" in md


# ---------------------------------------------------------------- crashes: no result
class Crashing(Scripted):
    """Dies (as GNU Go did with signal 11) on its ``crash_at``-th genmove of a game."""

    def __init__(self, moves, crash_at, name="crashing"):
        super().__init__(moves, name=name)
        self.crash_at = crash_at
        self.asked = 0
        self.dead = False

    def genmove(self, color):
        self.asked += 1
        if self.asked == self.crash_at:
            self.dead = True
            raise EngineDied(f"engine '{self.name}' died while answering 'genmove {color}' (exit code -11)")
        return super().genmove(color)

    def alive(self):
        return not self.dead


def test_a_crash_is_no_result_not_a_forfeit():
    res = play_game(Scripted(["D4", "Q16"]), Crashing(["Q4"], crash_at=2), max_moves=10)
    assert res.winner is None and res.result == "Void" and res.crashed == WHITE
    assert res.reason.startswith("no result: white crashed") and len(res.moves) == 3
    # who crashed decides what the match counts: theirs is no result, ours is our loss
    assert outcome_for(res, BLACK)[:2] == ("no result", "Void")
    outcome, result, reason = outcome_for(res, WHITE)
    assert (outcome, result) == ("loss", "B+F") and "counted as a loss" in reason


def _crash_match(tmp_path, replay, crash_games):
    """Our engine (always Black, four stones) against an opponent that crashes in
    the games listed (1-based, counting replacements), else passes and loses."""
    started = [0]

    def opp():
        c = Crashing([], crash_at=0, name="opp")

        def send(cmd):
            if cmd == "clear_board":
                started[0] += 1
                c.asked = 0
                c.crash_at = 1 if started[0] in crash_games else 0
            return ""

        c.send = send
        return c

    def eng():
        c = Scripted([], name="eng")

        def send(cmd):               # every game: the same four stones, then passes
            if cmd == "clear_board":
                c.moves = ["D4", "Q16", "D16", "Q4"]
            return ""

        c.send = send
        return c

    return run_match(opp, tmp_path / "m", engine_cmd=eng, games=4, colors="black", komi=0.5,
                     replay_crashed=replay, log=open(os.devnull, "w"))


def test_opponent_crash_is_left_out_of_the_win_rate(tmp_path):
    summary = _crash_match(tmp_path, replay=False, crash_games={2})
    rows = list(csv.DictReader(open(tmp_path / "m" / "results.csv")))
    assert [r["engine_result"] for r in rows] == ["win", "no result", "win", "win"]
    assert rows[1]["result"] == "Void" and "crashed" in rows[1]["reason"]
    assert (summary.wins, summary.decided, summary.no_result) == (3, 3, 1)
    assert summary.ci == wilson_interval(3, 3)
    md = (tmp_path / "m" / "results.md").read_text()
    assert "3 wins in 3 decided games" in md and "1 game(s) with no result (the opponent crashed: game 2)" in md
    assert b"RE[Void]" in (tmp_path / "m" / "game-002.sgf").read_bytes()


def test_replay_crashed_plays_a_replacement(tmp_path):
    summary = _crash_match(tmp_path, replay=True, crash_games={2, 5})
    rows = list(csv.DictReader(open(tmp_path / "m" / "results.csv")))
    # game 2 crashed -> replacement game 5, which crashed too -> game 6
    assert [(int(r["game"]), r["engine_result"]) for r in rows] == [
        (1, "win"), (2, "no result"), (3, "win"), (4, "win"), (5, "no result"), (6, "win")]
    assert {r["engine_color"] for r in rows} == {"B"}
    assert (summary.wins, summary.decided, summary.no_result) == (4, 4, 2)
    assert sorted(p.name for p in (tmp_path / "m").glob("game-*.sgf"))[-1] == "game-006.sgf"


def test_recount_of_an_old_results_file(tmp_path):
    from gopolicy.cli import main
    from gopolicy.corpus.sgf import write_sgf
    from gopolicy.play.match_report import write_results
    from gopolicy.play.match_stats import GameRecord, MatchSummary, summarise

    folder = tmp_path / "old"
    folder.mkdir()
    died = "white forfeits: engine 'opponent' died while answering 'genmove white' (exit code -11)"
    ours_died = "black forfeits: engine 'engine' died while answering 'genmove black' (exit code -9)"
    recs = [GameRecord(1, "us", "them", "B", "B+2.5", "win", "two passes", 10, 1.0, "x", "game-001.sgf"),
            GameRecord(2, "us", "them", "B", "B+F", "win", died, 5, 1.0, "", "game-002.sgf"),
            GameRecord(3, "them", "us", "W", "W+R", "win", "black resigned", 7, 1.0, "", "game-003.sgf"),
            GameRecord(4, "us", "them", "B", "W+F", "loss", ours_died, 3, 1.0, "", "game-004.sgf")]
    for r in recs:
        write_sgf(folder / r.sgf, 19, 7.5, [], result=r.result)
    old = summarise(recs, "us", "them")
    assert isinstance(old, MatchSummary) and (old.wins, old.decided) == (3, 4)
    write_results(folder, old, "eng", "opp", 7.5, 600, None)
    md = folder / "results.md"
    md.write_text("# my notes\n\nkept above the table\n\n" + md.read_text())
    assert main(["match", "--recount", str(folder)]) == 0
    rows = list(csv.DictReader(open(folder / "results.csv")))
    assert [r["engine_result"] for r in rows] == ["win", "no result", "win", "loss"]   # our crash: still a loss
    text = md.read_text()
    assert text.startswith("# my notes\n\nkept above the table") and "- engine: `eng`" in text
    assert "2 wins in 3 decided games" in text and "(the opponent crashed: game 2)" in text
    assert "[game-002.sgf](game-002.sgf)" in text
    assert b"RE[Void]" in (folder / "game-002.sgf").read_bytes()
    before = (folder / "results.csv").read_bytes()
    assert main(["match", "--recount", str(folder)]) == 0          # idempotent
    assert (folder / "results.csv").read_bytes() == before
