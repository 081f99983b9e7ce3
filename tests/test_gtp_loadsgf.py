"""loadsgf and printsgf share the SGF module's parser and writer: a position set
up with black and white stones (no moves) loads, prints with AW (no splicing),
and loads again to the same board; the printed record is read the same way by
sgfmill."""
from __future__ import annotations

import io

import numpy as np
import torch

import cnn_core
from gopolicy.corpus.sgf import parse_game
from gopolicy.go.coords import BLACK, WHITE, from_gtp, to_sgf
from gopolicy.play.game import Game
from gopolicy.play.gtp_engine import GtpEngine
from gopolicy.play.network_player import NetworkPlayer
from gopolicy.play.network_policy import NetworkPolicy


def _engine():
    torch.manual_seed(0)
    net = cnn_core.build_model("alphago_policy", planes=48, filters=8, layers=3, board_size=19)
    return GtpEngine(NetworkPlayer(NetworkPolicy(net, device="cpu", precision="fp32"), 8), Game(score_playouts=8),
                     log=io.StringIO())


def test_setup_only_position_loads_prints_and_loads_again(tmp_path):
    black = [from_gtp(v) for v in ("D4", "Q16", "C3")]
    white = [from_gtp(v) for v in ("K10", "R3")]
    text = ("(;GM[1]FF[4]SZ[19]KM[5.5]AB" + "".join(f"[{to_sgf(p)}]" for p in black)
            + "AW" + "".join(f"[{to_sgf(p)}]" for p in white) + ")")
    path = tmp_path / "pos.sgf"
    path.write_text(text)
    eng = _engine()
    assert eng.handle_line(f"loadsgf {path}") == "=\n\n"
    assert eng.game.komi == 5.5 and eng.game.board.to_move == BLACK       # white stones: Black to move
    want = eng.game.board.stones.copy()
    assert sorted(np.flatnonzero(want == BLACK)) == sorted(black)
    assert sorted(np.flatnonzero(want == WHITE)) == sorted(white)
    assert eng.handle_line("play b pass").startswith("=")
    printed = eng.handle_line("printsgf")[2:].strip()
    assert "HA[" not in printed                                  # a set-up position, not a handicap
    g = parse_game(printed.encode(), require_moves=False)
    assert g.events[0] == ("setup", tuple(sorted(black)), tuple(sorted(white)), ())
    assert g.moves == [(BLACK, 361)]
    from sgfmill import sgf

    bp, wp, _ = sgf.Sgf_game.from_bytes(printed.encode()).get_root().get_setup_stones()
    assert sorted(r * 19 + c for r, c in bp) == sorted(black)
    assert sorted(r * 19 + c for r, c in wp) == sorted(white)
    out = tmp_path / "again.sgf"
    assert eng.handle_line(f"printsgf {out}") == "=\n\n"
    eng2 = _engine()
    assert eng2.handle_line(f"loadsgf {out}") == "=\n\n"
    assert np.array_equal(eng2.game.board.stones, want) and eng2.game.board.to_move == WHITE


def test_loadsgf_refuses_what_the_parser_refuses(tmp_path):
    eng = _engine()
    for name, text in (("chess.sgf", "(;GM[3]SZ[19];B[dd])"), ("bad.sgf", "(;SZ[19]AB[dd]AW[dd])"),
                       ("junk.sgf", "not sgf")):
        (tmp_path / name).write_text(text)
        assert eng.handle_line(f"loadsgf {tmp_path / name}") == "? cannot load file\n\n", name
    assert eng.game.board.move_count == 0 and not eng.game.board.stones.any()
