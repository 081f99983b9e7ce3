"""The GTP engine drives any Player the same way: a fake player stands in for the
network and the search, in process and on a stream (streamed analysis)."""
from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.play.game import Game
from gopolicy.play.gtp_engine import GtpEngine
from gopolicy.play.network_policy import NetworkPolicy
from gopolicy.play.player import Player, StoneStatus
from gopolicy.play.search.player import NO_PLAYOUTS, SearchPlayer
from gopolicy.play.search.searcher import Searcher

PLAY = Path(__file__).resolve().parents[1] / "gopolicy" / "play"


class FakePlayer(Player):
    """Answers every question with a fixed, recognisable answer and records the calls."""

    def __init__(self, styles=("lz", "plain"), stream_lines: int = 0):
        super().__init__(policy=None)
        self.styles = styles
        self.stream_lines = stream_lines    # > 0: on a stream, write this many lines first
        self.calls: list[tuple] = []
        self.streamed = threading.Event()

    def genmove(self, board, color, cleanup=False):
        self.calls.append(("genmove", color, cleanup))
        return "resign" if board.move_count >= 3 else from_gtp("D4" if color == BLACK else "Q16")

    def final_score(self, board):
        return -12.5

    def stone_status(self, board):
        dead = np.zeros(board.n, bool)
        dead[from_gtp("C3")] = True
        return StoneStatus(dead, np.zeros(board.n, bool))

    def ownership(self, board):
        return np.full(board.n, 0.25)

    def _stream(self, request, tag):
        if request.stream is None or not self.stream_lines:
            return
        request.stream.begin()
        for k in range(self.stream_lines):
            request.stream.line(f"info {tag} {k}")
        self.streamed.set()
        while not request.stream.pending():
            time.sleep(0.001)

    def analyze(self, board, color, request):
        self.calls.append(("analyze", color, request.style, request.interval, request.ownership))
        self._stream(request, "analyze")
        return f"info last {request.style}"

    def genmove_analyze(self, board, color, request):
        self.calls.append(("genmove_analyze", color, request.style))
        self._stream(request, "thinking")
        return self.genmove(board, color), "info chosen"

    def analysis_styles(self):
        return self.styles

    def extra_commands(self):
        return {"fake-stones": lambda board, args: f"{int(board.stones.any())} {' '.join(args)}"}

    def gogui_analyze_commands(self):
        return ["string/Fake/fake-stones"]

    def reset_game(self):
        self.calls.append(("reset",))

    def set_seed(self, seed):
        self.calls.append(("seed", seed))


def test_engine_asks_the_player_for_everything():
    player = FakePlayer()
    eng = GtpEngine(player, Game(komi=6.5), log=io.StringIO())
    assert player.calls == [("reset",)]
    player.log("hello")
    assert eng.log.getvalue() == "[gtp] hello\n"                            # the engine's log
    cmds = eng.handle_line("list_commands")[2:].split()
    assert cmds[-5:] == ["lz-analyze", "lz-genmove_analyze", "analyze", "genmove_analyze", "fake-stones"]
    assert "kata-analyze" not in cmds
    assert eng.handle_line("genmove b") == "= D4\n\n" and eng.game.board.move_count == 1
    assert eng.handle_line("reg_genmove w") == "= Q16\n\n" and eng.game.board.move_count == 1
    assert eng.handle_line("kgs-genmove_cleanup w") == "= Q16\n\n"
    assert player.calls[1:] == [("genmove", BLACK, False), ("genmove", WHITE, False), ("genmove", WHITE, True)]
    assert eng.handle_line("fake-stones x y") == "= 1 x y\n\n"
    assert eng.handle_line("final_score") == "= W+12.5\n\n"
    assert eng.handle_line("final_status_list dead") == "=\n\n"           # no stone on C3
    eng.handle_line("play w C3")
    assert eng.handle_line("final_status_list dead") == "= C3\n\n"
    assert eng.handle_line("gopolicy-ownership").split("\n")[1] == " ".join(["0.25"] * 19)
    assert eng.handle_line("gogui-analyze_commands").split("\n")[0] == "= string/Fake/fake-stones"
    assert eng.handle_line("lz-analyze w 50 ownership true") == "= \ninfo last lz\n\n"
    assert player.calls[-1] == ("analyze", WHITE, "lz", 0.5, True)
    assert eng.handle_line("genmove_analyze b") == "= \ninfo chosen\nplay resign\n\n"   # move 4: it resigns
    assert eng.handle_line("genmove b") == "= resign\n\n" and eng.game.board.move_count == 3
    eng.handle_line("time_settings 60 10 5")
    assert player.clock.budget(BLACK, 0) is not None                       # the player's clock is set
    eng.handle_line("set_random_seed 7")
    eng.handle_line("clear_board")
    assert player.calls[-2:] == [("seed", 7), ("reset",)] and eng.game.board.move_count == 0
    assert eng.handle_line("komi 0.5") == "=\n\n" and eng.game.board.komi == 0.5
    assert eng.handle_line("boardsize 9") == "? unacceptable size (gopolicy plays 19x19 only)\n\n"


def test_analysis_styles_come_from_the_player():
    eng = GtpEngine(FakePlayer(styles=("lz", "plain", "kata")), log=io.StringIO())
    assert eng.handle_line("known_command kata-analyze") == "= true\n\n"
    assert eng.handle_line("kata-analyze b interval 20") == "= \ninfo last kata\n\n"


def test_the_engine_has_no_player_branch():
    """The GTP layer names no player and asks none what it is."""
    for name in ("gtp_engine.py", "gtp_analysis.py", "gtp_protocol.py", "game.py"):
        text = (PLAY / name).read_text()
        for word in ("SearchPlayer", "NetworkPlayer", "searcher", "NetworkPolicy(", "attr(self.player"):
            assert word not in text, (name, word)
        assert not re.search(r"isinstance\([^)]*player", text, re.I), name
        assert not re.search(r"\bimport .*\b(search|network_player)\b", text), name


def test_streamed_analysis_until_the_next_command():
    """On a stream a player may answer at once and keep writing until the next command
    arrives; the engine then ends the reply and answers the next command."""
    player = FakePlayer(stream_lines=3)
    eng = GtpEngine(player, name="fake", log=io.StringIO())

    def commands():
        yield "1 lz-analyze b 10\n"
        assert player.streamed.wait(30)
        player.streamed.clear()
        yield "2 kata-genmove_analyze w\n"      # not a style of this player
        yield "3 genmove_analyze w\n"
        assert player.streamed.wait(30)
        yield "name\n"

    out = io.BytesIO()
    eng.run(commands(), out)
    assert out.getvalue().decode() == (
        "=1\ninfo analyze 0\ninfo analyze 1\ninfo analyze 2\ninfo last lz\n\n"
        "?2 unknown command\n\n"
        "=3\ninfo thinking 0\ninfo thinking 1\ninfo thinking 2\ninfo chosen\nplay Q16\n\n"
        "= fake\n\n")
    assert eng.game.board.stones[from_gtp("Q16")] == WHITE


@pytest.mark.slow
def test_search_without_playouts_says_it_plays_the_network_move():
    """A search cut to nothing must not call its move "most visited"."""
    pol = NetworkPolicy("random:8:2", device="cpu", seed=0)
    lines: list[str] = []
    player = SearchPlayer(Searcher(pol, threads=1), playouts=0, seconds=None, count_playouts=0,
                          log=lines.append)
    player.genmove(Board(19, 7.5, superko=True), BLACK)
    assert player.last["visits"] == 0 and player.last["why"] == NO_PLAYOUTS
    assert NO_PLAYOUTS in lines[-1] and "most visited" not in lines[-1]


def test_genmove_waits_for_a_cold_starts_kernels(monkeypatch):
    """The first genmove of a cold start searches like the others: its clock starts
    after the background compile, not during it."""
    from gopolicy.play import warmup

    done = threading.Event()

    def slow_compile():
        time.sleep(0.3)
        done.set()
        return 0.3

    monkeypatch.setattr(warmup, "compile_kernels", slow_compile)
    player = FakePlayer()
    seen = []
    real = player.genmove
    player.genmove = lambda board, color, cleanup=False: seen.append(done.is_set()) or real(board, color, cleanup)
    engine = GtpEngine(player, Game())
    warmup.start_background()
    assert engine.handle_line("genmove b").startswith("= D4")
    assert seen == [True]
    assert warmup.wait_ready(0)
