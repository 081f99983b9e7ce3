"""Real games against GNU Go (level 0, move cap 60), our engine as Black and as
White, with no illegal move on either side; skipped when GNU Go is not installed."""
from __future__ import annotations

import io
import os
import shutil

import pytest
import torch

import cnn_core
from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, WHITE, to_gtp
from gopolicy.play.game import Game
from gopolicy.play.gtp_client import GtpClient, InProcessClient
from gopolicy.play.gtp_engine import GtpEngine
from gopolicy.play.network_player import NetworkPlayer
from gopolicy.play.network_policy import NetworkPolicy
from gopolicy.play.referee import play_game

GNUGO = "/usr/games/gnugo" if os.path.exists("/usr/games/gnugo") else shutil.which("gnugo")
pytestmark = [pytest.mark.gnugo,
              pytest.mark.skipif(not GNUGO, reason="GNU Go not installed (/usr/games/gnugo)")]


@pytest.mark.slow
@pytest.mark.parametrize("our_color", [BLACK, WHITE], ids=["black", "white"])
def test_game_against_gnugo_has_no_illegal_moves(our_color):
    torch.manual_seed(our_color)
    net = cnn_core.build_model("alphago_policy", planes=48, filters=16, layers=3, board_size=19)
    pol = NetworkPolicy(net, device="cpu", precision="fp32", temperature=1.0, seed=our_color)
    ours = InProcessClient(GtpEngine(NetworkPlayer(pol, 16), Game(score_playouts=16), log=io.StringIO()), name="gopolicy")
    seen = []
    with GtpClient([GNUGO, "--mode", "gtp", "--level", "0", "--chinese-rules", "--komi", "7.5"],
                   name="gnugo", timeout=120) as gnugo:
        black, white = (ours, gnugo) if our_color == BLACK else (gnugo, ours)
        res = play_game(black, white, komi=7.5, max_moves=60, score_playouts=16,
                        on_move=lambda b, c, m: seen.append((c, m)))
        # GNU Go's own board agrees with ours, stone for stone.
        gnu_board = gnugo.send("showboard")
    assert "forfeit" not in res.reason and res.result != "Void", res.reason
    assert res.reason in ("move cap", "two passes")
    assert len(res.moves) == len(seen) and (len(res.moves) == 60 or res.reason == "two passes")
    # Replay independently: every move of both sides is legal under positional superko.
    b = Board(19, superko=True)
    for color, mv in res.moves:
        assert b.why_illegal(mv, color) is None, f"illegal {to_gtp(mv)} by {color}"
        b.play(mv, color)
    assert [c for c, _ in res.moves] == [BLACK, WHITE] * (len(res.moves) // 2) + [BLACK] * (len(res.moves) % 2)
    rows = [ln for ln in gnu_board.split("\n") if ln[:2].strip().isdigit()]
    assert len(rows) == 19
    for ln in rows:
        r = int(ln[:2]) - 1
        cells = ln[3:3 + 2 * 19:2]
        for c, ch in enumerate(cells):
            want = {0: ".+", 1: "X", 2: "O"}[int(b.stones[r * 19 + c])]
            assert ch in want, f"{to_gtp(r * 19 + c)}: gnugo {ch!r}, ours {want!r}"
    assert res.score is not None and res.result[0] in "BW0"
