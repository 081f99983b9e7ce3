"""Fuzzing the GTP engine: random, malformed and hostile lines never crash it,
and every reply is well formed (starts with = or ?, echoes the id, ends with
one blank line and contains none before it)."""
from __future__ import annotations

import io
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import cnn_core
from gopolicy.play.game import Game
from gopolicy.play.gtp_engine import GtpEngine
from gopolicy.play.gtp_protocol import preprocess
from gopolicy.play.network_player import NetworkPlayer
from gopolicy.play.network_policy import NetworkPolicy

REPO = Path(__file__).resolve().parents[1]
REPLY = re.compile(r"\A([=?])([0-9]*)(?: [^\n]*)?(?:\n[^\n]*\S[^\n]*)*\n\n\Z")

COMMANDS = ["protocol_version", "name", "version", "known_command", "list_commands", "boardsize",
            "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score",
            "final_status_list", "fixed_handicap", "place_free_handicap", "set_free_handicap",
            "time_settings", "time_left", "kgs-time_settings", "loadsgf", "printsgf", "reg_genmove",
            "kgs-genmove_cleanup", "gogui-analyze_commands", "gopolicy-policy_heatmap",
            "gopolicy-policy_top", "gopolicy-ownership", "lz-analyze", "lz-genmove_analyze", "analyze",
            "genmove_analyze", "set_random_seed", "PLAY", "genmove_black", "", "#", "=", "?"]
COLORS = ["b", "w", "black", "white", "B", "WHITE", "x", "", "bl", "0"]
VERTICES = ["D4", "q16", "pass", "PASS", "A1", "T19", "I5", "Z9", "A0", "A20", "K10", "4D", "", "-",
            "A", "A-1", "T1", "a19", "\u00b2", "D\u00b2", "Ｄ4"]
WORDS = ["alive", "dead", "seki", "none", "absolute", "byoyomi", "canadian", "interval", "nan", "inf",
         "-inf", "1e309", "-5", "0", "19", "13", "2", "9", "10", "4", "1.5", "7.5", "99999999999999999999",
         "\x00", "\x1b[31m", "\u2603", "\ufeff", "\t\t", "\r", "\\", "%c", "/etc/hostname", "no/such/file.sgf"]


def random_line(rng: random.Random, tmp: Path) -> str:
    r = rng.random()
    if r < 0.08:   # raw junk: random code points, control characters included
        return "".join(chr(rng.choice([rng.randrange(0, 32), rng.randrange(32, 127),
                                       rng.randrange(127, 0x3000)])) for _ in range(rng.randrange(0, 40)))
    cmd = rng.choice(COMMANDS)
    args = []
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4, 10])):
        args.append(rng.choice([rng.choice(COLORS), rng.choice(VERTICES), rng.choice(VERTICES),
                                rng.choice(WORDS), str(rng.randrange(-3, 12))]))
    if cmd in ("play", "genmove", "reg_genmove", "kgs-genmove_cleanup") and rng.random() < 0.7:
        args = [rng.choice(COLORS[:4])] + ([rng.choice(VERTICES)] if cmd == "play" else [])
    if cmd == "printsgf":
        args = [] if rng.random() < 0.5 else [str(tmp / f"f{rng.randrange(3)}.sgf")]
    if cmd == "loadsgf" and rng.random() < 0.5:
        args = [str(tmp / f"f{rng.randrange(3)}.sgf")] + args[:1]
    line = " ".join([cmd] + args)
    if rng.random() < 0.4:
        line = f"{rng.choice([0, 1, 7, 42, 123456, 99999999999999999999])} {line}"
    if rng.random() < 0.15:
        line += rng.choice([" # comment", "#", "\r", " \t ", "\r\r", "\x00"])
    if rng.random() < 0.05:
        line = "\t" + line.replace(" ", "\t")
    return line


def check_reply(line: str, reply: str | None) -> None:
    clean = preprocess(line)
    if not clean:
        assert reply is None, (line, reply)
        return
    assert reply is not None, line
    m = REPLY.match(reply)
    assert m, f"malformed reply {reply!r} to {line!r}"
    first = clean.split()[0]
    want_id = first if first.isascii() and first.isdigit() else ""
    assert m.group(2) == want_id, f"id {m.group(2)!r} != {want_id!r} for {line!r}"
    if m.group(1) == "?":
        assert "internal error" not in reply, f"{line!r} -> {reply!r}"


@pytest.fixture(scope="module")
def policy():
    torch.manual_seed(0)
    net = cnn_core.build_model("alphago_policy", planes=48, filters=8, layers=2, board_size=19)
    return NetworkPolicy(net, device="cpu", precision="fp32")


def test_fuzz_in_process(policy, tmp_path):
    rng = random.Random(20240607)
    engine = GtpEngine(NetworkPlayer(policy, 8), Game(score_playouts=8), log=io.StringIO())
    n_err = n_ok = 0
    for i in range(1500):
        line = random_line(rng, tmp_path)
        if i % 97 == 0:
            line = "quit"
        reply = engine.handle_line(line)
        check_reply(line, reply)
        if reply is not None:
            n_ok += reply.startswith("=")
            n_err += reply.startswith("?")
        if engine.quit:
            engine = GtpEngine(NetworkPlayer(policy, 8), Game(score_playouts=8), log=io.StringIO())
        # the rules state stays sane: no string without liberties on the board
        b = engine.game.board
        if i % 50 == 0 and b.stones.any():
            from gopolicy.corpus.sgf import has_dead_string

            assert not has_dead_string(b)
    assert n_ok > 300 and n_err > 300          # the fuzz exercises both paths


@pytest.mark.slow
def test_fuzz_real_process_bytes():
    """Random bytes (invalid UTF-8, NULs, long lines) into the real process; it
    must answer every command line and still work at the end."""
    rng = random.Random(7)
    chunks = []
    expected = 0
    for i in range(250):
        kind = rng.random()
        if kind < 0.3:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60)))
            data = data.replace(b"\n", b"")
        elif kind < 0.35:
            data = b"x" * 20000
        else:
            data = random_line(rng, Path("/nonexistent-dir")).encode("utf-8", "replace")
            data = data.replace(b"printsgf", b"name")
        if preprocess(data.decode("utf-8", "replace")):
            expected += 1
        chunks.append(data.replace(b"\n", b" ") + b"\n")
    stream = b"".join(chunks).replace(b"quit", b"name") + b"999 name\n"
    expected += 1
    cmd = [sys.executable, "-m", "gopolicy", "gtp", "--model", "random:8:2", "--playouts", "8", "--quiet"]
    p = subprocess.run(cmd, input=stream, capture_output=True, timeout=300, cwd=REPO)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    out = p.stdout.decode("utf-8")
    assert out.endswith("=999 gopolicy\n\n")
    replies = out.split("\n\n")[:-1]
    assert len(replies) == expected
    for r in replies:
        assert REPLY.match(r + "\n\n"), r
        assert "internal error" not in r, r
