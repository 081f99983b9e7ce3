"""Training the rollout / tree policy from SGF (the shipped games, no corpus needed), resuming,
the weights file, `gopolicy train-rollout` and `gopolicy eval --model WEIGHTS.npz`."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gopolicy.cli import main as cli_main
from gopolicy.go.board import Board
from gopolicy.rollout import train as T
from gopolicy.rollout.model import RolloutPolicy, WeightsError, bundled_path, is_weights_file

REPO = Path(__file__).resolve().parents[1]
SELFPLAY = REPO / "data" / "selfplay"
MATCH = REPO / "data" / "results" / "match_gnugo_level10"


def small_cfg(**kw) -> T.RolloutTrainConfig:
    base = dict(max_positions=7000, count_games=16, min_count=3, games_per_batch=4, lr=0.05,
                val_games=0, save_every=0.0)
    base.update(kw)
    return T.RolloutTrainConfig(**base)


def held_out(policy: RolloutPolicy) -> dict:
    ev = T.evaluate_batches(policy, T.batches(T.GameStream([MATCH], None), 10))
    return T.summarize(*ev[:3])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["rollout", "tree"])
def test_training_learns_and_saves(tmp_path, kind):
    out = tmp_path / f"{kind}.npz"
    pol = T.train([SELFPLAY], out, small_cfg(kind=kind))
    assert out.is_file() and is_weights_file(out) and not T.state_path(out).exists()
    again = RolloutPolicy.load(out)
    assert again.kind == kind and np.array_equal(again.weights, pol.weights)
    assert np.array_equal(again.pattern_keys, pol.pattern_keys) and again.info["positions"] >= 7000
    # on other games (GNU Go matches, not trained on) it beats the uniform choice by far
    trained, uniform = held_out(pol), held_out(RolloutPolicy.zeros(kind))
    assert trained["positions"] == uniform["positions"] > 10_000
    assert trained["top1"] > 0.15 > 2 * uniform["top1"]
    assert trained["log_likelihood"] > uniform["log_likelihood"] + 1.0


def test_resume_gives_the_same_weights(tmp_path, monkeypatch):
    ref = T.train([SELFPLAY], tmp_path / "ref.npz", small_cfg())
    out = tmp_path / "resumed.npz"
    real_run, calls = T._run, {"n": 0}

    def flaky(mode, *a, **k):
        if mode == T.MODE_TRAIN:
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
        return real_run(mode, *a, **k)

    monkeypatch.setattr(T, "_run", flaky)
    with pytest.raises(KeyboardInterrupt):
        T.train([SELFPLAY], out, small_cfg())
    monkeypatch.setattr(T, "_run", real_run)
    assert T.state_path(out).is_file() and not out.exists()
    # other settings than the interrupted run's: refused, nothing lost
    with pytest.raises(ValueError, match="other settings"):
        T.train([SELFPLAY], out, small_cfg(lr=0.5))
    got = T.train([SELFPLAY], out, small_cfg())
    assert np.array_equal(got.weights, ref.weights)


def test_bad_weights_files(tmp_path):
    bad = tmp_path / "x.npz"
    np.savez(bad, weights=np.zeros(3))
    with pytest.raises(WeightsError, match="not a rollout"):
        RolloutPolicy.load(bad)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(WeightsError):
        RolloutPolicy.load(junk)
    assert not is_weights_file(junk)
    with pytest.raises(WeightsError, match="weights for"):
        RolloutPolicy(np.zeros(5, np.float32), np.zeros(0, np.int64))


def test_cli_train_and_eval(tmp_path, capsys):
    out = tmp_path / "r.npz"
    rc = cli_main(["train-rollout", "--sgf", str(SELFPLAY), "--out", str(out), "--positions", "3000",
                   "--count-games", "16", "--min-count", "3", "--json"])
    assert rc == 0 and out.is_file()
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last)["kind"] == "rollout"
    rc = cli_main(["eval", "--model", str(out), "--sgf", str(MATCH / "game-001.sgf"), "--json"])
    text = capsys.readouterr().out
    res = json.loads(text.strip().splitlines()[-1])
    assert rc == 0 and res["kind"] == "rollout" and res["positions"] > 100
    assert "AlphaGo rollout policy" in text and 0 < res["top1"] < 1
    rc = cli_main(["train-rollout", "--sgf", str(tmp_path / "missing"), "--out", str(out)])
    assert rc == 1 and "error" in capsys.readouterr().err


def test_bundled_weights_ship_and_predict():
    """The shipped rollout and tree policies load by default and predict GNU Go's moves in the
    shipped matches (strong-player training data; measured 27-28% top-1 on these games)."""
    for kind, floor in (("rollout", 0.24), ("tree", 0.25)):
        path = bundled_path(kind)
        assert path.is_file(), f"{path} missing (gopolicy train-rollout, see ROLLOUT_CARD.md)"
        pol = RolloutPolicy.load(path)
        assert pol.kind == kind and pol.info["val"]["top1"] > 0.24
        ev = T.evaluate_batches(pol, T.batches(T.GameStream(sorted(MATCH.glob("*.sgf"))[:10], None), 10))
        assert T.summarize(*ev[:3])["top1"] > floor


def test_last_moves_follow_play_undo_copy():
    b = Board(9)
    assert b.last_moves == (-1, -1)
    b.play(10)
    b.play(81)
    assert b.last_moves == (81, 10)
    c = b.copy()
    b.undo()
    assert b.last_moves == (10, -1) and c.last_moves == (81, 10)
