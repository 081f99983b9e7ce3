"""Our Board against sgfmill's board, move by move."""
from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO_ROOT
from test_sgf_io import BROKEN, _ko_game

import gopolicy.go.board
from gopolicy.corpus import replay_check
from gopolicy.corpus.replay_check import check_game, run_check
from gopolicy.go.coords import to_sgf


def _ko_capture_game() -> bytes:
    """Black takes a ko (ko point set), White plays elsewhere, Black fills."""
    A, B = 5 * 19 + 5, 5 * 19 + 6
    black = [4 * 19 + 5, 6 * 19 + 5, 5 * 19 + 4]
    white = [4 * 19 + 6, 6 * 19 + 6, 5 * 19 + 7, A]
    ab = "".join(f"[{to_sgf(p)}]" for p in black)
    aw = "".join(f"[{to_sgf(p)}]" for p in white)
    return f"(;SZ[19]AB{ab}AW{aw};B[{to_sgf(B)}];W[pp];B[{to_sgf(A)}];W[dd])".encode()


def test_shipped_games_agree_with_sgfmill(shipped_sgf_dir):
    tot = run_check([str(shipped_sgf_dir)], workers=2, progress=False)
    assert tot["games"] >= 8
    assert tot["disagree"] == 0, tot["mismatches"]
    assert tot["agree"] == tot["games"], tot["skipped_files"]
    assert tot["moves"] > 100 * tot["games"]


def test_ko_positions_agree():
    res = check_game(_ko_capture_game(), "ko.sgf")
    assert res.status == "agree" and res.moves == 4


def test_illegal_moves_are_skips_when_sgfmill_agrees():
    res = check_game(_ko_game(), "ko.sgf")
    assert (res.status, res.reason) == ("skip", "illegal move")
    assert "sgfmill: ko" in res.detail
    res = check_game(b"(;GM[1]SZ[19]AW[ab][ba];B[aa])")
    assert (res.status, res.reason) == ("skip", "illegal move") and "suicide" in res.detail
    res = check_game(b"(;GM[1]SZ[19];B[dd];W[dd])")
    assert (res.status, res.reason) == ("skip", "illegal move") and "occupied" in res.detail


def test_broken_files_are_counted_by_reason(tmp_path):
    for i, data in enumerate(BROKEN):
        (tmp_path / f"b{i:02d}.sgf").write_bytes(data)
    tot = run_check([str(tmp_path)], workers=1, progress=False)
    want = {}
    for r in BROKEN.values():
        want[r] = want.get(r, 0) + 1
    assert tot["skipped"] == want
    assert tot["disagree"] == 0 and tot["games"] == len(BROKEN)


class _NoCaptureBoard(gopolicy.go.board.Board):
    """A broken rules engine: captured stones come back."""

    def play(self, move, color=None):
        before = self.stones.copy()
        n = super().play(move, color)
        if n:
            lost = (before != 0) & (self.stones == 0)
            self.stones[lost] = before[lost]
        return n


class _NoKoBoard(gopolicy.go.board.Board):
    def play(self, move, color=None):
        n = super().play(move, color)
        self.ko = -1
        return n


class _KoRecaptureBoard(gopolicy.go.board.Board):
    """Knows the ko point but lets it be retaken."""

    def why_illegal(self, move, color=None):
        why = super().why_illegal(move, color)
        return None if why == "ko" else why


def test_check_detects_a_broken_board(monkeypatch, shipped_sgf_files):
    monkeypatch.setattr(replay_check, "Board", _NoCaptureBoard)
    res = check_game(_ko_capture_game(), "ko.sgf")
    assert res.status == "disagree" and res.reason == "board" and res.move_number == 1
    # some shipped game has a capture
    assert any(check_game(p.read_bytes(), str(p)).status == "disagree" for p in shipped_sgf_files)
    monkeypatch.setattr(replay_check, "Board", _NoKoBoard)
    res = check_game(_ko_capture_game(), "ko.sgf")
    assert res.status == "disagree" and res.reason == "ko" and res.move_number == 1
    # accepting the ko recapture that sgfmill forbids is a disagreement too
    monkeypatch.setattr(replay_check, "Board", _KoRecaptureBoard)
    assert check_game(_ko_capture_game(), "ko.sgf").status == "agree"
    res = check_game(_ko_game(), "ko.sgf")
    assert res.status == "disagree" and res.reason == "legality"


def test_command_line(shipped_sgf_dir):
    r = subprocess.run([sys.executable, "-m", "gopolicy", "replay-check", str(shipped_sgf_dir),
                        "--workers", "1", "--limit", "3"],
                       cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "games agreeing:    3" in r.stderr
    assert "games/s" in r.stderr and "ETA" in r.stderr


@pytest.mark.corpus
def test_corpus_sample_agrees(corpus_archives):
    tot = run_check([str(corpus_archives[0])], workers=1, limit=40, progress=False)
    assert tot["games"] == 40
    assert tot["disagree"] == 0, tot["mismatches"]
