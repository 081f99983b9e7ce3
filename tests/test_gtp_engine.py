"""The GTP engine against hand-written transcripts (GTP 2 spec), in process and
through the real `gopolicy gtp --model random` subprocess, plus the GTP client."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import cnn_core
from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.play.game import FIXED_HANDICAP_19, Game
from gopolicy.play.gtp_client import EngineDied, GtpClient, GtpError, InProcessClient, reply_text
from gopolicy.play.gtp_engine import GtpEngine
from gopolicy.play.gtp_protocol import format_reply, preprocess
from gopolicy.play.network_player import NetworkPlayer
from gopolicy.play.network_policy import NetworkPolicy

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def policy():
    torch.manual_seed(0)
    net = cnn_core.build_model("alphago_policy", planes=48, filters=8, layers=3, board_size=19)
    return NetworkPolicy(net, device="cpu", precision="fp32")


def network_engine(policy, score_playouts: int = 64, **kw) -> GtpEngine:
    """The `--playouts 0` engine: the network alone, counting with ``score_playouts``."""
    return GtpEngine(NetworkPlayer(policy, score_playouts, **kw), Game(score_playouts=score_playouts),
                     log=io.StringIO())


@pytest.fixture
def engine(policy):
    return network_engine(policy, 16)


def talk(engine, transcript: str) -> list[str]:
    """Feed the transcript line by line; return the replies (None lines dropped)."""
    out = []
    for line in transcript.split("\n"):
        r = engine.handle_line(line)
        if r is not None:
            out.append(r)
    return out


def check(engine, pairs):
    """pairs: [(command line, expected full reply)]."""
    for cmd, want in pairs:
        got = engine.handle_line(cmd)
        assert got == want, f"{cmd!r}: got {got!r}, want {want!r}"


# ---------------------------------------------------------------- framing
def test_framing_ids_comments_cr_empty_lines(engine):
    transcript = ("1 protocol_version\n"
                  "0 name\n"
                  "\n"
                  "   \t  \n"
                  "# a whole-line comment\n"
                  "version # trailing comment\n"
                  "42 known_command\tgenmove\r\n"
                  "known_command foo_bar\r\n"
                  "7 fly_to_the_moon\n"
                  "kno\x01wn_command play\n"
                  "  \x07 9 name  \n"
                  "12\n")
    assert talk(engine, transcript) == [
        "=1 2\n\n", "=0 gopolicy\n\n", "= 0.1.0\n\n", "=42 true\n\n", "= false\n\n",
        "?7 unknown command\n\n", "= true\n\n", "=9 gopolicy\n\n", "?12 syntax error\n\n"]


def test_preprocess_and_format_reply_helpers():
    assert preprocess("\tplay b d4 # c\r\n") == "play b d4"
    assert preprocess("# only comment") == ""
    assert format_reply(True, "", "3") == "=3\n\n"
    assert format_reply(False, "illegal move") == "? illegal move\n\n"
    # an inner blank line would end the reply early: it is dropped
    assert format_reply(True, "\na\n\nb") == "= \na\nb\n\n"


def test_list_commands_and_required_set(engine):
    cmds = engine.handle_line("list_commands")[2:].split()
    required = {"protocol_version", "name", "version", "known_command", "list_commands", "quit",
                "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard",
                "final_score", "final_status_list", "fixed_handicap", "place_free_handicap",
                "set_free_handicap", "time_settings", "time_left", "kgs-time_settings", "loadsgf",
                "printsgf", "reg_genmove", "kgs-genmove_cleanup", "gogui-analyze_commands",
                "lz-analyze", "lz-genmove_analyze", "analyze", "genmove_analyze"}
    assert required <= set(cmds)


def test_boardsize_komi_syntax(engine):
    check(engine, [
        ("boardsize 19", "=\n\n"),
        ("boardsize 13", "? unacceptable size (gopolicy plays 19x19 only)\n\n"),
        ("boardsize x", "? syntax error\n\n"),
        ("boardsize", "? syntax error\n\n"),
        ("komi 0.5", "=\n\n"),
        ("komi abc", "? syntax error\n\n"),
        ("komi nan", "? syntax error\n\n"),
    ])
    assert engine.game.board.komi == 0.5


# ---------------------------------------------------------------- play, errors
def test_play_errors_occupied_suicide_ko(engine):
    check(engine, [
        ("play b D4", "=\n\n"),
        ("play b D4", "? illegal move\n\n"),            # occupied
        ("play purple D5", "? invalid color\n\n"),
        ("play b Z99", "? invalid vertex\n\n"),
        ("play b I5", "? invalid vertex\n\n"),           # GTP has no I column
        ("play b D20", "? invalid vertex\n\n"),
        ("play b", "? syntax error\n\n"),
        ("play w pass", "=\n\n"),
        # suicide: White A1 inside Black A2 B1
        ("play b A2", "=\n\n"), ("play b B1", "=\n\n"),
        ("play w A1", "? illegal move\n\n"),
    ])
    # ko: B E6 D5 E4, W F6 G5 F4; B F5; W E5 takes; B F5 retake refused
    for cmd in ("play b E6", "play w F6", "play b D5", "play w G5", "play b E4", "play w F4",
                "play b F5", "play w E5"):
        assert engine.handle_line(cmd) == "=\n\n", cmd
    assert engine.game.board.stones[from_gtp("F5")] == 0
    check(engine, [("play b F5", "? illegal move\n\n"),
                   ("play b K10", "=\n\n"), ("play w K11", "=\n\n"),   # ko threat + answer
                   ("play b F5", "=\n\n")])                            # now the retake is fine


def test_undo(engine):
    check(engine, [("undo", "? cannot undo\n\n"),
                   ("play b D4", "=\n\n"), ("play w Q16", "=\n\n"),
                   ("undo", "=\n\n")])
    assert engine.game.board.stones[from_gtp("Q16")] == 0 and engine.game.board.to_move == WHITE
    check(engine, [("undo", "=\n\n"), ("undo", "? cannot undo\n\n")])
    assert not engine.game.board.stones.any()
    check(engine, [("fixed_handicap 2", "= D4 Q16\n\n"), ("undo", "? cannot undo\n\n")])


# ---------------------------------------------------------------- handicap
def test_fixed_handicap_spec_vertices(engine):
    check(engine, [("fixed_handicap 4", "= D4 Q16 D16 Q4\n\n"),
                   ("fixed_handicap 4", "? board not empty\n\n")])
    assert engine.game.board.to_move == WHITE
    spec = {2: "D4 Q16", 3: "D4 Q16 D16", 4: "D4 Q16 D16 Q4", 5: "D4 Q16 D16 Q4 K10",
            6: "D4 Q16 D16 Q4 D10 Q10", 7: "D4 Q16 D16 Q4 D10 Q10 K10",
            8: "D4 Q16 D16 Q4 D10 Q10 K4 K16", 9: "D4 Q16 D16 Q4 D10 Q10 K4 K16 K10"}
    for k, verts in spec.items():
        check(engine, [("clear_board", "=\n\n"), (f"fixed_handicap {k}", f"= {verts}\n\n")])
        assert sorted(np.flatnonzero(engine.game.board.stones == BLACK)) == sorted(from_gtp(v) for v in verts.split())
    assert {k: " ".join(v) for k, v in FIXED_HANDICAP_19.items()} == spec
    check(engine, [("clear_board", "=\n\n"),
                   ("fixed_handicap 1", "? invalid number of stones\n\n"),
                   ("fixed_handicap 10", "? invalid number of stones\n\n"),
                   ("fixed_handicap two", "? syntax error\n\n")])
    r = engine.handle_line("genmove w")          # handicap: White moves next
    assert r.startswith("= ") and engine.game.board.to_move == BLACK


def test_free_handicap(engine):
    r = engine.handle_line("place_free_handicap 3")
    assert r == "= D4 Q16 D16\n\n"
    check(engine, [("place_free_handicap 3", "? board not empty\n\n"),
                   ("clear_board", "=\n\n"),
                   ("place_free_handicap 1", "? invalid number of stones\n\n"),
                   ("set_free_handicap C3", "? bad vertex list\n\n"),
                   ("set_free_handicap C3 C3", "? bad vertex list\n\n"),
                   ("set_free_handicap C3 Z3", "? invalid vertex\n\n"),
                   ("set_free_handicap C3 R17 K10", "=\n\n"),
                   ("set_free_handicap D4 D5", "? board not empty\n\n")])
    assert engine.game.board.to_move == WHITE and int((engine.game.board.stones == BLACK).sum()) == 3
    check(engine, [("clear_board", "=\n\n")])
    r = engine.handle_line("place_free_handicap 12")     # beyond the table: policy picks
    assert len(r.split()) == 13 and int((engine.game.board.stones == BLACK).sum()) == 12


# ---------------------------------------------------------------- genmove, passing, scoring
def test_genmove_plays_legal_moves(engine):
    for i in range(12):
        color = "b" if i % 2 == 0 else "w"
        before = engine.game.board.copy()
        r = engine.handle_line(f"genmove {color}")
        assert r.startswith("= ") and r.endswith("\n\n"), r
        v = r[2:].strip()
        mv = from_gtp(v)
        assert mv == 361 or before.is_legal(mv, BLACK if color == "b" else WHITE)
        assert engine.game.board.move_count == before.move_count + 1
    check(engine, [("genmove", "? syntax error\n\n"), ("genmove x", "? invalid color\n\n")])
    r = engine.handle_line("reg_genmove b")          # no move made
    n = engine.game.board.move_count
    assert r.startswith("= ") and engine.game.board.move_count == n


@pytest.mark.slow
def test_passes_after_opponent_pass_when_winning(engine):
    # A black wall on column K: with no white stone, Black owns the whole board.
    verts = " ".join(f"K{r}" for r in range(1, 20))
    check(engine, [(f"set_free_handicap {verts}", "=\n\n"),
                   ("final_score", "= B+353.5\n\n"),
                   ("komi 0.5", "=\n\n"), ("final_score", "= B+360.5\n\n"),
                   ("play w pass", "=\n\n"),
                   ("genmove b", "= pass\n\n")])
    # White, far behind after Black passes, plays on instead of passing.
    r = engine.handle_line("genmove w")
    assert r != "= pass\n\n" and r.startswith("= ")


def test_resigns_only_when_allowed_and_hopeless(policy):
    # White owns the whole board (a wall on column K), late in the game.
    for allow, want in ((True, "= resign\n\n"), (False, None)):
        eng = network_engine(policy, 16, resign=allow)
        eng.game.board.setup(white=[from_gtp(f"K{r}") for r in range(1, 20)])
        eng.game.events.append(("setup", (), ()))
        eng.game.board.move_count = 160
        r = eng.handle_line("genmove b")
        if want:
            assert r == want
        else:
            assert r.startswith("= ") and "resign" not in r
        eng.game.board.move_count = 100      # early in the game: never resigns
        eng.game.board.to_move = BLACK
        assert "resign" not in eng.handle_line("genmove b")


def _finished_board_commands():
    """A finished game: Black owns A-K with eyes, White L-T with eyes, a dead
    white stone C3 in a black 3x3 hole and a dead black stone P3 in a white hole."""
    g = np.zeros((19, 19), int)
    for r in range(19):
        for c in range(19):
            g[r, c] = 1 if c <= 9 else 2
            if r % 2 == 1 and c % 2 == 1 and (c <= 7 or c >= 11):
                g[r, c] = 0
    g[1:4, 1:4] = 0
    g[2, 2] = 2
    g[1:4, 13:16] = 0
    g[2, 14] = 1
    from gopolicy.go.coords import to_gtp

    b = [to_gtp(r * 19 + c) for r in range(19) for c in range(19) if g[r, c] == 1]
    w = [to_gtp(r * 19 + c) for r in range(19) for c in range(19) if g[r, c] == 2]
    return b, w


def test_final_score_and_status_with_dead_stones(policy, tmp_path):
    from gopolicy.corpus.sgf import write_sgf
    from gopolicy.go.coords import to_sgf

    bl, wh = _finished_board_commands()
    text = write_sgf(None, 19, 7.5, [])
    text = text.replace("RU[Chinese]", "RU[Chinese]AB" + "".join(f"[{to_sgf(from_gtp(v))}]" for v in bl)
                        + "AW" + "".join(f"[{to_sgf(from_gtp(v))}]" for v in wh))
    text = text.replace("\n)", ";B[];W[])")     # two passes: game over
    path = tmp_path / "finished.sgf"
    path.write_text(text)
    eng = network_engine(policy, 32)
    check(eng, [(f"loadsgf {path}", "=\n\n"),
                ("final_score", "= B+11.5\n\n"),            # 190 - 171 - 7.5 after removing C3, P3
                ("final_status_list dead", "= C3\nP3\n\n"),
                ("final_status_list seki", "=\n\n"),
                ("final_status_list maybe", "? syntax error\n\n")])
    alive = eng.handle_line("final_status_list alive")
    assert "C3" not in alive.split() and "A1" in alive.split() and "T19" in alive.split()


def test_seki_is_reported(engine):
    # Black A-J, White K-T, two shared liberties J10 J11: filling either is self-atari.
    from gopolicy.go.coords import to_gtp

    b = [to_gtp(r * 19 + c) for r in range(19) for c in range(9) if (r, c) not in ((9, 8), (10, 8))]
    w = [to_gtp(r * 19 + c) for r in range(19) for c in range(9, 19)]
    engine.game.board.setup(black=[from_gtp(v) for v in b], white=[from_gtp(v) for v in w])
    engine.game.events.append(("setup", tuple(from_gtp(v) for v in b), tuple(from_gtp(v) for v in w)))
    seki = engine.handle_line("final_status_list seki")
    assert len(seki[2:].split()) == 359
    assert engine.handle_line("final_status_list dead") == "=\n\n"


def test_kgs_genmove_cleanup_captures_dead_stones(policy):
    # White's dead stone C3 sits in Black's 3x3 hole: cleanup fills its liberties.
    bl, wh = _finished_board_commands()
    eng = network_engine(policy, 32)
    eng.game.board.setup(black=[from_gtp(v) for v in bl], white=[from_gtp(v) for v in wh])
    eng.game.events.append(("setup", (), ()))
    c3 = from_gtp("C3")
    for _ in range(8):
        r = eng.handle_line("kgs-genmove_cleanup b")
        assert r.startswith("= ")
        if eng.game.board.stones[c3] == 0:
            break
        eng.handle_line("play w pass")
    assert eng.game.board.stones[c3] == 0


# ---------------------------------------------------------------- time
def test_time_commands(engine):
    check(engine, [("time_settings 300 30 5", "=\n\n"),
                   ("time_settings 300 30", "? syntax error\n\n"),
                   ("time_left b 120 0", "=\n\n"),
                   ("time_left x 120 0", "? invalid color\n\n"),
                   ("kgs-time_settings byoyomi 600 30 5", "=\n\n"),
                   ("kgs-time_settings none", "=\n\n"),
                   ("kgs-time_settings absolute", "? syntax error\n\n"),
                   ("kgs-time_settings fischer 1 2", "? syntax error\n\n")])


# ---------------------------------------------------------------- SGF
def test_set_random_seed_replays_sampled_games(policy):
    """GNU Go's set_random_seed: with --temperature the same seed gives the same moves,
    another seed other moves (what `gopolicy match --seed` relies on)."""
    import copy

    def sampled_moves(seed):
        pol = copy.copy(policy)
        pol.temperature = 5.0  # near-uniform sampling: different seeds differ at once
        eng = network_engine(pol, 16)
        assert eng.handle_line(f"set_random_seed {seed}") == "=\n\n"
        return [eng.handle_line(f"genmove {c}") for c in "bwbwbw"]

    assert sampled_moves(3) == sampled_moves(3)
    assert sampled_moves(3) != sampled_moves(4)
    eng = network_engine(policy, 16)
    check(eng, [("known_command set_random_seed", "= true\n\n"),
                ("set_random_seed", "? syntax error\n\n"),
                ("set_random_seed x", "? syntax error\n\n"),
                ("set_random_seed -1", "? syntax error\n\n")])


def test_loadsgf_then_play_and_genmove(engine, tmp_path):
    from gopolicy.corpus.sgf import write_sgf

    moves = [(BLACK, from_gtp("D4")), (WHITE, from_gtp("Q16")), (BLACK, from_gtp("C16")),
             (WHITE, from_gtp("R4"))]
    path = tmp_path / "g.sgf"
    write_sgf(path, 19, 6.5, moves)
    check(engine, [(f"loadsgf {path}", "=\n\n")])
    assert engine.game.board.move_count == 4 and engine.game.komi == 6.5
    assert engine.game.board.stones[from_gtp("R4")] == WHITE and engine.game.board.to_move == BLACK
    check(engine, [(f"loadsgf {path} 3", "=\n\n")])          # before move 3: two moves played
    assert engine.game.board.move_count == 2 and engine.game.board.to_move == BLACK
    assert engine.game.board.stones[from_gtp("C16")] == 0
    check(engine, [("play b C16", "=\n\n"), ("play w C16", "? illegal move\n\n"), ("undo", "=\n\n"),
                   ("undo", "=\n\n")])
    assert engine.game.board.stones[from_gtp("Q16")] == 0
    r = engine.handle_line("genmove w")
    assert r.startswith("= ") and engine.game.board.move_count == 2
    check(engine, [(f"loadsgf {tmp_path / 'missing.sgf'}", "? cannot load file\n\n"),
                   (f"loadsgf {path} zero", "? syntax error\n\n"),
                   ("loadsgf", "? syntax error\n\n")])
    bad = tmp_path / "bad.sgf"
    bad.write_text("(;GM[1]SZ[9];B[ee])")
    check(engine, [(f"loadsgf {bad}", "? unacceptable size\n\n")])
    assert engine.game.board.move_count == 2   # failed loads leave the game alone


def test_printsgf_round_trip(engine, tmp_path):
    from gopolicy.corpus.sgf import parse_game

    cmds = ["komi 0.5", "fixed_handicap 3", "play w Q4", "genmove b", "play w pass", "play b K10"]
    for c in cmds:
        assert engine.handle_line(c).startswith("="), c
    r = engine.handle_line("printsgf")
    assert r.startswith("= (;") and r.endswith(")\n\n")
    text = r[2:].strip()
    g = parse_game(text.encode())
    assert g.komi == 0.5 and g.handicap == 3
    assert sorted(g.handicap_stones) == sorted(from_gtp(v) for v in ("D4", "Q16", "D16"))
    assert g.moves == [(c, m) for c, m in engine.game.board.moves]
    out = tmp_path / "o.sgf"
    check(engine, [(f"printsgf {out}", "=\n\n")])
    # ... and back in: same position
    pos = engine.game.board.stones.copy()
    check(engine, [("clear_board", "=\n\n"), (f"loadsgf {out}", "=\n\n")])
    assert np.array_equal(engine.game.board.stones, pos) and engine.game.board.to_move == WHITE


# ---------------------------------------------------------------- analysis
def test_showboard_and_analysis_commands(engine):
    engine.handle_line("play b D4")
    r = engine.handle_line("showboard")
    lines = r.split("\n")
    assert lines[0] == "=" or lines[0] == "= "
    assert "\n\n" not in r[:-2] and any(ln.startswith(" 4 . . .(X)") for ln in lines)
    ac = engine.handle_line("gogui-analyze_commands")
    assert "dboard/Policy heatmap/gopolicy-policy_heatmap %c" in ac
    assert "pspairs/Policy top moves/gopolicy-policy_top %c" in ac
    hm = engine.handle_line("gopolicy-policy_heatmap w")
    rows = hm.rstrip("\n").split("\n")[1:]
    vals = np.array([[float(v) for v in row.split()] for row in rows])
    assert vals.shape == (19, 19) and abs(vals.sum() - 1) < 0.01 and vals[15, 3] == 0  # D4 occupied
    top = engine.handle_line("gopolicy-policy_top w 5")[2:].split()
    assert len(top) == 10 and all(t.endswith("%") for t in top[1::2])
    lz = engine.handle_line("lz-analyze w 50")
    assert lz.startswith("= \ninfo move ") and lz.endswith("\n\n") and lz.count("\n") == 3
    info = lz.split("\n")[1]
    first = info.split(" info ")[0].split()
    assert first[0:2] == ["info", "move"] and first[3] == "visits" and first[5] == "winrate"
    assert first[7] == "prior" and first[8].isdigit() and first[9:11] == ["order", "0"]
    assert first[11] == "pv"
    gen = engine.handle_line("analyze interval 20")
    prior = gen.split("\n")[1].split()[8]
    assert "." in prior and 0 < float(prior) <= 1
    n = engine.game.board.move_count
    ga = engine.handle_line("lz-genmove_analyze w 10")
    lines = ga.rstrip("\n").split("\n")
    assert lines[1].startswith("info move ") and lines[-1].startswith("play ")
    assert engine.game.board.move_count == n + 1
    assert engine.handle_line("genmove_analyze b").rstrip("\n").split("\n")[-1].startswith("play ")


def test_quit_and_internal_errors(engine, monkeypatch):
    def boom(args):
        raise RuntimeError("kaboom\nsecond line")

    engine.commands["name"] = boom
    assert engine.handle_line("5 name") == "?5 internal error: RuntimeError: kaboom\n\n"
    assert engine.handle_line("6 quit") == "=6\n\n" and engine.quit
    out = io.BytesIO()
    eng2 = network_engine(engine.player.policy)
    eng2.run(io.BytesIO(b"name\nquit\nname\n"), out)   # stops at quit
    assert out.getvalue() == b"= gopolicy\n\n=\n\n"
    out = io.BytesIO()
    network_engine(engine.player.policy).run(io.BytesIO(b"1 name"), out)  # EOF, no newline
    assert out.getvalue() == b"=1 gopolicy\n\n"


# ---------------------------------------------------------------- the real process
TRANSCRIPT = ("1 protocol_version\n"
              "0 name\n"
              "\n"
              "# comment\r\n"
              "2 boardsize 19\r\n"
              "3 komi 6.5\n"
              "4 fixed_handicap 4\n"
              "5 play w C3\n"
              "6 play w C3\n"
              "7 genmove b\n"
              "8 undo\n"
              "9 undo\n"
              "0 undo\n"
              "10 frobnicate\n"
              "11 play b A1 # corner\n"
              "12 showboard\n"
              "13 quit\n")


def _engine_cmd(*extra):
    return [sys.executable, "-m", "gopolicy", "gtp", "--model", "random:8:2", "--seed", "1",
            "--playouts", "16", *extra]


@pytest.mark.slow
def test_real_gtp_subprocess_transcript():
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run(_engine_cmd(), input=TRANSCRIPT.encode(), capture_output=True,
                       timeout=240, env=env, cwd=REPO)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    out = p.stdout.decode()
    replies = out.split("\n\n")
    assert replies[-1] == ""                              # every reply ends with a blank line
    replies = replies[:-1]
    assert replies[:7] == ["=1 2", "=0 gopolicy", "=2", "=3", "=4 D4 Q16 D16 Q4", "=5",
                           "?6 illegal move"]
    assert replies[7].startswith("=7 ") and len(replies[7].split()) == 2
    assert replies[8:13] == ["=8", "=9", "?0 cannot undo", "?10 unknown command", "=11"]
    assert replies[13].startswith("=12 \n   A B C") and "X" in replies[13]
    assert replies[14] == "=13"
    assert len(replies) == 15                             # nothing but replies on stdout
    assert b"[gtp]" in p.stderr                           # logging went to stderr


def test_stdout_guard_keeps_stray_output_off_the_protocol():
    code = ("import os, sys\n"
            "from gopolicy.play.gtp_engine import guard_stdout\n"
            "out = guard_stdout()\n"
            "print('stray print')\n"
            "os.write(1, b'stray fd write\\n')\n"
            "out.write(b'= ok\\n\\n')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, cwd=REPO)
    assert p.stdout == b"= ok\n\n"
    assert b"stray print" in p.stderr and b"stray fd write" in p.stderr


def test_missing_model_fails_clearly(tmp_path):
    p = subprocess.run([sys.executable, "-m", "gopolicy", "gtp", "--model", str(tmp_path / "x.pt")],
                       input=b"name\n", capture_output=True, timeout=120, cwd=REPO)
    assert p.returncode == 2 and p.stdout == b""
    assert b"no such file" in p.stderr and b"--model random" in p.stderr
    p = subprocess.run([sys.executable, "-m", "gopolicy", "gtp", "--model", "random:x"],
                       input=b"name\n", capture_output=True, timeout=120, cwd=REPO)
    assert p.returncode == 2 and p.stdout == b"" and b"bad random model spec" in p.stderr


# ---------------------------------------------------------------- client
@pytest.mark.slow
def test_client_against_real_engine_and_errors():
    with GtpClient(_engine_cmd(), timeout=240, cwd=REPO) as c:
        assert c.send("name") == "gopolicy"
        assert c.send("7 protocol_version") == "2"
        c.play("black", "D4")
        with pytest.raises(GtpError) as e:
            c.play("white", "D4")
        assert e.value.message == "illegal move"
        board = c.send("showboard")
        assert board.startswith("   A B C") and board.count("\n") >= 20
        assert c.send("list_commands").split("\n")[0] == "protocol_version"
        v = c.genmove("white")
        assert v.lower() == "pass" or from_gtp(v) >= 0
    assert c.proc.returncode == 0


def test_client_reports_engine_death(tmp_path):
    code = "import sys; sys.stdin.readline(); print('bye', file=sys.stderr); sys.exit(3)"
    c = GtpClient([sys.executable, "-c", code], name="dies", stderr=str(tmp_path / "log.txt"), timeout=30)
    with pytest.raises(EngineDied, match=r"(?s)'dies' died while answering 'name' \(exit code 3\).*bye"):
        c.send("name")
    c.close()
    with pytest.raises(EngineDied, match="cannot start"):
        GtpClient(str(tmp_path / "no-such-engine"))


def test_reply_text_and_in_process_client(engine):
    assert reply_text(["=5 D4"]) == "D4"
    assert reply_text(["= ", "a", "b"]) == "a\nb"
    assert reply_text(["?", "x"]) == "x"
    c = InProcessClient(engine)
    assert c.send("name") == "gopolicy"
    with pytest.raises(GtpError):
        c.send("boardsize 9")
    assert c.send("showboard").startswith("   A B C")


# ---------------------------------------------------------------- a real controller
def _sabaki_node_path() -> str | None:
    import shutil as _sh

    if not _sh.which("node"):
        return None
    cands = [os.environ.get("GOPOLICY_NODE_PATH"), str(REPO.parent / "state" / "node" / "node_modules")]
    for c in cands:
        if c and (Path(c) / "@sabaki" / "gtp" / "package.json").exists():
            return c
    return None


SABAKI_SCRIPT = r"""
const {Controller} = require('@sabaki/gtp')
async function main() {
  const [py, ...args] = JSON.parse(process.argv[2])
  const engine = new Controller(py, args, {cwd: process.argv[3]})
  engine.start()
  const out = []
  const send = async (name, args = [], sub) => {
    const r = await engine.sendCommand({name, args}, sub)
    out.push({cmd: [name, ...args].join(' '), error: r.error, content: r.content, id: r.id})
  }
  await send('protocol_version')
  await send('name')
  await send('boardsize', ['19'])
  await send('clear_board')
  await send('komi', ['0.5'])
  await send('fixed_handicap', ['2'])
  await send('play', ['B', 'Q16'])
  await send('genmove', ['W'])
  const lines = []
  // lz-analyze streams until the next command: don't wait for its end first
  const analysis = send('lz-analyze', ['B', '10'], evt => lines.push(evt.line))
  await new Promise(r => setTimeout(r, 500))
  await send('genmove_analyze', ['B', '10'])
  await analysis
  await send('showboard')
  await send('final_score')
  await send('quit')
  out.push({analysis_lines: lines})
  console.log(JSON.stringify(out))
  await engine.stop()
}
main().catch(e => { console.error(e); process.exit(1) })
"""


def test_driven_by_sabaki_gtp_controller(tmp_path):
    """The npm package @sabaki/gtp (Sabaki's own GTP controller) drives the engine.
    Skipped unless node and the package are installed (npm install --prefix
    ../state/node @sabaki/gtp, or $GOPOLICY_NODE_PATH pointing at node_modules)."""
    import json

    node_path = _sabaki_node_path()
    if node_path is None:
        pytest.skip("node or the npm package @sabaki/gtp not installed "
                    "(set $GOPOLICY_NODE_PATH to a node_modules holding @sabaki/gtp)")
    script = tmp_path / "drive.js"
    script.write_text(SABAKI_SCRIPT)
    argv = json.dumps(_engine_cmd("--quiet"))
    p = subprocess.run(["node", str(script), argv, str(REPO)], capture_output=True, timeout=240,
                       env=dict(os.environ, NODE_PATH=node_path))
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    res = json.loads(p.stdout.decode().strip().splitlines()[-1])
    by = {r["cmd"]: r for r in res if "cmd" in r}
    assert by["protocol_version"]["content"] == "2" and not by["protocol_version"]["error"]
    assert by["name"]["content"] == "gopolicy"
    assert by["fixed_handicap 2"]["content"] == "D4 Q16"
    assert by["play B Q16"]["error"] and by["play B Q16"]["content"] == "illegal move"
    v = by["genmove W"]["content"]
    assert not by["genmove W"]["error"] and (v == "pass" or from_gtp(v) >= 0)
    lines = res[-1]["analysis_lines"]
    assert any(ln.startswith("info move ") for ln in lines), lines
    ga = by["genmove_analyze B 10"]["content"].split("\n")
    assert ga[-1].startswith("play ") and any(ln.startswith("info move") for ln in ga)
    assert "A B C D E F G H J" in by["showboard"]["content"]
    assert by["final_score"]["content"][:2] in ("B+", "W+") or by["final_score"]["content"] == "0"
